#!/usr/bin/env bash
# Turnpike's benchmark harness: Turnpike, nginx and HAProxy side by side, each on the same single core, driven
# by the same load in one run. See bench/README.md for what each scenario measures and how to read the table.
#
#   bench/run.sh [--quick] [--profile[=SCENARIO]] [--name NAME] [SCENARIO...]
#
# Scenarios (default: all, in this order):
#   proxy-keepalive  proxy a small upstream response; client and upstream connections kept alive
#   proxy-close      the same with a new client connection per request (wrk -H 'Connection: close')
#   static-1k        a 1 KiB static file (nginx is the only peer: HAProxy serves no files)
#   static-1m        a 1 MiB static file (nginx only)
#   h2c              proxying over cleartext HTTP/2 with prior knowledge, many streams per connection (h2load)
#   tls              TLS handshakes per second: a new TLS 1.3 connection per request, ECDSA P-256 certificate
#   latency          p50/p99 at a fixed rate of half nginx's maximum proxy keep-alive rate (h2load --h1 --rps)
#   idle             memory per idle keep-alive connection (RSS growth with IDLE_CONNS connections open)
#   startup          launch to first 200, with and without the JDK's AOT cache (nginx as a reference)
#
# --quick          short windows (5 s warm-up, 5 s measured, 2000 idle connections, 3 startups)
# --profile[=S]    after scenario S's measured window (default proxy-keepalive), run it once more with
#                  async-profiler attached to Turnpike; writes bench/results/flame-S.html and the top frames
# --name NAME      results go to bench/results/NAME.{md,tsv,png} (default: quick with --quick, else latest)
#
# Environment: WARMUP, DURATION (wrk durations, e.g. 15s), CONNS (client connections, default 50), ROUNDS
# (measured windows per server and scenario, best kept; default 2, 1 with --quick), JIT_WARMUP (Turnpike's
# load on three paths before the first scenario; 20s, 5s with --quick, 0s for none),
# IDLE_CONNS, STARTUP_RUNS, TURNPIKE_BENCH_JVM (JVM flags for the Turnpike under test), BENCH_PORT (first of
# the ports used, default 18100; BENCH_PORT+1 .. BENCH_PORT+30), BENCH_KEEP=1 (keep the work directory with
# configs and logs). Needs root or password-less sudo to install missing Debian packages.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=../bin/lib/jdk.sh
source "$root/bin/lib/jdk.sh"
turnpike_find_jdk

