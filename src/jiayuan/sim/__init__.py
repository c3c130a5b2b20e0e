"""Entry point: the gate traffic simulator for demos and load."""
