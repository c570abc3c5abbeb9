#!/usr/bin/env bash
# Compares JVM flag sets for the Turnpike under test in one run: one Turnpike per flag set, all pinned to core 0
# (only the one being measured is loaded), wrk and the upstream on core 1, rounds interleaved so that the noise
# of a shared machine falls on every set alike. Proxy keep-alive; prints req/s, CPU µs/request and peak RSS.
#
#   bench/jvm-flags.sh [NAME=FLAGS]...
#
# Default sets: Serial, Parallel and G1, each with -XX:ActiveProcessorCount=1 -Xms1g -Xmx1g. ROUNDS (default 3),
# WARMUP (20s for the first round, 5s after), DURATION (10s), CONNS (50), BENCH_PORT (18150) as in run.sh.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=../bin/lib/jdk.sh
source "$root/bin/lib/jdk.sh"
turnpike_find_jdk

sets=("$@")
if ((${#sets[@]} == 0)); then
  common="-XX:ActiveProcessorCount=1 -Xms1g -Xmx1g"
  sets=("serial=$common -XX:+UseSerialGC" "parallel=$common -XX:+UseParallelGC" "g1=$common -XX:+UseG1GC")
fi
ROUNDS=${ROUNDS:-3} WARMUP=${WARMUP:-20s} DURATION=${DURATION:-10s} CONNS=${CONNS:-50}
port=${BENCH_PORT:-18150}
"$root/bin/turnpike" version >/dev/null

work=$(mktemp -d /tmp/turnpike-jvmflags.XXXXXX)
chmod 755 "$work"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; [[ -f $work/up.pid ]] && kill "$(cat "$work/up.pid")"; sleep 0.3; rm -rf "$work"' EXIT
cat > "$work/upstream.conf" <<NGX
worker_processes 1; pid $work/up.pid; error_log $work/up-error.log; daemon on;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; location / { return 200 "hello from upstream\n"; } } }
NGX
mkdir -p "$work/temp"
taskset -c 1 nginx -p "$work/temp" -e "$work/up-error.log" -c "$work/upstream.conf"

names=() urls=()
for i in "${!sets[@]}"; do
  name=${sets[$i]%%=*} flags=${sets[$i]#*=} p=$((port + 1 + i))
  cat > "$work/$name.yaml" <<YAML
server: { event_loops: 1 }
listen: "127.0.0.1:$p"
access_log: off
sites:
  - routes:
      - proxy: http://127.0.0.1:$port
YAML
  # The first 'run' with new JVM options trains their AOT cache: start them one at a time.
  TURNPIKE_JAVA_OPTS="$flags" taskset -c 0 "$root/bin/turnpike" run -c "$work/$name.yaml" >"$work/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name") urls+=("http://127.0.0.1:$p/x")
  for _ in $(seq 600); do curl -fs -o /dev/null "http://127.0.0.1:$p/x" && break; sleep 0.05; done
done

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
printf '%-10s %5s %10s %10s %12s\n' set round req/s cpu_us/req peak_rss_MiB
for ((r = 0; r < ROUNDS; r++)); do
  warm=$WARMUP
  ((r == 0)) || warm=5s
  for ((k = 0; k < ${#names[@]}; k++)); do
    i=$(((k + r) % ${#names[@]}))
    pid=${pids[$i]}
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$warm" "${urls[$i]}" >/dev/null
    echo 5 > "/proc/$pid/clear_refs"
    t0=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "${urls[$i]}")
    t1=$(ticks "$pid")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    cpu=$(awk -v d=$((t1 - t0)) -v r="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", d * 1e6 / hz / r }')
    hwm=$(awk '$1 == "VmHWM:" {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
    printf '%-10s %5d %10s %10s %12s\n' "${names[$i]}" "$r" "$rps" "$cpu" "$hwm"
  done
done
