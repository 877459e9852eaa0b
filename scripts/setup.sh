#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine with Node 20 (Mosquitto, libcoap, PostgreSQL, InfluxDB 1.x, nats-server, Chromium, SoftHSM2 + the OpenSSL pkcs11 engine):
# the real protocol peers (Mosquitto, libcoap, PostgreSQL, InfluxDB 1.x, NATS), pnpm 10, and the workspace's dependencies.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v coap-server-openssl >/dev/null 2>&1 || need_apt+=(libcoap3-bin)
# NATS with JetStream for @outpost/pipeline's scale-out tests (they start their own clusters on free ports).
installed_nats=0
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then need_apt+=(nats-server); installed_nats=1; fi
# PostgreSQL server binaries for @outpost/pipeline's tests (they run initdb in a temp dir).
installed_pg=0
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need_apt+=(postgresql); installed_pg=1; fi
# InfluxDB 1.x for the InfluxDB sink's tests (they run `influxd run -config FILE` in a temp dir).
installed_influx=0
if ! command -v influxd >/dev/null 2>&1; then need_apt+=(influxdb); installed_influx=1; fi
# Debian's Chromium for @outpost/console's browser tests and benchmarks (puppeteer-core drives
# /usr/bin/chromium: no browser download).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# A PKCS#11 token for @outpost/pki's key-in-a-token test: SoftHSM2, OpenSSL's pkcs11 engine, pkcs11-tool.
command -v softhsm2-util >/dev/null 2>&1 || need_apt+=(softhsm2)
[ -e /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so ] || ls /usr/lib/*/engines-3/pkcs11.so >/dev/null 2>&1 || need_apt+=(libengine-pkcs11-openssl)
command -v pkcs11-tool >/dev/null 2>&1 || need_apt+=(opensc)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian starts a system-wide broker on :1883; the tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop mosquitto >/dev/null 2>&1 || true; fi
# Installing postgresql creates and starts a system cluster on :5432; the tests start private
# servers on free ports, so stop and disable the one apt just started (an existing one is left alone).
if [ "$installed_pg" = 1 ]; then
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true; fi
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
      $SUDO pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
      $SUDO sed -i 's/^auto$/manual/' "/etc/postgresql/$ver/$name/start.conf" 2>/dev/null || true
    done
  fi
fi
# Installing influxdb starts a system influxd on :8086 (and :8088); the tests start private ones.
if [ "$installed_influx" = 1 ]; then
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now influxdb >/dev/null 2>&1 || true; fi
  if [ -x /etc/init.d/influxdb ]; then $SUDO /etc/init.d/influxdb stop >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d influxdb disable >/dev/null 2>&1 || true; fi
fi

# Debian's nats-server package may start a system server on :4222; the tests start private ones.
if [ "$installed_nats" = 1 ] && command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nats-server >/dev/null 2>&1 || true; fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != "10" ]; then
  echo "setup: installing pnpm 10"
  $SUDO npm i -g pnpm@10 >/dev/null
fi
echo "setup: node $(node --version), pnpm $(pnpm --version), $(/usr/sbin/mosquitto -h 2>/dev/null | head -n 1 || mosquitto -h | head -n 1)"
pnpm install --frozen-lockfile
