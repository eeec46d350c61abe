#!/usr/bin/env bash
# System packages the kit needs, named as Debian packages: bubblewrap (the grading sandbox),
# chromium (the browser tests). Installs what is missing when run as root with apt-get;
# otherwise says what to install. Usage: tools/system-deps.sh bubblewrap [chromium]
set -euo pipefail
declare -A command_of=([bubblewrap]=bwrap [chromium]=chromium)
missing=()
for package in "$@"; do
  command -v "${command_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
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
