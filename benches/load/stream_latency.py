"""Reads GET /events on a server for SECONDS and prints how long each event took from the
change (its `at`, the server's clock) to arriving here (this machine's clock, the same one):
count, p50, p99 and the worst, in milliseconds.

    python3 stream_latency.py BASE_URL TOKEN SECONDS
"""
import json
import sys
import time
import urllib.request
from datetime import datetime

base, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
req = urllib.request.Request(
    f"{base}/events", headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
)
delays = []
deadline = time.time() + seconds
with urllib.request.urlopen(req, timeout=seconds + 30) as stream:
    while time.time() < deadline:
        line = stream.readline()
        if not line:
            break
        if line.startswith(b"data:"):
            event = json.loads(line[5:])
            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
            delays.append((time.time() - at) * 1000)
delays.sort()
if not delays:
    print("0 events")
else:
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(f"{len(delays)} events, p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, worst {delays[-1]:.1f} ms")
