#!/usr/bin/env bash
# Our client example against a third-party server, Python's sse-starlette (CRLF line endings,
# retry hints, ids): the server dies mid-stream and comes back on the same port, and the client
# must resume with Last-Event-ID and print ids 1..N exactly once, in order.
#
# With TLS_DIR set (holding ca.pem, cert.pem and key.pem for localhost), the same run goes over
# https: uvicorn terminates TLS, and the client (built with `tls`) trusts the CA by --cacert.
#
# Installs its Python dependencies into a venv under the target directory. Every step is
# bounded by `timeout`. Prints PASS or FAIL; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

TOTAL=40          # events the client must print
STOP_AFTER=15     # the first server dies right after this event
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
WORK="$TARGET_DIR/interop"
VENV="$WORK/venv"
LOGS="$WORK/client_vs_starlette"
mkdir -p "$LOGS"
rm -f "$LOGS"/*

fail() {
  echo "FAIL: client_vs_starlette: $*"
  for log in "$LOGS"/*; do
    echo "--- $log"
    tail -n 40 "$log" || true
  done
  exit 1
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sse_starlette, uvicorn' 2>/dev/null; then
  echo "installing sse-starlette and uvicorn into $VENV"
  timeout 60 python3 -m venv "$VENV"
  timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check sse-starlette uvicorn
fi
PY="$VENV/bin/python"

TLS_DIR=${TLS_DIR:-}
if [ -n "$TLS_DIR" ]; then
  timeout 600 cargo build --quiet --example client --features tls
  SCHEME=https
  HOST=localhost
  SERVER_TLS=(--ssl-certfile "$TLS_DIR/cert.pem" --ssl-keyfile "$TLS_DIR/key.pem")
  CLIENT_TLS=(--cacert "$TLS_DIR/ca.pem")
else
  timeout 600 cargo build --quiet --example client
  SCHEME=http
  HOST=127.0.0.1
  SERVER_TLS=()
  CLIENT_TLS=()
fi
CLIENT="$TARGET_DIR/debug/examples/client"

# A free port: bind to 0 and let the kernel choose.
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="$SCHEME://$HOST:$PORT/events"

wait_for_port() {
  for _ in $(seq 100); do
    if "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

timeout 60 "$PY" tests/interop/starlette_server.py --port "$PORT" --total "$TOTAL" \
  --stop-after "$STOP_AFTER" "${SERVER_TLS[@]}" >"$LOGS/server1.log" 2>&1 &
server1=$!
pids+=("$server1")
wait_for_port || fail "the first server did not start"

timeout 60 "$CLIENT" "$URL" --max-events "$TOTAL" --max-attempts 20 "${CLIENT_TLS[@]}" \
  >"$LOGS/client.out" 2>"$LOGS/client.err" &
client=$!
pids+=("$client")

# The first server exits by itself after event STOP_AFTER: a restart, seen from the client.
wait "$server1" || true
timeout 60 "$PY" tests/interop/starlette_server.py --port "$PORT" --total "$TOTAL" \
  "${SERVER_TLS[@]}" >"$LOGS/server2.log" 2>&1 &
pids+=("$!")

status=0
wait "$client" || status=$?
[ "$status" -eq 0 ] || fail "the client exited with status $status"

grep -q "stopping after event $STOP_AFTER" "$LOGS/server1.log" \
  || fail "the first server did not stop mid-stream"
grep -q "last-event-id='$STOP_AFTER'" "$LOGS/server2.log" \
  || fail "the client did not resume with Last-Event-ID: $STOP_AFTER"

# Every event printed once, in order, as sse-starlette sent it (retry lines aside).
"$PY" - "$LOGS/client.out" "$TOTAL" <<'EOF' || fail "the client's output is not ids 1..$TOTAL once each"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
events = [line for line in lines if "id" in line]
retries = [line["retry"] for line in lines if "retry" in line]
total = int(sys.argv[2])
expected = [{"type": "tick", "data": f"event {n}", "id": str(n)} for n in range(1, total + 1)]
if events != expected:
    print("got:", [e.get("id") for e in events])
    sys.exit(1)
if not retries or set(retries) != {200}:
    print("retry lines:", retries)
    sys.exit(1)
EOF

echo "PASS: client_vs_starlette ($SCHEME): ids 1..$TOTAL once each, in order, across a server restart after $STOP_AFTER (resumed with Last-Event-ID)"
