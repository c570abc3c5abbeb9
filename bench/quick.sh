#!/usr/bin/env bash
# The first side-by-side, now a shortcut into the full harness: Turnpike, nginx and HAProxy on one core each,
# proxying over keep-alive and serving a 1 KiB file, with short windows; results in bench/results/quick.md.
# Arguments go to bench/run.sh (other scenarios, --profile); see bench/README.md.
(($#)) || set -- proxy-keepalive static-1k
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/run.sh" --quick "$@"
