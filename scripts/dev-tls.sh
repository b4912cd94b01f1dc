#!/bin/sh
# The development TLS certificate for vote.localhost and result.localhost,
# written to .dev/tls/ (git-ignored): tls.crt, tls.key and ca.crt (the CA that
# signed it, for clients such as scripts/castVotes.ts via NODE_EXTRA_CA_CERTS).
# mkcert when present (its CA is trusted by your browser after `mkcert -install`);
# otherwise openssl makes a local CA, which browsers will warn about.
# Idempotent: an existing certificate is kept.
set -eu
dir="${1:-.dev/tls}"
hosts="vote.localhost result.localhost"
mkdir -p "$dir"
chmod 700 "$dir"
if [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ] && [ -s "$dir/ca.crt" ]; then
  exit 0
fi
umask 077
if command -v mkcert >/dev/null 2>&1; then
  # shellcheck disable=SC2086 # the host list is meant to split
  mkcert -cert-file "$dir/tls.crt" -key-file "$dir/tls.key" $hosts >&2
  cp "$(mkcert -CAROOT)/rootCA.pem" "$dir/ca.crt"
  echo "created $dir/tls.crt with mkcert" >&2
  exit 0
fi
command -v openssl >/dev/null 2>&1 || { echo "dev-tls: install mkcert (preferred) or openssl" >&2; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=voting-app local dev CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=vote.localhost" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:vote.localhost,DNS:result.localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' > "$dir/tls.ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 825 -extfile "$dir/tls.ext" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/tls.ext" "$dir/ca.srl"
echo "created $dir/tls.crt signed by the local CA $dir/ca.crt (not trusted by browsers; mkcert is)" >&2
