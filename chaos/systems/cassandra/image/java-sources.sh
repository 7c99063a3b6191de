#!/bin/sh
# Prints apt's sources for an older Debian suite (Java 11 is only in bullseye)
# and its security suite, which alone carries the JRE's security updates. The
# mirrors are the base's own, read from the source files given (one-line or
# deb822); without a security mirror there, Debian's is used.
# Usage: java-sources.sh SUITE FILE...
set -eu
suite="$1"
shift
uris="$(for file in "$@"; do
  if [ -f "$file" ]; then sed 's/#.*//' "$file"; fi
done | grep -oE 'https?://[^[:space:]]+' | sed 's|/*$||')" || true
mirror="$(printf '%s\n' "$uris" | grep -E '/debian$' | head -n1)" || true
security="$(printf '%s\n' "$uris" | grep -E '/debian-security$' | head -n1)" || true
if [ -z "$mirror" ]; then
  echo "java-sources.sh: no Debian mirror (a URI ending in /debian) in: $*" >&2
  exit 1
fi
echo "deb $mirror $suite main"
echo "deb ${security:-http://security.debian.org/debian-security} $suite-security main"
