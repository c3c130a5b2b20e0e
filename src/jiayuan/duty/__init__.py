"""智能值守: duty rosters, shifts, sign-in and "who is on duty now"."""
