"""Camera worker: capture, dewarp, detect, track, count, read plates and QR; publishes over MQTT."""
