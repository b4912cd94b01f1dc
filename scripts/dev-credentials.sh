#!/bin/sh
# Development database credentials, generated once on this machine and kept
# under .dev/ (git-ignored), one file per key of the Secret voting-db, which the
# Tiltfile makes from them.
# Idempotent: an existing password is kept, so the database volume stays usable.
# On failure it says which step failed.
set -eu
dir="${1:-.dev/credentials}"

step="create $dir"
trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dev-credentials: failed to $step (exit $status)" >&2; fi' EXIT

mkdir -p "$dir"
chmod 700 "$dir"
# One password per database role: the owner's (migrate, and the postgres image's
# superuser), the writer's (worker) and the reader's (result).
for key in POSTGRES_PASSWORD POSTGRES_WRITER_PASSWORD POSTGRES_READER_PASSWORD; do
  if [ ! -s "$dir/$key" ]; then
    umask 077
    step="read 32 random bytes from /dev/urandom"
    # 32 random bytes, hex: no characters that need quoting in a URL or a shell.
    password=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
    # A pipeline's status is its last command's: check what od produced.
    [ "${#password}" -eq 64 ]
    step="write $dir/$key"
    printf '%s' "$password" >"$dir/$key"
    echo "created $dir/$key" >&2
  fi
done
