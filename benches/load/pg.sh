#!/usr/bin/env bash
# HTTP load benchmark of the release server on PostgreSQL, each figure next to the database's
# own floor measured in the same run: pgbench sending exactly the statements the server sends
# for that request (benches/load/pg/*.sql), so a ratio means the same on a busy or idle machine.
#
#   bash benches/load/pg.sh
#
# Creates a throwaway database on BENCH_PG (default postgres://postgres@127.0.0.1:5432), loads
# BENCH_TICKETS tickets (default 100,000) of the criterion benches' shape, measures every
# scenario's floor with pgbench (-M prepared, CLIENTS=16, 2 threads) while no server runs (a
# server would react to the floor's writes and slow it), then starts the release server and
# drives every scenario with wrk (1 thread, CONNECTIONS=32), DURATION seconds each (default
# 10). Write scenarios give the floor and the server disjoint tickets. The database is dropped
# at the end unless BENCH_KEEP_DB=1. Installs wrk and pgbench (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
CLIENTS=${CLIENTS:-16}
N=${BENCH_TICKETS:-100000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-client)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release -q -p crm-server -p crm-benches --bin crm-server --bin crm-load-pg --bin crm-stream-latency

db="crm_load_$$"
# Attachments go to a directory of their own; the upload scenario sends a 64 KiB PDF (no
# thumbnail to make), prepared once as a whole form.
files=$(mktemp -d /tmp/crm-load-pg-files.XXXXXX)
. benches/load/upload_form.sh
upload_form "$files/photo.pdf" 65536
export BODY="$files/photo.pdf.form" UPLOAD_TICKETS="$N"
url="$PG/$db"
psql -q "$PG/postgres" -c "CREATE DATABASE $db"
server=""
replica=""
cleanup() {
  # Each step may find its process gone already: none may stop the rest.
  if [ -n "$replica" ]; then kill "$replica" 2>/dev/null || true; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$files"
  if [ "${BENCH_KEEP_DB:-}" = 1 ]; then
    echo "kept database $url"
  else
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  fi
}
trap cleanup EXIT

./target/release/crm-load-pg "$url" "$N"

admin_id=$(psql -qtA "$url" -c "SELECT id FROM users WHERE username = 'admin'")
worker_id=$(psql -qtA "$url" -c "SELECT id FROM users WHERE username = 'worker0'")
# The item a cursor from page 499 (size 20) points past: the 9,980th, newest first.
read -r after after_id < <(psql -qtA -F ' ' "$url" -c \
  "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id FROM tickets ORDER BY created_at DESC, id DESC OFFSET 9979 LIMIT 1")
# The session check looks the token's id up among the revoked ones: any id not there will do.
as_admin=(uid="$admin_id" jti=0123456789abcdef0123456789abcdef)
as_worker=(uid="$worker_id" jti=0123456789abcdef0123456789abcdef)
# The in-progress stages in their order; the stage scenario moves between the first two.
mapfile -t stages_ip < <(psql -qtA "$url" -c "SELECT id FROM stages WHERE status = 'in_progress' ORDER BY position")

# name | pgbench file | pgbench variables (space-separated)
scenarios=(
  "list_admin|list_admin.sql|${as_admin[*]} limit=11"
  "list_worker|list_worker.sql|${as_worker[*]} limit=11"
  "list_status|list_status.sql|${as_admin[*]} limit=11 status=in_progress"
  "search_broad|search.sql|${as_admin[*]} limit=11 pattern=%laptop%"
  "search_selective|search.sql|${as_admin[*]} limit=11 pattern=%k0042%"
  "deep_page|deep_page.sql|${as_admin[*]} limit=21 offset=9980"
  "deep_cursor|deep_cursor.sql|${as_admin[*]} limit=21 after=$after after_id=$after_id"
  "stats|stats.sql|${as_admin[*]}"
  "customer_search|customers.sql|${as_admin[*]} limit=11 pattern=%5550012% digits=%5550012%"
  "open_one|open.sql|${as_admin[*]} n=$N"
  "status_change|status.sql|${as_admin[*]} n=$N to=in_progress from=new done=done kind=status_changed"
  "stage_change|stage.sql|${as_admin[*]} n=$N sa=${stages_ip[0]} sb=${stages_ip[1]}"
  "message|message.sql|${as_admin[*]} n=$N"
  "upload|upload.sql|${as_admin[*]} n=$N"
  "submit|submit.sql|"
  "intake|intake.sql|${as_admin[*]}"
  "submit_old_design|submit_old_design.sql|"
  "sign_in|login.sql|"
)

