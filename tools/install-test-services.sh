#!/usr/bin/env bash
# Install the Debian packages the test suite's real peers need, when missing.
# Idempotent and quiet when everything is already there.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto mosquitto-clients)
[ -x /usr/bin/clickhouse-server ] || [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server clickhouse-client)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# the web HMI's browser tests (tests/web/browser.py drives it with Playwright through executable_path)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing test services: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# Another apt or dpkg (unattended-upgrades, a colleague's install) may hold the locks: wait for it
# instead of failing with "Could not get lock". DPkg::Lock::Timeout covers the dpkg lock; the
# loop also covers the package lists' lock of `apt-get update`.
LOCK_WAIT_S=${PETRA_APT_LOCK_WAIT_S:-600}
apt_get() {
  local waited=0 out
  while true; do
    if out=$($SUDO apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT_S" "$@" 2>&1); then
      return 0
    fi
    if grep -qE "Could not get lock|Unable to acquire|Unable to lock" <<<"$out" && [ "$waited" -lt "$LOCK_WAIT_S" ]; then
      [ "$waited" -eq 0 ] && echo "waiting for another apt/dpkg process to release its lock..." >&2
      sleep 5
      waited=$((waited + 5))
      continue
    fi
    printf '%s\n' "$out" >&2
    return 1
  done
}
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${need[@]}"
