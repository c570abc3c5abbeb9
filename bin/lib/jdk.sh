# shellcheck shell=bash
# Finds a JDK 25 for Turnpike's scripts; sourced by bin/turnpike, bin/test (and so .ci/run).
#
#   turnpike_find_jdk   sets and exports JAVA_HOME to a JDK 25 and puts its bin/ first on PATH:
#                       $JAVA_HOME when its java is version 25, else the first /usr/lib/jvm/*25* with bin/java.
#                       Prints what to do and returns 1 when there is none. Also quiets Maven's Unsafe warning.

TURNPIKE_JAVA_FEATURE=25

# The feature version ("25") of the java binary $1, or nothing when it does not run. A JDK's release file says
# it without starting a JVM (that costs 40-100 ms on every launch of bin/turnpike); java -version only when the
# file is missing or unreadable.
turnpike_java_feature() {
  local out line version release
  release="${1%/bin/java}/release"
  if [[ "$1" == */bin/java && -r "$release" ]] && line=$(grep -m1 '^JAVA_VERSION="' "$release"); then
    version=${line#JAVA_VERSION=\"}
    version=${version%%\"*}
    version=${version#1.}
    if [[ -n "$version" ]]; then
      printf '%s\n' "${version%%[.+-]*}"
      return 0
    fi
  fi
  out=$("$1" -version 2>&1) || return 1
  line=$(grep -m1 ' version "' <<< "$out") || return 1
  version=${line#*version \"}
  version=${version%%\"*}
  version=${version#1.}           # 1.8.0_x -> 8.0_x (old numbering)
  printf '%s\n' "${version%%[.+-]*}"
}

turnpike_find_jdk() {
  local candidate
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] \
      && [[ "$(turnpike_java_feature "$JAVA_HOME/bin/java")" == "$TURNPIKE_JAVA_FEATURE" ]]; then
    candidate=$JAVA_HOME
  else
    candidate=
    local dir
    for dir in /usr/lib/jvm/*"$TURNPIKE_JAVA_FEATURE"*; do
      if [[ -x "$dir/bin/java" ]] \
          && [[ "$(turnpike_java_feature "$dir/bin/java")" == "$TURNPIKE_JAVA_FEATURE" ]]; then
        candidate=$dir
        break
      fi
    done
  fi
  if [[ -z "$candidate" ]]; then
    {
      echo "turnpike: no JDK $TURNPIKE_JAVA_FEATURE found."
      if [[ -n "${JAVA_HOME:-}" ]]; then
        echo "  JAVA_HOME=$JAVA_HOME is not a JDK $TURNPIKE_JAVA_FEATURE,"
      else
        echo "  JAVA_HOME is not set,"
      fi
      echo "  and no /usr/lib/jvm/*$TURNPIKE_JAVA_FEATURE* holds one."
      echo "  Install a JDK $TURNPIKE_JAVA_FEATURE (for example Eclipse Temurin $TURNPIKE_JAVA_FEATURE) under /usr/lib/jvm,"
      echo "  or set JAVA_HOME to one."
    } >&2
    return 1
  fi
  export JAVA_HOME=$candidate
  export PATH="$JAVA_HOME/bin:$PATH"
  # Maven 3.8's own libraries use sun.misc.Unsafe, which JDK 25 warns about on every run; allow it quietly.
  if [[ " ${MAVEN_OPTS:-} " != *" --sun-misc-unsafe-memory-access="* ]]; then
    export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow${MAVEN_OPTS:+ $MAVEN_OPTS}"
  fi
}
