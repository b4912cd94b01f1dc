#!/bin/sh
# The development TLS certificate for vote.localhost and result.localhost,
# written to .dev/tls/ (git-ignored): tls.crt, tls.key and ca.crt (the CA that
# signed it, for clients such as scripts/castVotes.ts via NODE_EXTRA_CA_CERTS).
# mkcert when present (its CA is trusted by your browser after `mkcert -install`);
# otherwise openssl makes a local CA, which browsers will warn about. That CA is
# name-constrained to localhost and its subdomains, and its key is deleted once
# the certificate is signed, so trusting ca.crt trusts nothing else.
# Idempotent: an existing certificate is kept. On failure it says which step
# failed and shows the tool's own error.
set -eu
dir="${1:-.dev/tls}"
hosts="vote.localhost result.localhost"

step="create $dir"
trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dev-tls: failed to $step (exit $status)" >&2; fi' EXIT

mkdir -p "$dir"
chmod 700 "$dir"
if [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ] && [ -s "$dir/ca.crt" ]; then
  exit 0
fi
umask 077
if command -v mkcert >/dev/null 2>&1; then
  step="make the certificate with mkcert"
  # shellcheck disable=SC2086 # the host list is meant to split
  mkcert -cert-file "$dir/tls.crt" -key-file "$dir/tls.key" $hosts >&2
  step="copy mkcert's CA certificate"
  cp "$(mkcert -CAROOT)/rootCA.pem" "$dir/ca.crt"
  echo "created $dir/tls.crt with mkcert" >&2
  exit 0
fi
step="find mkcert (preferred) or openssl: install one"
command -v openssl >/dev/null 2>&1

# openssl is chatty on success; its output is shown only when a step fails.
log="$dir/openssl.log"
openssl_step() {
  step="$1"
  shift
  if ! openssl "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
}
rm -f "$dir/tls.crt" "$dir/ca.key"

# RFC 5280: a DNS constraint "localhost" permits localhost and every name under it.
openssl_step "make the local CA" req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=voting-app local dev CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "nameConstraints=critical,permitted;DNS:localhost,permitted;IP:127.0.0.0/255.0.0.0"
openssl_step "make the certificate's key and request" req -newkey rsa:2048 -nodes -subj "/CN=vote.localhost" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr"
printf 'subjectAltName=DNS:vote.localhost,DNS:result.localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$dir/tls.ext"
openssl_step "sign the certificate with the local CA" x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" \
  -CAkey "$dir/ca.key" -CAcreateserial -days 825 -extfile "$dir/tls.ext" -out "$dir/tls.crt"
openssl_step "verify the certificate against the local CA" verify -CAfile "$dir/ca.crt" "$dir/tls.crt"
# The certificate is made once: nothing needs the CA key again, and without it
# nobody can sign anything else with a CA the user may have trusted.
step="delete the CA key"
rm -f "$dir/ca.key" "$dir/tls.csr" "$dir/tls.ext" "$dir/ca.srl" "$log"
echo "created $dir/tls.crt signed by the local CA $dir/ca.crt (not trusted by browsers; mkcert is)" >&2
