#!/usr/bin/env bash
# System packages the kit needs, named as Debian packages: bubblewrap (the grading sandbox),
# chromium (the browser tests), npm (the course hub's proxy), python3-venv (the hub users' environment).
# Installs what is missing when run as root with apt-get; otherwise says what to install.
# Usage: tools/system-deps.sh bubblewrap [chromium] [npm] [python3-venv]
set -euo pipefail
# How to tell that a package is there: a command it installs, or a probe that succeeds.
declare -A probe_of=(
  [bubblewrap]="command -v bwrap"
  [chromium]="command -v chromium"
  [npm]="command -v npm"
  [python3-venv]="${HUB_PYTHON:-/usr/bin/python3} -c 'import ensurepip, venv'"
)
missing=()
for package in "$@"; do
  eval "${probe_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and rerun." >&2
  exit 1
fi
