#!/usr/bin/env bash
# Install what dagctl needs from Debian 12's packages, idempotently: only
# packages that are missing are installed, and `apt-get update` runs only
# when something is. Usage: .ci/install-deps.sh build|test
set -euo pipefail

build_pkgs=(
  gcc make cmake pkg-config
  libuv1-dev libyaml-dev libsqlite3-dev libjansson-dev libhttp-parser-dev
  libcurl4-openssl-dev librdkafka-dev libesmtp-dev libssl-dev uuid-dev
  tzdata sqlite3
  zlib1g-dev libpq-dev
)
test_pkgs=(
  libcmocka-dev clang libclang-rt-14-dev valgrind sqlite3 curl python3
  python3-aiosmtpd openssl chromium procps
  docker-compose
  postgresql
)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
