#!/usr/bin/env bash
# HTTP load benchmark of the release server on the in-memory store, with wrk (Debian's package,
# installed when missing). Everything runs on this machine over loopback, bounded in time.
#   bash benches/load/run.sh            # 10 s per scenario, 64 connections
# DURATION and CONNECTIONS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q -p crm-server

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# No per-address limits: the benchmark drives the server from one address on purpose.
PORT=$port RUST_LOG=warn SECRET_KEY=load-benchmark-secret-key-0123456789abcdef \
  SUBMIT_RATE_PER_MINUTE=0 LOGIN_RATE_PER_MINUTE=0 \
  ./target/release/crm-server >/tmp/crm-load-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

token=$(curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"admin123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

echo "== submit: POST /public/tickets ($CONNECTIONS connections, $DURATION)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/load/submit.lua "$base" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== list: GET /tickets/?page=1&size=20 as admin"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" \
  "$base/tickets/?page=1&size=20" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== search: GET /tickets/?search=load%20test%201-99&status=new as admin"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" \
  "$base/tickets/?search=load%20test%201-99&status=new" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
summary() { grep -E 'Requests/sec|99%|Non-2xx'; }
echo "== list while sign-in is flooded: GET /tickets/ at 32 connections, alone and then with 16 more on POST /auth/login"
wrk -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" \
  "$base/tickets/?page=1&size=20" | summary | sed 's/^/  alone:   /'
wrk -t1 -c16 -d"$DURATION" --latency -s benches/load/login.lua "$base" >/tmp/crm-load-login.txt &
flood=$!
sleep 1
wrk -t1 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" \
  "$base/tickets/?page=1&size=20" | summary | sed 's/^/  flooded: /'
wait $flood
summary </tmp/crm-load-login.txt | sed 's/^/  sign-in: /'
echo "== health: GET /healthz"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$base/healthz" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
total=$(curl -sf -H "Authorization: Bearer $token" "$base/tickets/?size=1" | sed -E 's/.*"total":([0-9]+).*/\1/')
echo "tickets stored: $total"
