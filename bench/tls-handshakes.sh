#!/usr/bin/env bash
# Full TLS handshakes per second, BoringSSL (engine: openssl) against the JDK engine, with an ECDSA P-256 and an
# RSA 2048 certificate. Clients: 2 parallel `openssl s_time -new` (TLS 1.3, no resumption) for $DURATION seconds
# each run. Prints handshakes per wall second and per second of the server's own CPU (user+sys from /proc),
# which is the figure that survives a shared, busy machine. One event loop.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bin/lib/jdk.sh"
turnpike_find_jdk
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-9443}
jar="$here/target/turnpike.jar"
[ -f "$jar" ] || (cd "$here" && mvn -B -q -DskipTests package)
work=$(mktemp -d /tmp/turnpike-tls-bench.XXXXXX)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=bench-ca \
  -days 2 2>/dev/null
for t in ec rsa; do
  if [ $t = ec ]; then opt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else opt=(-newkey rsa:2048); fi
  openssl req "${opt[@]}" -nodes -keyout $t.key -out $t.csr -subj /CN=$t.bench 2>/dev/null
  printf 'subjectAltName=DNS:%s.bench\n' $t > $t.ext
  openssl x509 -req -in $t.csr -CA ca.pem -CAkey ca.key -set_serial "0x$RANDOM$RANDOM" -out $t.crt -days 2 \
    -extfile $t.ext 2>/dev/null
  cat $t.crt ca.pem > $t.pem
done

run() { # engine cert
  cat > t.yaml <<YAML
server: { event_loops: 1 }
access_log: off
listeners:
  - address: "127.0.0.1:$PORT"
    tls: { engine: $1, cert: $2.pem, key: $2.key }
sites:
  - routes:
      - respond: "ok"
YAML
  java --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -Xmx512m -jar "$jar" run -c t.yaml \
    > server.log 2>&1 &
  server=$!
  for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.3; done
  openssl s_time -connect 127.0.0.1:$PORT -new -time 5 -CAfile ca.pem > /dev/null 2>&1 # warm-up (JIT)
  local t0 t1 start end n
  t0=$(awk '{print $14+$15}' /proc/$server/stat)
  start=$(date +%s.%N)
  openssl s_time -connect 127.0.0.1:$PORT -new -time "$DURATION" -CAfile ca.pem > c1.out 2>&1 & local c1=$!
  openssl s_time -connect 127.0.0.1:$PORT -new -time "$DURATION" -CAfile ca.pem > c2.out 2>&1 & local c2=$!
  wait $c1 $c2
  end=$(date +%s.%N)
  t1=$(awk '{print $14+$15}' /proc/$server/stat)
  n=$(grep -h "connections in .* real seconds" c1.out c2.out | awk '{s+=$1} END {print s}')
  awk -v e="$1" -v c="$2" -v n="$n" -v w="$(echo "$end - $start" | bc -l)" -v cpu="$(( t1 - t0 ))" \
    -v tck="$(getconf CLK_TCK)" 'BEGIN { printf "%-8s %-4s %6d handshakes  %6.0f/s wall  %6.0f per server CPU-second\n", e, c, n, n / w, n / (cpu / tck) }'
  kill $server; wait $server 2>/dev/null || true; server=
}

echo "engine   cert  (DURATION=${DURATION}s x 2 clients, ROUNDS=$ROUNDS; load: $(cut -d' ' -f1-3 /proc/loadavg))"
for _ in $(seq 1 "$ROUNDS"); do
  for c in ec rsa; do for e in openssl jdk; do run $e $c; done; done
done
