#!/usr/bin/env bash
# Round robin across 3 upstream endpoints: Turnpike (cluster, round_robin) vs nginx (upstream block) vs HAProxy
# (balance roundrobin), each server pinned to core 0, wrk and the three upstreams on core 1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bin/lib/jdk.sh"; turnpike_find_jdk
DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-15s}; CONNS=${CONNS:-50}
work=$(mktemp -d /tmp/rr3.XXXXXX)
cleanup() { kill $(jobs -p) 2>/dev/null || true; for p in up nginx; do [ -f "$work/$p.pid" ] && kill "$(cat "$work/$p.pid")" 2>/dev/null; done; [ -f "$work/haproxy.pid" ] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null; true; }
trap cleanup EXIT
cat > "$work/upstream.conf" <<NGX
worker_processes 1; pid $work/up.pid; error_log $work/up-error.log; daemon on;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:9201; location / { return 200 "hello from upstream\n"; } }
  server { listen 127.0.0.1:9202; location / { return 200 "hello from upstream\n"; } }
  server { listen 127.0.0.1:9203; location / { return 200 "hello from upstream\n"; } } }
NGX
cat > "$work/nginx.conf" <<NGX
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon on;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  upstream app { server 127.0.0.1:9201; server 127.0.0.1:9202; server 127.0.0.1:9203; keepalive 64; }
  server { listen 127.0.0.1:9212; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
cat > "$work/haproxy.cfg" <<HAP
global
  nbthread 1
  pidfile $work/haproxy.pid
  daemon
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend f
  bind 127.0.0.1:9214
  default_backend b
backend b
  balance roundrobin
  http-reuse always
  server s1 127.0.0.1:9201
  server s2 127.0.0.1:9202
  server s3 127.0.0.1:9203
HAP
cat > "$work/turnpike.yaml" <<YAML
server: { event_loops: 1 }
listen: "127.0.0.1:9213"
access_log: off
clusters:
  app:
    endpoints: [127.0.0.1:9201, 127.0.0.1:9202, 127.0.0.1:9203]
    load_balancing: { policy: round_robin }
sites:
  - routes:
      - path: /*
        proxy: { cluster: app }
YAML
taskset -c 1 nginx -c "$work/upstream.conf"
taskset -c 0 nginx -c "$work/nginx.conf"
taskset -c 0 haproxy -f "$work/haproxy.cfg"
TURNPIKE_JAVA_OPTS="-XX:ActiveProcessorCount=1 -XX:+UseSerialGC -Xms256m -Xmx256m" taskset -c 0 "$here/bin/turnpike" run -c "$work/turnpike.yaml" >"$work/turnpike.log" 2>&1 &
for _ in $(seq 200); do curl -fs http://127.0.0.1:9213/x >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.5
tp_pid=$(pgrep -f "turnpike.jar run -c $work/turnpike.yaml" | head -1)
ngx_pid=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
hap_pid=$(cat "$work/haproxy.pid")
cpu_ticks() { local t=0; for f in /proc/$1/task/*/stat; do t=$((t + $(awk '{print $14+$15}' "$f"))); done; echo $t; }
run() {
  local name=$1 pid=$2 url=$3
  taskset -c 1 wrk -t1 -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$url")
  local t1; t1=$(cpu_ticks "$pid")
  local rps reqs p99 us
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  us=$(awk -v d=$((t1 - t0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d * 1e6 / hz / r}')
  printf '%-9s %10s %8s %10s\n' "$name" "$rps" "$p99" "$us"
  echo "$name $rps $us" >> "$work/results"
}
echo "load: $(cat /proc/loadavg)"
printf '%-9s %10s %8s %10s\n' server req/s p99 cpu_us/req
run turnpike "$tp_pid" http://127.0.0.1:9213/x
run nginx "$ngx_pid" http://127.0.0.1:9212/x
run haproxy "$hap_pid" http://127.0.0.1:9214/x
awk '{rps[$1]=$2; cpu[$1]=$3} END { printf "turnpike/nginx req/s %.2f cpu/req %.2f; turnpike/haproxy req/s %.2f cpu/req %.2f\n", rps["turnpike"]/rps["nginx"], cpu["turnpike"]/cpu["nginx"], rps["turnpike"]/rps["haproxy"], cpu["turnpike"]/cpu["haproxy"] }' "$work/results"
