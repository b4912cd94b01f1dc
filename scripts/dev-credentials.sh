#!/bin/sh
# Development database credentials, generated once on this machine and kept
# under .dev/ (git-ignored). The Tiltfile turns them into the Secret voting-db.
# Idempotent: an existing password is kept, so the database volume stays usable.
# On failure it says which step failed.
set -eu
dir="${1:-.dev/credentials}"

step="create $dir"
trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dev-credentials: failed to $step (exit $status)" >&2; fi' EXIT

mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -s "$dir/POSTGRES_PASSWORD" ]; then
  umask 077
  step="read 32 random bytes from /dev/urandom"
  # 32 random bytes, hex: no characters that need quoting in a URL or a shell.
  password=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  # A pipeline's status is its last command's: check what od produced.
  [ "${#password}" -eq 64 ]
  step="write $dir/POSTGRES_PASSWORD"
  printf '%s' "$password" >"$dir/POSTGRES_PASSWORD"
  echo "created $dir/POSTGRES_PASSWORD" >&2
fi
