#!/bin/sh
# Development database credentials, generated once on this machine and kept
# under .dev/ (git-ignored). The Tiltfile turns them into the Secret voting-db.
# Idempotent: an existing password is kept, so the database volume stays usable.
set -eu
dir="${1:-.dev/credentials}"
mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -s "$dir/POSTGRES_PASSWORD" ]; then
  umask 077
  # 32 random bytes, hex: no characters that need quoting in a URL or a shell.
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$dir/POSTGRES_PASSWORD"
  echo "created $dir/POSTGRES_PASSWORD" >&2
fi
