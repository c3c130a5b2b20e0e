"""Entry point: the MQTT loop that feeds device events into the devices and access domains."""
