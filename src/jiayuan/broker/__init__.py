"""The production broker (Mosquitto with its dynamic security plugin) kept in step with the platform."""
