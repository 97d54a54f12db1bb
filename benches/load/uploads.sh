#!/usr/bin/env bash
# Attachment uploads against the release server, each figure beside its floor measured in the
# same run: (1) the server's memory while 50 clients (curl) upload 10 MiB each at once; (2)
# one 10 MiB upload after another through the server (wrk sending one prepared body, SECS
# seconds, so the client costs next to nothing on this shared machine) against putting the
# same bytes straight into the same object store: `cp` into the directory, boto3 into an
# S3-compatible server (moto, from the test Python of scripts/test.sh). One curl upload is
# timed too: on two cores its client's own work shows in the figure.
#   bash benches/load/uploads.sh        # RUNS=5 timed cp/curl/boto3 runs; ONLY=s3 for the S3 half
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
SECS=${SECS:-3}
PY=${CRM_TEST_PYTHON:-$PWD/target/test-venv/bin/python}
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p crm-server
work=$(mktemp -d /tmp/crm-uploads.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A 10 MiB PDF (the bytes that stream) and its whole form, for wrk.
. benches/load/upload_form.sh
upload_form "$work/file.pdf" $((10 * 1024 * 1024))

start_server() { # env... ; sets base, token, ticket
  local port; port=$(free_port)
  env ${SERVER_ENV:-} PORT="$port" RUST_LOG=warn SUBMIT_RATE_PER_MINUTE=0 LOGIN_RATE_PER_MINUTE=0 \
    ATTACHMENT_MAX_PER_TICKET=10000 "$@" ./target/release/crm-server >"$work/server.log" 2>&1 &
  server=$!; pids+=("$server")
  base="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  token=$(curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"admin123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  ticket=$(curl -sf -X POST "$base/public/tickets" -H 'Content-Type: application/json' \
    -d '{"title":"Upload bench","description":"Files","client":{"name":"Bench","email":"bench@example.com"}}' \
    | sed -E 's/.*"id":([0-9]+).*/\1/')
}
upload() { curl -sf -o /dev/null -H "Authorization: Bearer $token" -F file=@"$work/file.pdf" \
  -F visibility=internal "$base/tickets/$ticket/attachments"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$server/status"; }
# The median of RUNS timings of "$@", in seconds.
median() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}
mibps() { echo "scale=1; 10 / $1" | bc -l; }
# Uploads one after another for SECS seconds through wrk: MiB/s (10 MiB each), and any refusal.
wrk_mibps() {
  local out; out=$(BODY="$work/file.pdf.form" UPLOAD_PATH="/tickets/$ticket/attachments" \
    wrk -t1 -c1 -d"${SECS}s" -H "Authorization: Bearer $token" -s benches/load/upload.lua "$base")
  if grep -q "Non-2xx" <<<"$out"; then echo "refused uploads: $out" >&2; exit 1; fi
  echo "scale=1; 10 * $(sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' <<<"$out")" | bc -l
}
# ratio SERVER_MIBPS FLOOR_SECONDS: the server's speed over the floor's.
ratio() { echo "scale=2; $1 / (10 / $2)" | bc -l; }

if [ "${ONLY:-}" != s3 ]; then
echo "== directory store"
mkdir -p "$work/dir"
start_server ATTACHMENT_STORE="file://$work/dir"
upload # warm
before=$(rss)
up=()
for _ in $(seq 50); do upload & up+=("$!"); done
wait "${up[@]}"
sleep 1
echo "50 concurrent 10 MiB uploads: RSS before ${before} KiB, peak $(hwm) KiB (growth $(( $(hwm) - before )) KiB), after $(rss) KiB"
# Each figure starts from the same state: earlier writes flushed, their files gone.
settle() { rm -rf "$work/dir"/floor-* "$work/dir/attachments"; sync; }
cp_one() { cp "$work/file.pdf" "$work/dir/floor-$RANDOM"; }
settle; floor=$(median cp_one)
settle; srv=$(wrk_mibps)
settle; one=$(median upload)
echo "uploads one after another: $srv MiB/s through the server (one curl upload: $(mibps "$one") MiB/s);" \
  "floor (cp into the directory) $(mibps "$floor") MiB/s; ratio $(ratio "$srv" "$floor")"
kill "$server"; wait "$server" 2>/dev/null || true
fi

echo "== S3-compatible store (moto)"
mport=$(free_port)
"$PY" -m moto.server -H 127.0.0.1 -p "$mport" >/dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$mport/" && break; sleep 0.2; done
"$PY" -c 'import sys, boto3; boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket="bench")' "http://127.0.0.1:$mport"
start_server ATTACHMENT_STORE=s3://bench/crm AWS_ENDPOINT_URL="http://127.0.0.1:$mport" AWS_ALLOW_HTTP=true \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
upload
srv=$(wrk_mibps)
one=$(median upload)
# The floor: boto3 (moto's own dependency, its default transfer settings) putting the same
# file into the same bucket, timed inside Python so its start-up is not counted.
floor=$("$PY" - "$mport" "$work/file.pdf" "$RUNS" <<'PY'
import statistics, sys, time
import boto3
port, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
s3.upload_file(path, "bench", "floor-warm")
times = []
for i in range(runs):
    t0 = time.perf_counter()
    s3.upload_file(path, "bench", f"floor-{i}")
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
PY
)
echo "uploads one after another: $srv MiB/s through the server (one curl upload: $(mibps "$one") MiB/s);" \
  "floor (boto3 upload_file straight to moto) $(mibps "$floor") MiB/s; ratio $(ratio "$srv" "$floor")"