all_scenarios=(proxy-keepalive proxy-close static-1k static-1m h2c tls latency idle startup)
quick=false
profile=
name=
scenarios=()
while (($#)); do
  case $1 in
    --quick) quick=true ;;
    --profile) profile=proxy-keepalive ;;
    --profile=*) profile=${1#--profile=} ;;
    --name) name=$2; shift ;;
    --name=*) name=${1#--name=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
      if [[ " ${all_scenarios[*]} " != *" $1 "* ]]; then
        echo "run.sh: unknown scenario '$1'; expected one of: ${all_scenarios[*]}" >&2
        exit 2
      fi
      scenarios+=("$1") ;;
  esac
  shift
done
((${#scenarios[@]})) || scenarios=("${all_scenarios[@]}")
if [[ -n $profile && " ${all_scenarios[*]} " != *" $profile "* ]]; then
  echo "run.sh: --profile=$profile is not a scenario" >&2
  exit 2
fi

if $quick; then
  WARMUP=${WARMUP:-5s} DURATION=${DURATION:-5s} IDLE_CONNS=${IDLE_CONNS:-2000} STARTUP_RUNS=${STARTUP_RUNS:-3}
  ROUNDS=${ROUNDS:-1} JIT_WARMUP=${JIT_WARMUP:-5s}
  name=${name:-quick}
else
  # The JIT compiles on the same core as the event loop: Turnpike's rate keeps rising for ~15 s of load.
  WARMUP=${WARMUP:-15s} DURATION=${DURATION:-10s} IDLE_CONNS=${IDLE_CONNS:-10000} STARTUP_RUNS=${STARTUP_RUNS:-7}
  ROUNDS=${ROUNDS:-2} JIT_WARMUP=${JIT_WARMUP:-20s}
  name=${name:-latest}
fi
CONNS=${CONNS:-50}
# One core: Serial and Parallel GC cost the same per request and G1 ~15% more (bench/jvm-flags.sh, numbers in
# bench/README.md); Serial has no GC threads to compete with the event loop. 256 MiB costs no more CPU than
# 1 GiB and halves the resident set.
TURNPIKE_BENCH_JVM=${TURNPIKE_BENCH_JVM:--XX:ActiveProcessorCount=1 -XX:+UseSerialGC -Xms256m -Xmx256m}
port=${BENCH_PORT:-18100}
up_port=$((port + 1)) ngx_port=$((port + 2)) tp_port=$((port + 3)) hap_port=$((port + 4))
ngx_h2_port=$((port + 12)) hap_h2_port=$((port + 14))
ngx_tls_port=$((port + 22)) tp_tls_port=$((port + 23)) hap_tls_port=$((port + 24))
startup_port=$((port + 30))
results_dir=$root/bench/results
mkdir -p "$results_dir"

# ---------------------------------------------------------------------------------------------------------
# Tools: Debian packages, apt-get update at most once.
sudo_=()
[[ $(id -u) -eq 0 ]] || sudo_=(sudo -n)
apt_updated=false
need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "run.sh: installing Debian package $2 (for $1)" >&2
  if ! $apt_updated; then
    "${sudo_[@]}" apt-get update -qq </dev/null
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -qq --no-install-recommends "$2" </dev/null >/dev/null
}
need nginx nginx-light
need haproxy haproxy
need wrk wrk
need h2load nghttp2-client
need gnuplot gnuplot-nox
need taskset util-linux
need curl curl
need openssl openssl
need python3 python3

# A soft fd limit as high as allowed: the idle scenario holds IDLE_CONNS connections in one client process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Build the jar (and the AOT cache) now, so no scenario measures a build.
"$root/bin/turnpike" version >/dev/null

work=$(mktemp -d /tmp/turnpike-bench.XXXXXX)
chmod 755 "$work"   # nginx's workers run as nobody and must read www/
tp_pid=
cleanup() {
  [[ -n $tp_pid ]] && kill "$tp_pid" 2>/dev/null
  for f in "$work"/*.pid; do
    [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 0.3
  if [[ -n ${BENCH_KEEP:-} ]]; then echo "run.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------------------------------------------------
# Content, certificate and the equivalent configurations. Access logs are OFF for all three servers.
mkdir -p "$work/www" "$work/nginx-temp"
head -c 768 /dev/urandom | base64 -w0 > "$work/www/1k.txt"          # 1024 bytes
head -c 1048576 /dev/urandom > "$work/www/1m.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" > "$work/haproxy.pem"

cat > "$work/upstream.conf" <<NGX
worker_processes 1; pid $work/upstream.pid; error_log $work/upstream-error.log; daemon on;
worker_rlimit_nofile 19000;
events { worker_connections 16000; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server { listen 127.0.0.1:$up_port; location / { return 200 "hello from upstream\n"; } } }
NGX

# Every proxy adds X-Forwarded-For/-Proto/-Host, an RFC 7239 Forwarded (Turnpike always sends one) and an
# X-Request-ID (sent upstream and echoed to the client),
# keeps up to 64 idle upstream connections, serves /ok itself (the TLS scenario) and files from www/.
cat > "$work/nginx.conf" <<NGX
worker_processes 1; pid $work/nginx.pid; error_log $work/nginx-error.log; daemon on;
worker_rlimit_nofile 19000;
events { worker_connections 16000; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; keepalive_timeout 75s;
  open_file_cache max=1000 inactive=60s; default_type application/octet-stream;
  upstream app { server 127.0.0.1:$up_port; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$ngx_port; listen 127.0.0.1:$ngx_h2_port http2; listen 127.0.0.1:$ngx_tls_port ssl;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;
    location /api/ {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host; proxy_set_header X-Request-ID \$request_id;
      proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\\"\$http_host\\"";
      add_header X-Request-ID \$request_id;
    }
    location = /ok { default_type text/plain; return 200 "ok\n"; }
    location / { root $work/www; }
  }
}
NGX

cat > "$work/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 9000
  pidfile $work/haproxy.pid
  ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
  mode http
  timeout connect 5s
  timeout client 75s
  timeout server 60s
  timeout http-keep-alive 75s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:$hap_port
  bind 127.0.0.1:$hap_h2_port proto h2
  bind 127.0.0.1:$hap_tls_port ssl crt $work/haproxy.pem alpn http/1.1
  unique-id-format %[uuid()]
  unique-id-header X-Request-ID
  http-request return status 200 content-type text/plain string "ok\n" if { path /ok }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header Forwarded "for=%[src];proto=http;host=\\"%[req.hdr(host)]\\"" if !{ ssl_fc }
  http-request set-header Forwarded "for=%[src];proto=https;host=\\"%[req.hdr(host)]\\"" if { ssl_fc }
  http-response set-header X-Request-ID %[unique-id]
  default_backend app
backend app
  server up 127.0.0.1:$up_port pool-max-conn 64
HAP

turnpike_yaml() { # TLS-LISTENER-YAML (may be empty)
  cat <<YAML
server: { event_loops: 1 }
listeners:
  - address: "127.0.0.1:$tp_port"
$1
access_log: off
sites:
  - routes:
      - path: /api/*
        proxy: http://127.0.0.1:$up_port
      - path: /ok
        respond: "ok\n"
      - static: "$work/www"
YAML
}

# Turnpike's TLS listener (engine auto: BoringSSL when it loads). A build that rejects it skips the TLS row.
tp_tls="  - address: \"127.0.0.1:$tp_tls_port\"
    tls: { cert: $work/cert.pem, key: $work/key.pem }"
tp_tls_note=
turnpike_yaml "$tp_tls" > "$work/tls-probe.yaml"
if ! "$root/bin/turnpike" validate -c "$work/tls-probe.yaml" >"$work/tls-probe.out" 2>&1; then
  tp_tls= tp_tls_note="this Turnpike rejects the TLS listener: $(head -1 "$work/tls-probe.out")"
fi
turnpike_yaml "$tp_tls" > "$work/turnpike.yaml"

# ---------------------------------------------------------------------------------------------------------
# Processes: the servers under test on core 0; upstream, load generators and clients on core 1.
wait_http() { # URL [SECONDS]
  for _ in $(seq $((${2:-10} * 20))); do
    curl -fsk -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run.sh: $1 did not answer" >&2
  return 1
}

start_servers() {
  local p
  for p in $up_port $ngx_port $tp_port $hap_port $ngx_h2_port $hap_h2_port $ngx_tls_port $tp_tls_port $hap_tls_port \
      $startup_port; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "run.sh: port $p is in use (another benchmark?); set BENCH_PORT to move all ports" >&2
      exit 1
    fi
  done
  taskset -c 1 nginx -p "$work/nginx-temp" -e "$work/upstream-error.log" -c "$work/upstream.conf"
  taskset -c 0 nginx -p "$work/nginx-temp" -e "$work/nginx-error.log" -c "$work/nginx.conf"
  taskset -c 0 haproxy -D -f "$work/haproxy.cfg" 2>"$work/haproxy.log" || { cat "$work/haproxy.log" >&2; exit 1; }
  # shellcheck disable=SC2086 # TURNPIKE_BENCH_JVM is a list of flags
  TURNPIKE_JAVA_OPTS="$TURNPIKE_BENCH_JVM${profiling_flags:+ $profiling_flags}" \
    taskset -c 0 "$root/bin/turnpike" run -c "$work/turnpike.yaml" >"$work/turnpike.log" 2>&1 &
  tp_pid=$!   # bin/turnpike and taskset exec, so this is the JVM
  wait_http "http://127.0.0.1:$up_port/"
  wait_http "http://127.0.0.1:$ngx_port/ok"
  wait_http "http://127.0.0.1:$hap_port/ok"
  wait_http "http://127.0.0.1:$tp_port/ok" 120   # the first run after a build trains the AOT cache
}

# The processes of one server (all of them: nginx's master and worker; the one JVM; HAProxy's one process).
pids_of() {
  case $1 in
    turnpike) echo "$tp_pid" ;;
    nginx) local m; m=$(cat "$work/nginx.pid"); echo "$m" $(pgrep -P "$m") ;;
    haproxy) cat "$work/haproxy.pid" ;;
  esac
}
hz=$(getconf CLK_TCK)
# user+sys clock ticks of every thread of the processes, dead threads included (fields 14 and 15 of stat).
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
sys_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $15}' "/proc/$p/stat"))); done; echo $t; }
# Writing 5 to clear_refs resets VmHWM to the current RSS, so each scenario reports its own peak.
reset_hwm() { local p; for p in "$@"; do echo 5 > "/proc/$p/clear_refs" 2>/dev/null || true; done; }
status_kib() { # FIELD PID... : summed VmHWM/VmRSS in KiB
  local f=$1 t=0 p; shift
  for p in "$@"; do t=$((t + $(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/status"))); done
  echo $t
}

# ---------------------------------------------------------------------------------------------------------
# Load: every run writes one row to results.tsv:
#   scenario server rps p50_ms p99_ms cpu_us_per_req peak_rss_kib errors note
tsv=$work/results.tsv
: > "$tsv"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$tsv"; }

# wrk prints latencies as 412.00us / 1.20ms / 1.01s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
  else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# Exact percentiles from an h2load --log-file (third column: microseconds to the end of the response).
log_percentiles() { # FILE -> "p50_ms p99_ms p999_ms"
  cut -f3 "$1" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    split("50 99 99.9", q, " ")
    for (i = 1; i <= 3; i++) { k = int(NR * q[i] / 100 + 0.999999); if (k < 1) k = 1; printf "%.3f ", v[k] / 1000 }
    print "" }'
}

# load KIND URL DURATION [OUT]: runs the load generator on core 1; prints "requests rps p50 p99 errors".
load() {
  local kind=$1 url=$2 dur=$3 out
  case $kind in
    wrk|wrk-close)
      local hdr=()
      [[ $kind == wrk-close ]] && hdr=(-H 'Connection: close')
      out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$dur" --latency "${hdr[@]}" "$url")
      local reqs rps p50 p99 errs
      reqs=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
      p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
      p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
      errs=$(awk '/Non-2xx/ {e += $NF} /Socket errors/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} END {print e + 0}' <<<"$out")
      echo "$reqs $rps $p50 $p99 $errs" ;;
    h2c)
      # Many streams: 4 connections with 100 concurrent streams each (HAProxy's default stream limit).
      out=$(taskset -c 1 h2load -t1 -c4 -m100 -D "$dur" --log-file="$work/h2.log" "$url" 2>&1) || true
      local ok rps pct
      ok=$(awk '/^requests:/ {print $8}' <<<"$out")
      rps=$(awk '/^finished in/ {printf "%.0f", $4}' <<<"$out")
      pct=$(log_percentiles "$work/h2.log")
      local failed; failed=$(awk '/^requests:/ {print $10 + $12}' <<<"$out")
      echo "${ok:-0} ${rps:-0} $(cut -d' ' -f1,2 <<<"$pct") ${failed:-0}" ;;
  esac
}

# measure SCENARIO SERVER KIND URL ROUND: warm-up, then a measured window with CPU and peak RSS of the server.
measure() {
  local scenario=$1 server=$2 kind=$3 url=$4 round=$5
  local pids; read -r -a pids <<<"$(pids_of "$server")"
  log "$scenario: $server warm-up $WARMUP"
  load "$kind" "$url" "$WARMUP" >/dev/null
  reset_hwm "${pids[@]}"
  local t0 t1 s0 s1 res
  t0=$(cpu_ticks "${pids[@]}") s0=$(sys_ticks "${pids[@]}")
  res=$(load "$kind" "$url" "$DURATION")
  t1=$(cpu_ticks "${pids[@]}") s1=$(sys_ticks "${pids[@]}")
  local reqs rps p50 p99 errs; read -r reqs rps p50 p99 errs <<<"$res"
  local cpu; cpu=$(awk -v d=$((t1 - t0)) -v r="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (r > 0 ? d * 1e6 / hz / r : 0) }')
  local hwm; hwm=$(status_kib VmHWM "${pids[@]}")
  log "$scenario: $server $rps req/s, p50 $p50 ms, p99 $p99 ms, $cpu us/req, peak RSS $((hwm / 1024)) MiB, errors $errs"
  log "$scenario: $server system time $(awk -v s=$((s1 - s0)) -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", (d > 0 ? 100 * s / d : 0) }')% of its CPU"
  # The kernel's share of the CPU: the system calls (and the loopback TCP work they do) versus the server's code.
  local sys; sys=$(awk -v s=$((s1 - s0)) -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", (d > 0 ? 100 * s / d : 0) }')
  row "$scenario" "$server" "$rps" "$p50" "$p99" "$cpu" "$hwm" "$errs" "system $sys%"
  if [[ $server == turnpike && $profile == "$scenario" && $round == 0 ]]; then
    profile_turnpike "$scenario" "$kind" "$url"
  fi
}

skip() { # SCENARIO SERVER WHY
  log "$1: $2 skipped: $3"
  row "$1" "$2" - - - - - - "skipped: $3"
}

# ---------------------------------------------------------------------------------------------------------
# async-profiler (Maven Central's tools.profiler:async-profiler carries libasyncProfiler.so for linux-x64),
# loaded into the running JVM with jcmd (the options in double quotes: jcmd would split them at '='). CPU samples through perf events when the kernel allows them, else
# itimer. Turnpike runs with -XX:+DebugNonSafepoints under --profile so inlined frames are attributed right.
ASYNC_PROFILER_VERSION=4.2
profiling_flags=
if [[ -n $profile ]]; then
  profiling_flags="-XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints -XX:+EnableDynamicAgentLoading"
  ap_jar=$HOME/.m2/repository/tools/profiler/async-profiler/$ASYNC_PROFILER_VERSION/async-profiler-$ASYNC_PROFILER_VERSION.jar
  if [[ ! -f $ap_jar ]]; then
    (cd "$root" && mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:$ASYNC_PROFILER_VERSION -Dtransitive=false)
  fi
  mkdir -p "$work/ap"
  unzip -q -o "$ap_jar" 'linux-x64/libasyncProfiler.so' -d "$work/ap"
  ap_lib=$work/ap/linux-x64/libasyncProfiler.so
fi

profile_turnpike() { # SCENARIO KIND URL
  local scenario=$1 event=cpu
  # ctimer (a CPU-time timer per thread) where perf events are not allowed: itimer ticks only at the kernel's HZ.
  [[ $(cat /proc/sys/kernel/perf_event_paranoid) -le 1 ]] || event=ctimer
  log "$scenario: profiling Turnpike ($event) for 2 x $DURATION"
  jcmd "$tp_pid" JVMTI.agent_load "$ap_lib" "\"start,event=$event,interval=1ms\"" >/dev/null
  load "$2" "$3" "$DURATION" >/dev/null
  load "$2" "$3" "$DURATION" >/dev/null
  jcmd "$tp_pid" JVMTI.agent_load "$ap_lib" "\"dump,collapsed,file=$work/profile.collapsed\"" >/dev/null
  jcmd "$tp_pid" JVMTI.agent_load "$ap_lib" "\"stop,file=$results_dir/flame-$scenario.html,title=Turnpike_$scenario\"" >/dev/null
  # Top frames: by self time (the leaf of each stack) and by total time for Turnpike's own methods.
  {
    echo "### Top frames, $scenario ($(awk '{ s += $NF } END { print s }' "$work/profile.collapsed") $event samples, $(date -u +%F))"
    echo
    echo "Self time (leaf frames):"
    echo
    echo '| share | frame |'
    echo '|------:|-------|'
    awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); leaf = f[k]; sub(/ +$/, "", leaf); self[leaf] += n; all += n }
      END { for (l in self) printf "%.1f%%\t%s\n", 100 * self[l] / all, l }' "$work/profile.collapsed" \
      | sort -t$'\t' -k1,1 -rn | head -25 | awk -F'\t' '{ printf "| %s | `%s` |\n", $1, $2 }'
    echo
    echo "Where the CPU went, by thread:"
    echo
    echo '| share | threads |'
    echo '|------:|---------|'
    awk '{ n = $NF; all += n
        if ($0 ~ /CompileBroker::/) c = "JIT compiler threads"
        else if ($0 ~ /GCTaskThread|VM_GenCollect|VM_G1|VMThread::|SerialHeap|DefNewGeneration|ParallelScavenge|G1/) c = "GC and VM operations"
        else if ($0 ~ /io\/netty\/channel\/epoll\/EpollEventLoop|io\.netty\.channel\.epoll\.EpollEventLoop|SingleThreadEventExecutor|SingleThreadIoEventLoop/) c = "event loop (Java and its system calls)"
        else c = "other"
        t[c] += n }
      END { for (c in t) printf "%.1f%%\t%s\n", 100 * t[c] / all, c }' "$work/profile.collapsed" \
      | sort -t$'\t' -k1,1 -rn | awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }'
    echo
    echo "Total time of dev.turnpike frames (a frame counted once per stack):"
    echo
    echo '| share | frame |'
    echo '|------:|-------|'
    awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); delete seen
        for (i = 1; i <= k; i++) { g = f[i]; sub(/ +$/, "", g); if (g ~ /^dev\/turnpike|^dev\.turnpike/ && !(g in seen)) { seen[g] = 1; tot[g] += n } }
        all += n }
      END { for (g in tot) printf "%.1f%%\t%s\n", 100 * tot[g] / all, g }' "$work/profile.collapsed" \
      | sort -t$'\t' -k1,1 -rn | head -25 | awk -F'\t' '{ printf "| %s | `%s` |\n", $1, $2 }'
  } > "$results_dir/profile-$scenario.md"
  log "$scenario: flame graph in bench/results/flame-$scenario.html, top frames in bench/results/profile-$scenario.md"
}

# ---------------------------------------------------------------------------------------------------------
# Scenarios.
declare -A url_of=(
  [turnpike]=http://127.0.0.1:$tp_port [nginx]=http://127.0.0.1:$ngx_port [haproxy]=http://127.0.0.1:$hap_port)
declare -A h2_of=(
  [turnpike]=http://127.0.0.1:$tp_port [nginx]=http://127.0.0.1:$ngx_h2_port [haproxy]=http://127.0.0.1:$hap_h2_port)
declare -A tls_of=(
  [turnpike]=https://127.0.0.1:$tp_tls_port [nginx]=https://127.0.0.1:$ngx_tls_port [haproxy]=https://127.0.0.1:$hap_tls_port)
servers=(turnpike nginx haproxy)

base_url() { # SERVER KIND
  case $2 in
    h2c) echo "${h2_of[$1]}" ;;
    tls) echo "${tls_of[$1]}" ;;
    *) echo "${url_of[$1]}" ;;
  esac
}
# rounds SCENARIO KIND PATH SERVER...: ROUNDS measured windows per server, the servers' order rotating each
# round so that none is always first after another's load; the report keeps each server's best window.
rounds() {
  local scenario=$1 kind=$2 path=$3 r i
  shift 3
  local list=("$@")
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < ${#list[@]}; i++)); do
      local s=${list[$(((i + r) % ${#list[@]}))]}
      measure "$scenario" "$s" "${kind/tls/wrk-close}" "$(base_url "$s" "$kind")$path" "$r"
    done
  done
}

scenario_proxy_keepalive() { rounds proxy-keepalive wrk /api/x "${servers[@]}"; }
scenario_proxy_close() { rounds proxy-close wrk-close /api/x "${servers[@]}"; }
scenario_static_1k() { rounds static-1k wrk /1k.txt turnpike nginx; }
scenario_static_1m() { rounds static-1m wrk /1m.bin turnpike nginx; }

scenario_h2c() {
  local s list=()
  for s in "${servers[@]}"; do
    if taskset -c 1 h2load -n1 -c1 "${h2_of[$s]}/api/x" 2>&1 | grep -q '1 succeeded'; then
      list+=("$s")
    else
      skip h2c "$s" "does not speak cleartext HTTP/2 (prior knowledge) yet"
    fi
  done
  ((${#list[@]} == 0)) || rounds h2c h2c /api/x "${list[@]}"
}

scenario_tls() {
  local list=(nginx haproxy)
  if [[ -n $tp_tls_note ]]; then
    skip tls turnpike "$tp_tls_note"
  else
    list=(turnpike "${list[@]}")
  fi
  rounds tls tls /ok "${list[@]}"
}

# p99 at a fixed rate: half of nginx's maximum proxy keep-alive rate (from this run, else measured now).
# h2load --h1 --rps paces each of CONNS connections; its latency clock starts when a request is sent, so a
# server that falls behind the rate shows as a lower achieved rate, not as queueing delay (no wrk2 in Debian).
scenario_latency() {
  local max; max=$(awk -F'\t' '$1 == "proxy-keepalive" && $2 == "nginx" && $3 + 0 > m {m = $3 + 0} END {if (m) print m}' "$tsv")
  if [[ -z $max || $max == - ]]; then
    log "latency: measuring nginx's maximum proxy keep-alive rate first"
    load wrk "${url_of[nginx]}/api/x" "$WARMUP" >/dev/null
    max=$(load wrk "${url_of[nginx]}/api/x" "$DURATION" | cut -d' ' -f2)
  fi
  local rate=$((max / 2)) per=$(((max / 2 + CONNS - 1) / CONNS))
  local s r i list=(turnpike nginx haproxy)
  for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < ${#list[@]}; i++)); do
    s=${list[$(((i + r) % ${#list[@]}))]}
    local pids; read -r -a pids <<<"$(pids_of "$s")"
    log "latency: $s at $((per * CONNS)) req/s (half of nginx's $max), warm-up $WARMUP"
    taskset -c 1 h2load --h1 -t1 -c"$CONNS" --rps="$per" -D "$WARMUP" "${url_of[$s]}/api/x" >/dev/null 2>&1 || true
    reset_hwm "${pids[@]}"
    local t0 t1 out
    t0=$(cpu_ticks "${pids[@]}")
    out=$(taskset -c 1 h2load --h1 -t1 -c"$CONNS" --rps="$per" -D "$DURATION" --log-file="$work/lat.log" \
      "${url_of[$s]}/api/x" 2>&1) || true
    t1=$(cpu_ticks "${pids[@]}")
    local ok rps p50 p99 p999 failed cpu hwm
    ok=$(awk '/^requests:/ {print $8}' <<<"$out")
    failed=$(awk '/^requests:/ {print $10 + $12}' <<<"$out")
    rps=$(awk '/^finished in/ {printf "%.0f", $4}' <<<"$out")
    read -r p50 p99 p999 <<<"$(log_percentiles "$work/lat.log")"
    cpu=$(awk -v d=$((t1 - t0)) -v r="${ok:-0}" -v hz="$hz" 'BEGIN { printf "%.1f", (r > 0 ? d * 1e6 / hz / r : 0) }')
    hwm=$(status_kib VmHWM "${pids[@]}")
    log "latency: $s $rps req/s, p50 $p50 ms, p99 $p99 ms, p99.9 $p999 ms, $cpu us/req"
    row latency "$s" "$rps" "$p50" "$p99" "$cpu" "$hwm" "${failed:-0}" "target $((per * CONNS)) req/s; p99.9 $p999 ms"
  done
  done
}

# Memory per idle connection: RSS of the server before and after IDLE_CONNS keep-alive connections, each of
# which has made one request and stays open. For Turnpike also the live Java heap after a full GC.
heap_used_kib() { # PID: used KiB of the Java heap after a full GC (sum over generations)
  jcmd "$1" GC.run >/dev/null
  jcmd "$1" GC.heap_info | awk '/total/ && / used / { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); t += v } }
    END { print t + 0 }'
}
scenario_idle() {
  local s client=$root/bench/IdleConnections.java
  for s in turnpike nginx; do
    local pids; read -r -a pids <<<"$(pids_of "$s")"
    log "idle: $s warm-up 5s, then $IDLE_CONNS idle connections"
    load wrk "${url_of[$s]}/1k.txt" 5s >/dev/null
    sleep 1
    local heap0=0 heap1=0
    [[ $s == turnpike ]] && heap0=$(heap_used_kib "$tp_pid")
    local rss0; rss0=$(status_kib VmRSS "${pids[@]}")
    local fifo=$work/idle.fifo; rm -f "$fifo"; mkfifo "$fifo"
    taskset -c 1 java -Xss256k "$client" 127.0.0.1 "${url_of[$s]##*:}" "$IDLE_CONNS" /1k.txt <"$fifo" >"$work/idle.out" 2>&1 &
    local cpid=$!
    exec 7>"$fifo"
    local ready=false
    for _ in $(seq 1200); do
      grep -q '^READY' "$work/idle.out" && { ready=true; break; }
      kill -0 "$cpid" 2>/dev/null || break
      sleep 0.1
    done
    if ! $ready; then
      exec 7>&-; wait "$cpid" || true
      skip idle "$s" "client failed: $(tail -1 "$work/idle.out")"
      continue
    fi
    sleep 2
    local rss1; rss1=$(status_kib VmRSS "${pids[@]}")
    [[ $s == turnpike ]] && heap1=$(heap_used_kib "$tp_pid")
    exec 7>&-   # the client closes its connections and exits when its stdin ends
    wait "$cpid" || true
    local n; n=$(awk '/^READY/ {print $2}' "$work/idle.out")
    # The JVM's heap pages are resident after the warm-up, so objects for new connections fill them without
    # growing RSS: Turnpike's figure is its RSS growth (native memory) plus its live heap growth.
    local per; per=$(awk -v a="$rss0" -v b="$rss1" -v h0="$heap0" -v h1="$heap1" -v n="$n" \
      'BEGIN { printf "%.1f", (b - a + h1 - h0) / n }')
    local note="$n connections; RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB"
    if [[ $s == turnpike ]]; then
      note="$note ($(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }') KiB/conn)"
      note="$note + live Java heap after full GC $((heap0 / 1024)) -> $((heap1 / 1024)) MiB"
      note="$note ($(awk -v a="$heap0" -v b="$heap1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }') KiB/conn)"
    fi
    log "idle: $s $per KiB per connection ($note)"
    row idle "$s" - - - - "$per" 0 "$note"
    sleep 1
  done
}

# Startup: launch to the first 200, bin/turnpike as a person runs it (both cores, default JVM flags), with
# and without the AOT cache that bin/turnpike builds next to the jar; nginx (not daemonised) for reference.
scenario_startup() {
  cat > "$work/startup.yaml" <<YAML
listen: "127.0.0.1:$startup_port"
access_log: off
sites:
  - routes:
      - path: /api/*
        proxy: http://127.0.0.1:$up_port
      - static: "$work/www"
YAML
  sed -e "s/listen 127.0.0.1:$ngx_port;/listen 127.0.0.1:$startup_port;/; s/ listen 127.0.0.1:$ngx_h2_port http2;//" \
    -e "s/ listen 127.0.0.1:$ngx_tls_port ssl;//; s/daemon on;/daemon off;/; s|pid $work/nginx.pid|pid $work/startup-nginx.pid.x|" \
    "$work/nginx.conf" > "$work/startup-nginx.conf"
  # One launch first, not timed: it trains the AOT cache when this build has none for these JVM options yet.
  python3 "$root/bench/startup.py" "http://127.0.0.1:$startup_port/1k.txt" 1 \
    -- "$root/bin/turnpike" run -c "$work/startup.yaml" >/dev/null
  local variant out
  for variant in aot no-aot nginx; do
    log "startup: $variant, $STARTUP_RUNS launches"
    case $variant in
      aot) out=$(TURNPIKE_AOT=auto python3 "$root/bench/startup.py" "http://127.0.0.1:$startup_port/1k.txt" "$STARTUP_RUNS" \
             -- "$root/bin/turnpike" run -c "$work/startup.yaml") ;;
      no-aot) out=$(TURNPIKE_AOT=off python3 "$root/bench/startup.py" "http://127.0.0.1:$startup_port/1k.txt" "$STARTUP_RUNS" \
             -- "$root/bin/turnpike" run -c "$work/startup.yaml") ;;
      nginx) out=$(python3 "$root/bench/startup.py" "http://127.0.0.1:$startup_port/1k.txt" "$STARTUP_RUNS" \
             -- nginx -p "$work/nginx-temp" -e "$work/startup-nginx-error.log" -c "$work/startup-nginx.conf") ;;
    esac
    local summary; summary=$(tail -1 <<<"$out")
    local median; median=$(sed -n 's/.* median=\([0-9.]*\) .*/\1/p' <<<"$summary")
    log "startup: $variant $summary"
    local server=turnpike; [[ $variant == nginx ]] && server=nginx
    row "startup-${variant/nginx/ref}" "$server" - - - - - 0 "median $median ms (${summary#startup_ms })"
  done
}

# ---------------------------------------------------------------------------------------------------------
start_servers
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Turnpike's JIT compiles on the core it serves from; 15 s of one scenario left the first measured window at
# half speed. Its main paths get JIT_WARMUP each before any measurement, as in a server that has been running.
# HTTP/2 and TLS are code paths of their own, warmed too when their scenarios run: otherwise the C2 compiler
# shares core 0 with their measured windows (41% of Turnpike's CPU in an h2c profile after 20 s).
if [[ $JIT_WARMUP != 0s ]]; then
  warm="proxy keep-alive, proxy with new connections, static 1 KiB"
  [[ " ${scenarios[*]} " == *" h2c "* ]] && warm+=", h2c"
  [[ " ${scenarios[*]} " == *" tls "* && -n $tp_tls ]] && warm+=", TLS handshakes"
  log "JIT warm-up of Turnpike: $JIT_WARMUP each of $warm"
  load wrk "${url_of[turnpike]}/api/x" "$JIT_WARMUP" >/dev/null
  load wrk-close "${url_of[turnpike]}/api/x" "$JIT_WARMUP" >/dev/null
  load wrk "${url_of[turnpike]}/1k.txt" "$JIT_WARMUP" >/dev/null
  if [[ $warm == *h2c* ]]; then
    load h2c "${h2_of[turnpike]}/api/x" "$JIT_WARMUP" >/dev/null
  fi
  if [[ $warm == *TLS* ]]; then
    load wrk-close "${tls_of[turnpike]}/ok" "$JIT_WARMUP" >/dev/null
  fi
fi
log "servers up (turnpike pid $tp_pid); scenarios: ${scenarios[*]}; warm-up $WARMUP, measured $DURATION, $CONNS connections"
for s in "${scenarios[@]}"; do
  "scenario_${s//-/_}"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cp "$tsv" "$results_dir/$name.tsv"
python3 "$root/bench/report.py" "$results_dir/$name.tsv" "$results_dir/$name" \
  --meta "date=$(date -u '+%F %H:%M UTC')" \
  --meta "commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --meta "windows=Turnpike JIT warm-up $JIT_WARMUP each of ${warm:-nothing}, then per window warm-up $WARMUP, measured $DURATION, best of $ROUNDS rounds, $CONNS connections (wrk -t1), idle $IDLE_CONNS connections" \
  --meta "turnpike_jvm=$TURNPIKE_BENCH_JVM" \
  --meta "versions=$(java -version 2>&1 | head -1 | tr -d '"'); nginx $(nginx -v 2>&1 | sed 's|.*/||'); HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'); wrk $(dpkg-query -W -f='${Version}' wrk); h2load $(h2load --version | awk '{print $2}')" \
  --meta "load=load average $load_before at the start, $load_after at the end (2 cores, shared)" \
  ${tp_tls_note:+--meta "tls_note=$tp_tls_note"}
log "wrote bench/results/$name.md, $name.tsv and $name.png"
