#!/usr/bin/env bash
# A first, small side-by-side: Turnpike and nginx on the same core (0), wrk and the upstream on the other (1).
# Scenarios: proxying a small response over keep-alive, and a 1 KiB static file. Prints requests/s and the
# server's CPU microseconds per request (user+sys from /proc), and Turnpike's ratio to nginx.
# The full harness (HAProxy, h2load, TLS, idle memory, startup, charts) is issue "Benchmark harness".
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bin/lib/jdk.sh"
turnpike_find_jdk
for tool in nginx wrk taskset; do
  command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk util-linux >/dev/null; break; }
done

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-15s}
CONNS=${CONNS:-50}
work=$(mktemp -d /tmp/turnpike-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; [ -f "$work/up.pid" ] && kill "$(cat "$work/up.pid")" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/www"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/www/1k.txt"

cat > "$work/upstream.conf" <<NGX
worker_processes 1; pid $work/up.pid; error_log $work/up-error.log; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:9101; location / { return 200 "hello from upstream\n"; } } }
NGX
cat > "$work/nginx.conf" <<NGX
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon on;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  upstream app { server 127.0.0.1:9101; keepalive 64; }
  server { listen 127.0.0.1:9102;
    location /api/ { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location / { root $work/www; } }
}
NGX
cat > "$work/turnpike.yaml" <<YAML
server: { event_loops: 1 }
listen: "127.0.0.1:9103"
access_log: off
sites:
  - routes:
      - path: /api/*
        proxy: http://127.0.0.1:9101
      - static: "$work/www"
YAML

taskset -c 1 nginx -c "$work/upstream.conf"
taskset -c 0 nginx -c "$work/nginx.conf"
sleep 0.5
TURNPIKE_JAVA_OPTS="${TURNPIKE_JAVA_OPTS:-}" taskset -c 0 "$here/bin/turnpike" run -c "$work/turnpike.yaml" >"$work/turnpike.log" 2>&1 &
for _ in $(seq 100); do curl -fs http://127.0.0.1:9103/1k.txt >/dev/null 2>&1 && break; sleep 0.1; done
tp_pid=$(pgrep -f "turnpike.jar run -c $work/turnpike.yaml" | head -1)
ngx_pid=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() { # name pid url
  local name=$1 pid=$2 url=$3
  # Warm-up: with one core the JIT compiles on the same core as the event loop, and Turnpike's throughput keeps
  # rising for ~15 s of load (3 s left the first scenario measured half-compiled code).
  taskset -c 1 wrk -t1 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$url")
  local t1; t1=$(cpu_ticks "$pid")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local reqs; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local p50; p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local hz; hz=$(getconf CLK_TCK)
  local us; us=$(awk -v d=$((t1 - t0)) -v r="$reqs" -v hz="$hz" 'BEGIN {printf "%.1f", d * 1e6 / hz / r}')
  printf '%-9s %-8s %10s %8s %8s %10s\n' "$4" "$name" "$rps" "$p50" "$p99" "$us"
  echo "$4 $name $rps $us" >> "$work/results"
}
printf '%-9s %-8s %10s %8s %8s %10s\n' scenario server req/s p50 p99 cpu_us/req
run turnpike "$tp_pid" http://127.0.0.1:9103/api/x proxy
run nginx "$ngx_pid" http://127.0.0.1:9102/api/x proxy
run turnpike "$tp_pid" http://127.0.0.1:9103/1k.txt static1k
run nginx "$ngx_pid" http://127.0.0.1:9102/1k.txt static1k
awk '{rps[$1" "$2]=$3; cpu[$1" "$2]=$4} END {
  for (s in rps) { split(s, k, " "); if (k[2]=="turnpike") {
    printf "%s: turnpike/nginx req/s %.2f, cpu/req %.2f\n", k[1], rps[s]/rps[k[1]" nginx"], cpu[s]/cpu[k[1]" nginx"] } } }' "$work/results"
