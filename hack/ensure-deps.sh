#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only when they are missing. Needs root or sudo.
set -euo pipefail
need=()
for pair in openssl:openssl curl:curl git:git flock:util-linux redis-server:redis-server; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
((${#need[@]} == 0)) && exit 0
echo "ensure-deps: installing ${need[*]}" >&2
sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
