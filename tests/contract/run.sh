#!/usr/bin/env bash
# The API contract run: schemathesis (PyPI, pinned) against the release server on each store,
# signed in as the admin, with every check and every phase. Fails when schemathesis finds
# anything. Reads TEST_DATABASE_URL (a server where databases may be created; scripts/test.sh
# provides one) and builds the release server itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
log() { printf '[contract] %s\n' "$*" >&2; }

venv=target/st-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --release --locked -p crm-server
bin=target/release/crm-server

server_pid=""
db=""
# Files the fuzzer uploads on the PostgreSQL store (its default is ./data/attachments, inside
# the checkout) go to a directory of their own.
files=$(mktemp -d /tmp/crm-contract-files.XXXXXX)
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if [ -n "$db" ]; then
    psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    db=""
  fi
}
trap 'cleanup; rm -rf "$files"' EXIT

# Starts the server with the given extra environment; sets server_pid and base.
start() {
  local logfile
  logfile=$(mktemp)
  env -i PATH="$PATH" PORT=0 RUST_LOG=info SUBMIT_RATE_PER_MINUTE=0 LOGIN_RATE_PER_MINUTE=0 "$@" \
    "$bin" >"$logfile" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    if addr=$(grep -o 'address=socket://[0-9.]*:[0-9]*' "$logfile" | head -n1); then
      base="http://${addr#address=socket://}"
      return
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$logfile" >&2; exit 1; }
    sleep 0.1
  done
  cat "$logfile" >&2
  exit 1
}

admin_token() {
  curl -sf -X POST "$base/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"admin123"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

st_run() { # token, extra filters...
  local token=$1
  shift
  "$venv/bin/st" --config-file tests/contract/schemathesis.toml run "$base/openapi.json" \
    -H "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful --no-color "$@"
}

run_against() { # store name
  log "schemathesis against the $1 store at $base"
  # Signing out and changing the password end the session schemathesis signs in with, and
  # wrong passwords to them and to turning two-factor sign-in off lock the admin's username
  # for a while (as they should), so they run last, on a session of their own; everything
  # else runs first.
  st_run "$(admin_token)" --exclude-path /auth/logout --exclude-path /auth/password \
    --exclude-path /auth/totp/disable
  log "the session-ending operations, on the $1 store"
  st_run "$(admin_token)" --include-path /auth/password --include-path /auth/logout \
    --include-path /auth/totp/disable
}

start SECRET_KEY="contract-test-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
run_against memory
cleanup

db="crm_contract_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
url="${TEST_DATABASE_URL%/*}/$db"
start DATABASE_URL="$url" ATTACHMENT_STORE="file://$files" SECRET_KEY="contract-test-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
run_against postgres
cleanup
log "no failure on either store"
