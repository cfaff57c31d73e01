# Shared by the .ci scripts (sourced, not run).

log() { printf '[%s] %s\n' "$(basename "$0")" "$*"; }

die() {
  log "error: $*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, else through sudo when there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) for: $*"
  fi
}

influxd_path() { command -v influxd 2>/dev/null || echo /usr/bin/influxd; }

have_influxd() { [ -x "$(influxd_path)" ]; }

influxd_version() { "$(influxd_path)" version; }

# Debian's package starts its own influxd on :8086 where a service manager runs (most containers
# have none, and their policy-rc.d forbids it anyway). Tests and .ci/local start their own
# influxd, so the packaged service is stopped and disabled rather than left running.
stop_packaged_influxdb() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    log "stopping and disabling the influxdb systemd service the package may have started"
    as_root systemctl disable --now influxdb >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1 && service influxdb status >/dev/null 2>&1; then
    log "stopping the influxdb service the package started"
    as_root service influxdb stop || true
  else
    log "no influxdb service running (no service manager started one)"
  fi
}

install_influxdb() {
  log "installing InfluxDB 1.x: apt-get update && apt-get install -y influxdb"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y influxdb
  have_influxd || die "apt-get installed influxdb but there is no influxd"
  stop_packaged_influxdb
  log "installed $(influxd_version)"
}

# The browser test of /docs (test/docs-browser.e2e-spec.ts) drives Debian's Chromium through
# puppeteer-core, which never downloads one. CHROMIUM_PATH says which binary; default /usr/bin/chromium.
chromium_path() { echo "${CHROMIUM_PATH:-/usr/bin/chromium}"; }

have_chromium() { [ -x "$(chromium_path)" ]; }

install_chromium() {
  log "installing Chromium: apt-get update && apt-get install -y chromium"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  have_chromium || die "apt-get installed chromium but there is no $(chromium_path)"
  log "installed $("$(chromium_path)" --version 2>/dev/null || echo chromium)"
}
