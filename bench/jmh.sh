#!/usr/bin/env bash
# Builds and runs the JMH micro-benchmarks of the hot paths (src/jmh/java, Maven profile jmh):
#
#   bench/jmh.sh                      all benchmarks, JMH's defaults cut down for a shared 2-core machine
#   bench/jmh.sh RequestHead          the benchmarks matching a regular expression
#   bench/jmh.sh -f 1 -i 3 Pick       JMH options instead of the defaults (bench/jmh.sh -h lists them)
#
# Request-head parsing (http1.RequestHeadBenchmark), route lookup (routing.RouteLookupBenchmark), load-balancer
# picks (upstream.lb.PickBenchmark) and proxy header rewriting (proxy.ProxyHeadersBenchmark). Results are
# nanoseconds per operation; compare runs made on the same machine at the same time.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=../bin/lib/jdk.sh
source "$root/bin/lib/jdk.sh"
turnpike_find_jdk
cd "$root"
mvn -B -q -Pjmh -DskipTests test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/jmh.classpath >&2
# Defaults, used when no JMH option is given: 1 fork, 3 warm-up and 5 measured iterations of 1 s, average time
# in ns per operation. Giving any option (a word starting with -) replaces all of them.
args=("$@")
[[ " ${args[*]-} " == *" -"* ]] || args=(-f 1 -wi 3 -i 5 -w 1s -r 1s -bm avgt -tu ns ${args[@]+"${args[@]}"})
exec java --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
  -cp "target/test-classes:target/classes:$(cat target/jmh.classpath)" org.openjdk.jmh.Main "${args[@]}"
