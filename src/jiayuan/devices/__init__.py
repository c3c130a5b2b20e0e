"""Device protocol v1: envelopes, payloads, inbox, dead letters and device status."""
