#!/usr/bin/env bash
# Runs every test of the workspace. Guarantees a PostgreSQL for the PostgreSQL tests:
#   1. the one named by TEST_DATABASE_URL or DATABASE_URL, when set;
#   2. else 127.0.0.1:5432 (user postgres) when it answers;
#   3. else a throwaway cluster started from Debian's `postgresql` binaries (installed with
#      apt-get when missing), stopped and deleted when the run ends.
# Each PostgreSQL test creates its own uniquely named database and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

# The server binaries are needed in any case: the fault test starts and stops a cluster of
# its own (never the machine's).
ensure_pg_binaries() {
  local bindir
  bindir=$(pg_bindir)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    log "no PostgreSQL server binaries found; installing Debian's postgresql package"
    if [ "$(id -u)" -ne 0 ]; then
      log "need root (or sudo) to apt-get install postgresql"; exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

start_throwaway_cluster() {
  local bindir
  bindir=$(pg_bindir)
  PG_TMP=$(mktemp -d /tmp/crm-pg.XXXXXX)
  local port=55432
  while answers 127.0.0.1 "$port"; do port=$((port + 1)); done
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: run the cluster as the postgres system user.
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_TMP" postgres
    chown postgres "$PG_TMP"
    as=(runuser -u postgres --)
  fi
  log "starting a throwaway PostgreSQL ($bindir) on 127.0.0.1:$port in $PG_TMP"
  "${as[@]}" "$bindir/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${as[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w -o \
    "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_TMP -c max_connections=300 -c fsync=off" start >/dev/null
  PG_STOP=("${as[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -m fast stop)
  trap 'log "stopping the throwaway PostgreSQL"; "${PG_STOP[@]}" >/dev/null 2>&1 || true; rm -rf "$PG_TMP"' EXIT
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# A Python with aiosmtpd and moto[server] (PyPI, pinned): the real SMTP server of the
# notification tests and the S3-compatible server of the attachment tests.
AIOSMTPD_VERSION=1.4.6
MOTO_VERSION=5.2.5
ensure_test_python() {
  local venv=target/test-venv
  if ! "$venv/bin/python" -c "import aiosmtpd, moto, moto.server, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION' or moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "installing aiosmtpd $AIOSMTPD_VERSION and moto[server] $MOTO_VERSION from PyPI into $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install python3-venv"; exit 1; fi
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" "moto[server]==$MOTO_VERSION"
  fi
  export CRM_TEST_PYTHON="$PWD/$venv/bin/python"
}

ensure_pg_binaries
ensure_test_python
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  log "using TEST_DATABASE_URL"
elif [ -n "${DATABASE_URL:-}" ]; then
  export TEST_DATABASE_URL="$DATABASE_URL"
  log "using DATABASE_URL"
elif answers 127.0.0.1 5432; then
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  log "using the PostgreSQL at 127.0.0.1:5432"
else
  start_throwaway_cluster
fi

cargo test --workspace --locked "$@"

# The API contract: schemathesis (PyPI, pinned) against the release server on both stores.
bash tests/contract/run.sh

# Browser tests of the web UI: Debian's Chromium driven by playwright-core from npm, against
# the crm-server binary the cargo run above built. The printed receipt is turned into an
# image by poppler's pdftoppm and its QR code read by zbar's zbarimg (Debian's packages).
if [ ! -x /usr/bin/chromium ] || ! command -v npm >/dev/null 2>&1 \
  || ! command -v zbarimg >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  log "installing Debian's chromium, zbar-tools and poppler-utils (and node/npm when missing) for the browser tests"
  if [ "$(id -u)" -ne 0 ]; then log "need root to apt-get install chromium"; exit 1; fi
  apt-get update -qq
  pkgs=(chromium chromium-driver zbar-tools poppler-utils)
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
(
  cd tests/browser
  npm ci --no-audit --no-fund --loglevel=error
  CRM_SERVER_BIN="$PWD/../../target/debug/crm-server" npm test
)
log "screenshots of the browser flows: target/screenshots/"
