#!/usr/bin/env bash
# Copies the Kafka broker/tools/client jars named in pom.xml into ./libs (gitignored), for
# test/brokers/kafka-broker.ts and java-perf.ts. Does nothing when libs/ is newer than the pom,
# so CI and local runs pay for Maven only once. Usage: bash test/brokers/kafka/fetch-jars.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
libs="$here/libs"
stamp="$libs/.fetched"
if [[ -f "$stamp" && "$stamp" -nt "$here/pom.xml" ]]; then
  echo "kafka jars up to date in $libs ($(ls "$libs"/*.jar | wc -l) jars)"
  exit 0
fi
# Build into a sibling directory and swap it in, so an interrupted run never leaves a libs/
# that looks complete.
tmp="$libs.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
# -q leaves only errors (and Debian's mvn a few stray ANSI resets): show the output on failure.
if ! out="$(mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1)"; then
  printf '%s\n' "$out" >&2
  echo "fetch-jars.sh: mvn dependency:copy-dependencies failed (needs Maven and Maven Central or a filled ~/.m2)" >&2
  exit 1
fi
touch "$tmp/.fetched"
rm -rf "$libs"
mv "$tmp" "$libs"
echo "fetched $(ls "$libs"/*.jar | wc -l) kafka jars into $libs"