declare -A floor
# floors NAME...: each scenario's floor, no server running.
floors() {
  for name in "$@"; do
    for sc in "${scenarios[@]}"; do
      IFS='|' read -r n sql vars <<<"$sc"
      [ "$n" = "$name" ] || continue
      local args=()
      for v in $vars; do args+=(-D "$v"); done
      psql -q "$url" -c "ALTER SEQUENCE bench_pick RESTART" 2>/dev/null || true
      floor[$name]=$(pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" "${args[@]}" \
        -f "benches/load/pg/$sql" "$url" 2>>/tmp/crm-load-pg-pgbench.log | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
    done
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
base="http://127.0.0.1:$port"
secret=$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")
# start_server [PORT]: a replica on the benchmark's database (the first one's pid is $server).
start_server() {
  local p=${1:-$port}
  # No per-address limits: the benchmark drives the server from one address on purpose.
  DATABASE_URL="$url" PORT=$p RUST_LOG=warn SECRET_KEY="$secret" ATTACHMENT_STORE="file://$files/store" \
    SUBMIT_RATE_PER_MINUTE=0 LOGIN_RATE_PER_MINUTE=0 \
    ./target/release/crm-server >>/tmp/crm-load-pg-server.log 2>&1 &
  if [ -z "${1:-}" ]; then server=$!; else replica=$!; fi
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
}
stop_server() {
  kill "$server" && wait "$server" 2>/dev/null || true
  server=""
}
login() { # USER PASSWORD [BASE]
  curl -sf -X POST "${3:-$base}/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.1f", v / 1000; else if (v ~ /ms$/) printf "%.1f", v + 0; else printf "%.1f", v * 1000 }'; }

# drive NAME...: each scenario through the running server, printed beside its floor.
drive() {
  local A W cursor
  A=(-H "Authorization: Bearer $(login admin admin-pass)")
  W=(-H "Authorization: Bearer $(login worker0 worker-pass)")
  cursor=$(curl -sf "${A[@]}" "$base/tickets/?page=499&size=20" | sed -E 's/.*"next_cursor":"([^"]+)".*/\1/')
  for name in "$@"; do
    local args
    case $name in
      list_admin) args=("${A[@]}" "$base/tickets/?page=1&size=10") ;;
      list_worker) args=("${W[@]}" "$base/tickets/?page=1&size=10") ;;
      list_status) args=("${A[@]}" "$base/tickets/?status=in_progress&page=1&size=10") ;;
      search_broad) args=("${A[@]}" "$base/tickets/?search=laptop&page=1&size=10") ;;
      search_selective) args=("${A[@]}" "$base/tickets/?search=K0042&page=1&size=10") ;;
      deep_page) args=("${A[@]}" "$base/tickets/?page=500&size=20") ;;
      deep_cursor) args=("${A[@]}" "$base/tickets/?cursor=$cursor&size=20") ;;
      stats) args=("${A[@]}" "$base/tickets/stats") ;;
      customer_search) args=("${A[@]}" "$base/clients/?search=5550012&size=10") ;;
      intake) args=("${A[@]}" -s benches/load/intake.lua "$base") ;;
      open_one) args=("${A[@]}" -s benches/load/open.lua "$base" -- "$N") ;;
      status_change) args=("${A[@]}" -s benches/load/status.lua "$base" -- "$N") ;;
      stage_change) args=("${A[@]}" -s benches/load/stage.lua "$base" -- "$N" "${stages_ip[@]}") ;;
      message) args=("${A[@]}" -s benches/load/message.lua "$base" -- "$N") ;;
      upload) args=("${A[@]}" -s benches/load/upload.lua "$base") ;;
      submit) args=(-s benches/load/submit.lua "$base") ;;
      sign_in) args=(-s benches/load/login_pg.lua "$base") ;;
    esac
    local out rps p50 p99 non2xx f ratio
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${args[@]}")
    rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    non2xx=$(sed -nE 's/.*Non-2xx or 3xx responses: *([0-9]+).*/\1/p' <<<"$out")
    f=${floor[$name]:-0}
    ratio=$(awk -v a="$rps" -v b="$f" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')
    printf '%-18s %10.0f %8s %8s %11.0f %7s%s\n' "$name" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$f" "$ratio" \
      "${non2xx:+  ($non2xx non-2xx)}"
  done
}

# floor_only NAME: a floor that has no server scenario (the old design's), printed alone.
floor_only() {
  printf '%-18s %10s %8s %8s %11.0f %7s\n' "$1" - - - "${floor[$1]:-0}" -
}

