#!/usr/bin/env bash
# Install what dagctl needs from Debian 12's packages, idempotently: only
# packages that are missing are installed, and `apt-get update` runs only
# when something is. Usage: .ci/install-deps.sh build|demo|test
set -euo pipefail

build_pkgs=(
  gcc make cmake pkg-config
  libuv1-dev libyaml-dev libsqlite3-dev libjansson-dev libhttp-parser-dev
  libcurl4-openssl-dev librdkafka-dev libesmtp-dev libssl-dev uuid-dev
  tzdata zlib1g-dev libpq-dev
)
# make demo prints the gold tables with the sqlite3 shell.
demo_pkgs=(sqlite3)
test_pkgs=(
  libcmocka-dev clang libclang-rt-14-dev valgrind sqlite3 curl python3
  python3-aiosmtpd openssl chromium procps kcat
  docker-compose
  postgresql
)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  demo) want+=("${demo_pkgs[@]}") ;;
  test) want+=("${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

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
