#!/bin/sh
# Rebuilds view-agent.jar from ViewAgent.java with a JDK (8 or later) on PATH.
# The jar is kept in the repository because the official image has no
# compiler; its manifest records the source's SHA-256, and a unit test fails
# when the source changed without a rebuild.
set -eu
cd "$(dirname "$0")"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
javac --release 8 -d "$build" ViewAgent.java
{
  echo "Premain-Class: ViewAgent"
  echo "Source-SHA256: $(sha256sum ViewAgent.java | cut -d' ' -f1)"
} > "$build/manifest.txt"
# A fixed timestamp keeps the jar byte-identical across rebuilds.
find "$build" -exec touch -d '2000-01-01T00:00:00Z' {} +
jar --create --file view-agent.jar --manifest "$build/manifest.txt" --date 2000-01-01T00:00:00Z -C "$build" ViewAgent.class