# across_replicas: submissions through one replica while a stream on a second one receives
# them; how long each took from the change to the stream.
across_replicas() {
  local port_b base_b latency out rps non2xx
  port_b=$(free_port)
  base_b="http://127.0.0.1:$port_b"
  start_server "$port_b"
  ./target/release/crm-stream-latency "127.0.0.1:$port_b" "$(login admin admin-pass "$base_b")" \
    "$((DURATION + 2))" >/tmp/crm-load-pg-latency.txt &
  latency=$!
  sleep 1
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s benches/load/submit.lua "$base")
  rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' <<<"$out")
  non2xx=$(sed -nE 's/.*Non-2xx or 3xx responses: *([0-9]+).*/\1/p' <<<"$out")
  wait "$latency"
  kill "$replica" && wait "$replica" 2>/dev/null || true
  replica=""
  printf 'submit through replica A at %.0f/s%s; the stream on replica B: %s\n' "$rps" \
    "${non2xx:+ ($non2xx non-2xx)}" "$(cat /tmp/crm-load-pg-latency.txt)"
}

# sign_in_flood: the admin's list alone, then while 16 more connections sign in (every one a
# real argon2 hash).
sign_in_flood() {
  local A out flood alone_rps alone_p99 rps p99 signins
  A=(-H "Authorization: Bearer $(login admin admin-pass)")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${A[@]}" "$base/tickets/?page=1&size=10")
  alone_rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' <<<"$out")
  alone_p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  wrk -t1 -c16 -d"$((DURATION + 2))s" --latency -s benches/load/login_pg.lua "$base" >/tmp/crm-load-pg-flood.txt &
  flood=$!
  sleep 1
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${A[@]}" "$base/tickets/?page=1&size=10")
  wait "$flood"
  rps=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  signins=$(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' /tmp/crm-load-pg-flood.txt)
  printf 'list alone %.0f/s (p99 %s ms); during a 16-connection sign-in flood %.0f/s (p99 %s ms), %.1f sign-ins/s\n' \
    "$alone_rps" "$(ms "$alone_p99")" "$rps" "$(ms "$p99")" "$signins"
}

# Reads first, on the database as loaded; then writes, whose floor and server runs change
# disjoint tickets. The server is stopped while pgbench runs: it would react to the floor's
# writes (live updates, the outbox) and slow it.
reads=(list_admin list_worker list_status search_broad search_selective deep_page deep_cursor stats customer_search)
writes=(open_one status_change stage_change message upload submit intake sign_in)
extras=(submit_old_design across_replicas sign_in_flood)
# ONLY="status_change across_replicas": run just these (for trying a change; README's figures
# are whole runs).
if [ -n "${ONLY:-}" ]; then
  keep() { local out=() x; for x in "$@"; do [[ " $ONLY " == *" $x "* ]] && out+=("$x"); done; echo "${out[@]:-}"; }
  read -ra reads <<<"$(keep "${reads[@]}")"
  read -ra writes <<<"$(keep "${writes[@]}")"
  read -ra extras <<<"$(keep "${extras[@]}")"
fi
wants() { [[ " ${extras[*]} " == *" $1 "* ]]; }
# The old design's one counter row (migration 0004), for its floor beside today's.
psql -q "$url" -c "CREATE TABLE bench_event_order (last_seq BIGINT NOT NULL); INSERT INTO bench_event_order VALUES (0)"
# Numbers the floors' write transactions, so each takes a ticket no earlier one changed.
psql -q "$url" -c "CREATE SEQUENCE bench_pick"
echo "floor: pgbench -M prepared -c $CLIENTS -j 2 -T $DURATION with no server running;" \
  "server: wrk -t1 -c$CONNECTIONS -d${DURATION}s on the release build; $(nproc) cores shared by all"
printf '%-18s %10s %8s %8s %11s %7s\n' scenario "server/s" "p50 ms" "p99 ms" "floor tps" ratio
if [ ${#reads[@]} -gt 0 ]; then
  floors "${reads[@]}"
  start_server
  drive "${reads[@]}"
  stop_server
fi
floors "${writes[@]}"
wants submit_old_design && floors submit_old_design
start_server
[ ${#writes[@]} -gt 0 ] && drive "${writes[@]}"
wants submit_old_design && floor_only submit_old_design
wants across_replicas && across_replicas
wants sign_in_flood && sign_in_flood
echo "tickets stored at the end: $(psql -qtA "$url" -c 'SELECT count(*) FROM tickets')"
