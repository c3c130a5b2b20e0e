#!/usr/bin/env bash
# Start what the tests need when it is not already running: PostgreSQL, the project's own Mosquitto
# (`jiayuan broker config`: no anonymous clients, dynamic security) and Chromium (and its headless shell).
#
# The broker's port and its platform password both derive from a hash of the broker configuration
# (the template, its renderer and the ACLs in src/jiayuan/broker/), unless JIAYUAN_TEST_MQTT_PORT
# chooses the port. A broker already on the port is reused only when it refuses anonymous clients and
# accepts this hash's password, i.e. when it runs this configuration; a broker this checkout started
# with an older configuration is restarted. The URL for the tests goes to var/test-services.env.
set -euo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
port_open 5432 || { echo "PostgreSQL did not start: see /var/log/postgresql" >&2; exit 1; }

if ! command -v mosquitto >/dev/null 2>&1 || ! command -v mosquitto_pub >/dev/null 2>&1; then
  echo "installing mosquitto"
  apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
fi
PLUGIN="$(ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so 2>/dev/null | head -n1 || true)"
[ -n "$PLUGIN" ] || { echo "Mosquitto's dynamic security plugin was not found (mosquitto >= 2.0)" >&2; exit 1; }

HASH="$(cat src/jiayuan/broker/mosquitto.conf src/jiayuan/broker/config.py src/jiayuan/broker/dynsec.py | sha256sum | cut -c1-16)"
MQTT_PORT="${JIAYUAN_TEST_MQTT_PORT:-$((18900 + 16#${HASH:0:4} % 100))}"
MQTT_USER="jiayuan-test"
MQTT_PASSWORD="test-$HASH"
MQTT_URL="mqtt://$MQTT_USER:$MQTT_PASSWORD@127.0.0.1:$MQTT_PORT"
VAR="$(pwd)/var/mosquitto-test-$MQTT_PORT"

ours() {  # anonymous clients refused and this configuration's platform password accepted
  ! mosquitto_pub -p "$MQTT_PORT" -t jiayuan-probe -n -q 0 >/dev/null 2>&1 &&
    mosquitto_pub -p "$MQTT_PORT" -u "$MQTT_USER" -P "$MQTT_PASSWORD" -t jiayuan-probe -n -q 0 >/dev/null 2>&1
}

if port_open "$MQTT_PORT" && ! ours; then
  if [ -f "$VAR/mosquitto.pid" ] && kill -0 "$(cat "$VAR/mosquitto.pid")" 2>/dev/null; then
    echo "restarting the test Mosquitto on $MQTT_PORT: its configuration changed"
    kill "$(cat "$VAR/mosquitto.pid")"
    for _ in $(seq 1 40); do port_open "$MQTT_PORT" || break; sleep 0.25; done
  else
    echo "port $MQTT_PORT is taken by a broker with another configuration; choose a port with" \
      "MQTT_TEST_PORT=… (make) or JIAYUAN_TEST_MQTT_PORT=…" >&2
    exit 1
  fi
fi
if ! port_open "$MQTT_PORT"; then
  echo "starting the project's Mosquitto on 127.0.0.1:$MQTT_PORT"
  mkdir -p "$VAR"
  .venv/bin/jiayuan broker config --dir "$VAR" --port "$MQTT_PORT" --plugin "$PLUGIN" --output "$VAR/mosquitto.conf" 2>/dev/null
  echo "pid_file $VAR/mosquitto.pid" >> "$VAR/mosquitto.conf"
  rm -f "$VAR/mosquitto.db"  # messages of an older configuration's run
  JIAYUAN_MQTT_URL="$MQTT_URL" .venv/bin/jiayuan broker init --file "$VAR/dynamic-security.json" --force >/dev/null
  mosquitto -d -c "$VAR/mosquitto.conf"
  for _ in $(seq 1 20); do port_open "$MQTT_PORT" && break; sleep 0.25; done
fi
port_open "$MQTT_PORT" && ours || { echo "Mosquitto did not start: see $VAR/mosquitto.log" >&2; exit 1; }
mkdir -p var
echo "JIAYUAN_TEST_MQTT_URL=$MQTT_URL" > var/test-services.env

# The browser tests drive chromium's headless shell; the page benchmarks (bench/faces, bench/screen)
# measure the whole browser.
if [ ! -x /usr/bin/chromium-headless-shell ] || [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium and its headless shell for the browser tests"
  apt-get update -qq && apt-get install -y -qq chromium chromium-headless-shell >/dev/null
fi
# The weekly report's PDF (WeasyPrint) needs Pango and a CJK font to set Chinese text.
if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "installing Pango and fonts-noto-cjk for the PDF reports"
  apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk >/dev/null
fi
# Chinese text in the browser tests' screenshots needs a CJK font; without one the pages still work.
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "installing a Chinese font (fonts-wqy-microhei) for the browser screenshots"
  (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
    || echo "warning: no Chinese font installed; screenshots will show boxes for Chinese text" >&2
fi
