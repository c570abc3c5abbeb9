#!/usr/bin/env bash
# Regenerates the TEST-ONLY certificates of examples/tls.yaml. Their private keys are published in this
# repository: anyone can impersonate these names with them. Never use them outside a local trial.
set -euo pipefail
cd "$(dirname "$0")"
days=3650
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
issue() { # name ca-base subject san-or-empty key-options...
  local name=$1 ca=$2 subject=$3 san=$4; shift 4
  openssl req "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  if [[ -n "$san" ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$name.ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' > "$name.ext"
  fi
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days $days -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  cat "$name.crt" "$ca.pem" > "$name.pem"   # the chain: certificate first, then its issuer
  rm -f "$name.csr" "$name.ext" "$name.crt"
}
openssl req -x509 "${ec[@]}" -nodes -keyout ca.key -out ca.pem -days $days \
  -subj "/CN=Turnpike example CA (TEST ONLY)" 2>/dev/null
openssl req -x509 "${ec[@]}" -nodes -keyout clients-ca.key -out clients-ca.pem -days $days \
  -subj "/CN=Turnpike example client CA (TEST ONLY)" 2>/dev/null
issue localhost ca "/CN=localhost" "DNS:localhost,DNS:*.localhost" "${ec[@]}"
issue admin.localhost ca "/CN=admin.localhost" "DNS:admin.localhost" -newkey rsa:2048
openssl rsa -in admin.localhost.key -out admin.localhost.key -traditional 2>/dev/null   # PKCS#1, as older tools write
issue client clients-ca "/O=Example/CN=demo-client" "" "${ec[@]}"
rm -f ca.key clients-ca.key ca.srl clients-ca.srl
