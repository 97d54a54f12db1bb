#!/usr/bin/env bash
# The CSV export and API keys on PostgreSQL, on the release server:
#
#   bash benches/load/export.sh
#
# Loads BENCH_TICKETS tickets (default 1,000,000) of the criterion benches' shape into a
# throwaway database on BENCH_PG (default postgres://postgres@127.0.0.1:5432), starts the
# server on it and measures:
#   - GET /tickets/export.csv of every ticket: rows a second, and the server's memory while it
#     streams (its peak RSS during the export, reset just before it, against its RSS before),
#     beside the floor: PostgreSQL itself writing the same rows (the ticket, its customer) as
#     CSV with one COPY in the export's order, no server involved;
#   - GET /tickets/?page=1&size=10 as the admin with a token and with an API key, each with
#     wrk (1 thread, CONNECTIONS=32, DURATION seconds), alternating token, key, token, key so
#     the machine's drift falls on both: the key's requests a second against the token's.
# The database is dropped at the end unless BENCH_KEEP_DB=1. Installs wrk when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${BENCH_TICKETS:-1000000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p crm-server -p crm-benches --bin crm-server --bin crm-load-pg

db="crm_export_$$"
url="$PG/$db"
out=$(mktemp -d /tmp/crm-export.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$out"
  if [ "${BENCH_KEEP_DB:-}" = 1 ]; then echo "kept database $url"; else
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; fi
}
trap cleanup EXIT
psql -q "$PG/postgres" -c "CREATE DATABASE $db"
echo "loading $N tickets..."
./target/release/crm-load-pg "$url" "$N"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL="$url" PORT=$port RUST_LOG=warn SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  ATTACHMENT_STORE="file://$out/files" LOGIN_RATE_PER_MINUTE=0 ./target/release/crm-server >"$out/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"admin-pass"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
admin_id=$(curl -sf -H "Authorization: Bearer $token" "$base/auth/me" | sed -E 's/.*"id":([0-9]+).*/\1/')
key=$(curl -sf -X POST "$base/users/$admin_id/api-keys" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"name":"bench","scope":"read"}' | sed -E 's/.*"key":"([^"]+)".*/\1/')

rss() { awk -v f="$1" '$1 == f":" { print $2 }' "/proc/$server/status"; }
# Warm the statement cache and the pool, then measure from a settled RSS.
curl -sf -H "Authorization: Bearer $token" "$base/tickets/export.csv?status=done&worker_id=2" -o /dev/null
before=$(rss VmRSS)
echo 5 > "/proc/$server/clear_refs"   # resets the peak RSS (VmHWM) to the current RSS
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $key" "$base/tickets/export.csv" -o "$out/all.csv"
end=$(date +%s.%N)
peak=$(rss VmHWM)
rows=$(($(wc -l <"$out/all.csv") - 1))
bytes=$(stat -c %s "$out/all.csv")
fstart=$(date +%s.%N)
psql -q "$url" -c "\\copy (SELECT t.*, c.name, c.email, c.phone FROM tickets t JOIN clients c ON c.id = t.client_id ORDER BY t.created_at DESC, t.id DESC) TO '/dev/null' CSV"
fend=$(date +%s.%N)
awk -v r="$rows" -v b="$bytes" -v s="$start" -v e="$end" -v before="$before" -v peak="$peak" -v fs="$fstart" -v fe="$fend" 'BEGIN {
  t = e - s
  printf "export: %d rows, %.0f MiB in %.2f s: %.0f rows/s (%.0f MiB/s)\n", r, b / 1048576, t, r / t, b / 1048576 / t
  printf "floor (COPY of the same rows): %.2f s: %.0f rows/s; export / floor %.0f%%\n", fe - fs, r / (fe - fs), 100 * (fe - fs) / t
  printf "server RSS: %.1f MiB before, peak %.1f MiB during: growth %.1f MiB\n", before / 1024, peak / 1024, (peak - before) / 1024
}'

rate() { wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $1" "$base/tickets/?page=1&size=10" \
  | sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p'; }
tokens=(); keys=()
for _ in 1 2 3; do tokens+=("$(rate "$token")"); keys+=("$(rate "$key")"); done
awk -v t="${tokens[*]}" -v k="${keys[*]}" 'BEGIN {
  n = split(t, ta, " "); split(k, ka, " ")
  for (i = 1; i <= n; i++) { ts += ta[i]; ks += ka[i] }
  printf "GET /tickets/?page=1&size=10 with a token: %s req/s; with an API key: %s req/s: key / token %.0f%%\n", t, k, 100 * ks / ts
}'
