#!/usr/bin/env bash
# Start what the tests need when it is not already running: PostgreSQL, the project's own
# Mosquitto (deploy/mosquitto/mosquitto.conf on port $JIAYUAN_TEST_MQTT_PORT) and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
MQTT_PORT="${JIAYUAN_TEST_MQTT_PORT:-18831}"
VAR="$(pwd)/var/mosquitto-test"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
port_open 5432 || { echo "PostgreSQL did not start: see /var/log/postgresql" >&2; exit 1; }

if ! command -v mosquitto >/dev/null 2>&1; then
  echo "installing mosquitto"
  apt-get update -qq && apt-get install -y -qq mosquitto >/dev/null
fi
if ! port_open "$MQTT_PORT"; then
  echo "starting the project's Mosquitto on 127.0.0.1:$MQTT_PORT"
  mkdir -p "$VAR"
  sed -e "s#@VAR@#$VAR#g" -e "s#@PORT@#$MQTT_PORT#g" deploy/mosquitto/mosquitto.conf > "$VAR/mosquitto.conf"
  mosquitto -d -c "$VAR/mosquitto.conf"
  for _ in $(seq 1 20); do port_open "$MQTT_PORT" && break; sleep 0.25; done
fi
port_open "$MQTT_PORT" || { echo "Mosquitto did not start: see $VAR/mosquitto.log" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
