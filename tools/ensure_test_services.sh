#!/usr/bin/env bash
# Install what the serve tests need when it is missing: PostgreSQL server binaries (the tests start a
# private cluster on loopback, no system service) and headless Chromium + chromedriver (the page test).
# Idempotent and quick when everything is there; CI runs it as root before pytest.
set -euo pipefail

need=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  need+=(postgresql)
fi
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
  echo "ensure_test_services: postgresql, chromium and chromedriver are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_test_services: missing ${need[*]}; run this script as root (or apt-get install ${need[*]})" >&2
  exit 1
fi
echo "ensure_test_services: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The postgresql package starts a system cluster on install; the tests do not use it, but leave it be.
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "ensure_test_services: installed ${need[*]}"
