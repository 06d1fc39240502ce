#!/usr/bin/env bash
# Install what dagctl needs from Debian 12's packages, idempotently: only
# packages that are missing are installed, and `apt-get update` runs only
# when something is. Usage: .ci/install-deps.sh build|demo|test
#
# `test` installs every tool any test uses: a test never installs anything
# itself, and a tool it cannot find fails it (tests never skip). Besides
# packages it installs s3rver's npm modules (tests/integration/s3rver) and
# makes sure apt's package lists exist (test_docker_compose.sh reads them).
set -euo pipefail

# binutils: every build reads dagctl's NEEDED entries with readelf
# (cmake/check_needed.sh); gcc pulls it in, but the build names it.
# libjs-chart.js: Chart.js, compiled into the binary for the dashboard (the
# test set includes this set, so test_dashboard_page has it too).
build_pkgs=(
  gcc make cmake pkg-config binutils
  libuv1-dev libyaml-dev libsqlite3-dev libjansson-dev libhttp-parser-dev
  libcurl4-openssl-dev librdkafka-dev libesmtp-dev libssl-dev uuid-dev
  tzdata zlib1g-dev libpq-dev libjs-chart.js libsodium-dev libssh-dev
)
# make demo prints the gold tables with the sqlite3 shell.
demo_pkgs=(sqlite3)
# Who needs what: cmocka (units), clang + libclang-rt (fuzzers), valgrind;
# sqlite3, curl, python3 + python3-yaml (every integration test); aiosmtpd
# (test_alerts_*), openssl (TLS certificates), chromium (test_web_page),
# procps, kcat (test_kafka_pipeline), docker-compose + binutils
# (test_docker_compose: readelf), postgresql (initdb, pg_ctl, psql:
# test_warehouse_pg, test_transform_*), nodejs (s3rver: test_lake_s3,
# test_spotify_s3; npm below), zsh (test_cli_completion; script(1) for
# test_cli_table comes with bsdutils, which every Debian system has),
# python3-prometheus-client (test_metrics parses /metrics with it),
# openssh-server and openssh-client (test_ssh_task: sshd, ssh-keygen).
test_pkgs=(
  libcmocka-dev clang libclang-rt-14-dev valgrind sqlite3 curl python3
  python3-yaml python3-aiosmtpd openssl chromium procps kcat
  docker-compose binutils
  postgresql
  nodejs
  zsh
  python3-prometheus-client
  openssh-server openssh-client
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
# npm is its own package in Debian, but part of NodeSource's nodejs: ask
# for the package only when there is no npm.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null; then
  missing+=(npm)
fi
# Without package lists apt-cache knows no package (a fresh container).
lists_missing=0
if [ "${1:-build}" = test ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  lists_missing=1
fi

sudo=""
if [ ${#missing[@]} -gt 0 ] || [ "$lists_missing" = 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      { echo "need root (or sudo) to install: ${missing[*]:-package lists}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# s3rver, the S3 server of the lake tests, from the lock file.
if [ "${1:-build}" = test ]; then
  s3rver=$(cd "$(dirname "$0")/.." && pwd)/tests/integration/s3rver
  if [ ! -d "$s3rver/node_modules/s3rver" ]; then
    echo "installing s3rver (npm ci in $s3rver)"
    (cd "$s3rver" && npm ci --no-audit --no-fund >/dev/null)
  fi
fi
