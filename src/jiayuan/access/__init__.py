"""Gate access: passes, gate decisions, vehicles in and out, flow buckets and rules."""
