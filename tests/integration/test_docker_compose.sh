#!/usr/bin/env bash
# docker/: the compose stack and the image, checked as far as a machine
# without a Docker engine allows. Nothing here builds or runs a container.
#
#  (a) `docker-compose config` accepts docker/compose.yaml with a copy of
#      .env.example, and refuses it, naming the variable, without one;
#  (b) `dagctl config check` accepts docker/dagctl.yaml with exactly the
#      environment compose gives the dagctl service, and `config show`
#      reports every secret as *** set from that environment;
#  (c) every host the config names (Kafka brokers, the lake endpoint, the
#      warehouse, the SMTP relay) is a service of the compose file, and the
#      names both files must share (bucket, database, user) agree;
#  (d) the Dockerfile's runtime packages exist in Debian 12, and every
#      shared library of build/dagctl and build/plugins/*.so comes from one
#      of them (or from what they pull in, or the base image);
#  (e) the build stage's COPY list is enough to configure the project, the
#      image's CMD is accepted by dagctl scheduler, and its HEALTHCHECK
#      command passes against a running scheduler and fails once it stops.
#
# docker-compose (Debian's, v1), dpkg and apt's package lists are required:
# .ci/install-deps.sh test provides them. A missing one fails the test.
. "$(dirname "$0")/lib.sh"

SRC=${DAGCTL_SOURCE_DIR:?DAGCTL_SOURCE_DIR must name the repository}
DOCKER=$SRC/docker
BUILD=${DAGCTL_BUILD_DIR:-$(dirname "$DAGCTL_BIN")}

need dpkg apt-cache docker-compose readelf ldd
# Debian's docker-compose is Python with PyYAML; its interpreter parses
# what it prints (a version manager's python3 may lack yaml).
YPY=/usr/bin/python3
"$YPY" -c 'import yaml' 2>/dev/null || fail "$YPY has no yaml module (python3-yaml)"

# --- (a) docker-compose config ---------------------------------------------------------
log "(a) docker-compose config"
cp "$DOCKER/.env.example" "$TMP/env"
# No Docker engine is needed: config only parses, interpolates and validates.
docker-compose -f "$DOCKER/compose.yaml" --env-file "$TMP/env" config >"$TMP/compose.yaml" \
  2>"$TMP/compose.err" || fail "docker-compose config: $(cat "$TMP/compose.err")"
services=$("$YPY" -c 'import sys, yaml
print("\n".join(yaml.safe_load(open(sys.argv[1]))["services"]))' "$TMP/compose.yaml")
for s in dagctl kafka minio minio-init postgres mailpit; do
  grep -qx "$s" <<<"$services" || fail "no service '$s' in compose.yaml (has: $services)"
done
# Without the secrets compose stops and says which variable is missing,
# rather than starting dagctl with an empty token.
: >"$TMP/empty.env"
if docker-compose -f "$DOCKER/compose.yaml" --env-file "$TMP/empty.env" config \
  >/dev/null 2>"$TMP/noenv.err"; then
  fail "docker-compose config passed without any .env"
fi
grep -q 'DAGCTL_WEB_TOKEN in docker/.env' "$TMP/noenv.err" ||
  fail "missing-variable message: $(head -c 400 "$TMP/noenv.err")"
# Every variable compose reads is in .env.example, and nothing else is.
used=$(grep -o '\${[A-Z_][A-Z0-9_]*' "$DOCKER/compose.yaml" | cut -c3- | sort -u)
listed=$(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$DOCKER/.env.example" | sort -u)
assert_eq "$listed" "$used" "variables of .env.example vs those compose.yaml reads"

# Facts from the resolved compose file, one per line as KEY=VALUE.
"$YPY" - "$TMP/compose.yaml" >"$TMP/facts" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
d = svc["dagctl"]
env = d.get("environment") or {}
for k, v in sorted(env.items()):
    print("ENV %s=%s" % (k, v))
for v in d.get("volumes", []):
    src, dst = v.split(":")[0], v.split(":")[1]
    print("MOUNT %s=%s" % (dst, src))
print("PORTS=%s" % " ".join(str(p) for p in d.get("ports", [])))
print("BUILD_CONTEXT=%s" % d["build"]["context"])
print("DOCKERFILE=%s" % d["build"]["dockerfile"])
print("BUCKET=%s" % svc["minio-init"]["environment"]["LAKE_BUCKET"])
pg = svc["postgres"]["environment"]
print("PG_USER=%s" % pg["POSTGRES_USER"])
print("PG_DB=%s" % pg["POSTGRES_DB"])
print("KAFKA_ADVERTISED=%s" % svc["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"])
print("MINIO_USER=%s" % svc["minio"]["environment"]["MINIO_ROOT_USER"])
print("MINIO_PASSWORD=%s" % svc["minio"]["environment"]["MINIO_ROOT_PASSWORD"])
EOF
fact() { sed -n "s|^$1=||p" "$TMP/facts"; }
assert_eq "$(fact 'MOUNT /var/lib/dagctl/dagctl.yaml')" "$DOCKER/dagctl.yaml" \
  "the file compose mounts as DAGCTL_HOME/dagctl.yaml"
assert_eq "$(fact 'MOUNT /var/lib/dagctl')" "dagctl-state" "the state volume"
assert_eq "$(fact PORTS)" "127.0.0.1:8080:8080/tcp" "dagctl's published port"
assert_eq "$(fact BUILD_CONTEXT)" "$SRC" "the build context (the repository root)"
assert_eq "$(fact DOCKERFILE)" "docker/Dockerfile" "the Dockerfile"
[ -f "$SRC/$(fact DOCKERFILE)" ] || fail "compose builds from a missing $(fact DOCKERFILE)"

# The scaleout profile: the state on its own PostgreSQL, two schedulers and
# two workers, all of the one image, each told where the state is.
docker-compose -f "$DOCKER/compose.yaml" --env-file "$TMP/env" --profile scaleout config \
  >"$TMP/scaleout.yaml" 2>"$TMP/scaleout.err" || fail "profile scaleout: $(cat "$TMP/scaleout.err")"
"$YPY" - "$TMP/scaleout.yaml" >"$TMP/scaleout.facts" <<'EOF' || fail "profile scaleout: $(cat "$TMP/scaleout.facts")"
import sys, yaml
svc = yaml.safe_load(open(sys.argv[1]))["services"]
db = svc["state-db"]["environment"]
for name in ("scheduler-1", "scheduler-2", "worker-1", "worker-2"):
    s = svc[name]
    env = s["environment"]
    assert env["DAGCTL__CORE__STATE"] == "postgresql://%s@state-db:5432/%s" % (
        db["POSTGRES_USER"], db["POSTGRES_DB"]), (name, env["DAGCTL__CORE__STATE"])
    assert env["DAGCTL__CORE__STATE_PASSWORD"] == db["POSTGRES_PASSWORD"], name
    assert env["DAGCTL__CORE__EXECUTOR"] == "workers", name
    assert "state-db" in s["depends_on"], name
    # Started only with --profile scaleout: the default stack is unchanged.
    assert s.get("profiles") == ["scaleout"], (name, s.get("profiles"))
    cmd = s.get("command") or ["scheduler"]
    assert cmd[0] == ("worker" if name.startswith("worker") else "scheduler"), (name, cmd)
print("ok")
EOF

# --- (b) dagctl config check with the service's environment ----------------------------
log "(b) dagctl config check --config docker/dagctl.yaml"
# Exactly what the container gets: the service's environment, plus the
# image's ENV (DAGCTL_HOME, DAGCTL_DAGS); nothing from this shell.
svc_env=()
while IFS= read -r kv; do svc_env+=("$kv"); done < <(sed -n 's/^ENV //p' "$TMP/facts")
[ "${#svc_env[@]}" -ge 5 ] || fail "dagctl service environment: ${svc_env[*]}"
image_env=()
while IFS= read -r kv; do image_env+=("$kv"); done < <("$PYTHON" - "$DOCKER/Dockerfile" <<'EOF'
import shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
for line in text.split(" AS runtime", 1)[1].splitlines():
    if line.startswith("ENV "):
        print("\n".join(kv for kv in shlex.split(line[4:]) if kv.startswith("DAGCTL_")))
EOF
)
assert_eq "${image_env[*]}" "DAGCTL_HOME=/var/lib/dagctl DAGCTL_DAGS=/opt/dagctl/dags" \
  "the image's ENV"
in_container() { env -i PATH="$PATH" "${image_env[@]}" "${svc_env[@]}" "$@"; }

out=$(in_container "$DAGCTL_BIN" config check --config "$DOCKER/dagctl.yaml" 2>&1) ||
  fail "dagctl config check rejected docker/dagctl.yaml: $out"
assert_eq "$out" "ok" "config check output"

in_container "$DAGCTL_BIN" config show --json --config "$DOCKER/dagctl.yaml" >"$TMP/show.json"
setting() { pyjson "[s['$2'] for s in d['settings'] if s['section'] + '.' + s['key'] == '$1'][0]" \
  <"$TMP/show.json"; }
for s in web.token smtp.password lake.secret_access_key warehouse.password; do
  assert_eq "$(setting "$s" value)" "***" "$s as shown"
  env_name=$(echo "DAGCTL__${s/./__}" | tr a-z A-Z)
  assert_eq "$(setting "$s" source)" "$env_name" "where $s comes from"
done
assert_eq "$(setting lake.access_key_id source)" "DAGCTL__LAKE__ACCESS_KEY_ID" \
  "where lake.access_key_id comes from"
assert_eq "$(setting lake.access_key_id value)" "$(fact MINIO_USER)" \
  "dagctl's S3 key is MinIO's account"
assert_eq "$(pyjson "d['home']" <"$TMP/show.json")" "/var/lib/dagctl" "DAGCTL_HOME"
in_container "$DAGCTL_BIN" config show --config "$DOCKER/dagctl.yaml" >"$TMP/show.txt"
line=$(grep -n '^  host: mailpit$' "$DOCKER/dagctl.yaml" | cut -d: -f1)
grep -Eqx "smtp\.host = mailpit +# $DOCKER/dagctl.yaml:$line:9" "$TMP/show.txt" ||
  fail "config show, smtp.host: $(grep smtp.host "$TMP/show.txt")"
grep -Eqx 'web\.token = \*\*\* +# DAGCTL__WEB__TOKEN' "$TMP/show.txt" ||
  fail "config show, web.token: $(grep web.token "$TMP/show.txt")"
grep -Eqx 'core\.dags_folder = /opt/dagctl/dags +# DAGCTL_DAGS' "$TMP/show.txt" ||
  fail "config show, core.dags_folder: $(grep dags_folder "$TMP/show.txt")"
# The secret values themselves never reach the output.
for kv in "${svc_env[@]}"; do
  case $kv in *SECRET* | *PASSWORD* | *TOKEN*) ! grep -qF -- "${kv#*=}" "$TMP/show.json" ||
    fail "config show printed the value of ${kv%%=*}" ;;
  esac
done
# The file itself holds no secret: with the environment gone it still loads.
out=$(env -i PATH="$PATH" "${image_env[@]}" "$DAGCTL_BIN" config check \
  --config "$DOCKER/dagctl.yaml" 2>&1) || fail "dagctl.yaml needs the environment to load: $out"
! grep -Eiq '^[[:space:]]*[a-z_]*(password|secret|token)[a-z_]*:' "$DOCKER/dagctl.yaml" ||
  fail "docker/dagctl.yaml names a secret key: $(grep -Ei '(password|secret|token)[a-z_]*:' \
    "$DOCKER/dagctl.yaml")"
# And check can fail: one wrong key is reported with its place, exit 4.
sed 's/^  port: 1025$/  prot: 1025/' "$DOCKER/dagctl.yaml" >"$TMP/bad.yaml"
rc=0
in_container "$DAGCTL_BIN" config check --config "$TMP/bad.yaml" >"$TMP/bad.out" 2>&1 || rc=$?
assert_eq "$rc" 4 "config check exit status for a wrong key"
line=$(grep -n '^  prot: 1025$' "$TMP/bad.yaml" | cut -d: -f1)
assert_eq "$(cat "$TMP/bad.out")" \
  "$TMP/bad.yaml:$line:3: unknown key 'smtp.prot' (did you mean 'smtp.port'?)" \
  "config check diagnostic"

# --- (c) every host the config names is a compose service ------------------------------
log "(c) the config's hosts are compose services"
brokers=$(setting kafka.bootstrap_servers value)
for b in ${brokers//,/ }; do
  host=${b%:*}
  grep -qx "$host" <<<"$services" || fail "kafka broker host '$host' is not a compose service"
  grep -q "PLAINTEXT://$b" <<<"$(fact KAFKA_ADVERTISED)" ||
    fail "Kafka does not advertise $b (advertises $(fact KAFKA_ADVERTISED))"
done
url_part() { "$PYTHON" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]);
print({"host": p.hostname, "user": p.username, "path": p.path.lstrip("/"),
       "netloc": p.netloc}[sys.argv[2]] or "")' "$1" "$2"; }
lake_host=$(url_part "$(setting lake.endpoint value)" host)
wh_url=$(setting warehouse.url value)
wh_host=$(url_part "$wh_url" host)
smtp_host=$(setting smtp.host value)
for h in "$lake_host" "$wh_host" "$smtp_host"; do
  [ -n "$h" ] || fail "a connection in docker/dagctl.yaml has no host"
  grep -qx "$h" <<<"$services" || fail "host '$h' in docker/dagctl.yaml is not a compose service"
done
assert_eq "$lake_host" minio "the lake endpoint's service"
assert_eq "$wh_host" postgres "the warehouse's service"
assert_eq "$smtp_host" mailpit "the SMTP relay's service"
lake_url=$(setting lake.url value)
bucket=$(url_part "$lake_url" netloc)
assert_eq "$bucket" "$(fact BUCKET)" "the bucket of lake.url vs the one minio-init creates"
assert_eq "$(url_part "$wh_url" user)" "$(fact PG_USER)" "warehouse.url's user vs POSTGRES_USER"
assert_eq "$(url_part "$wh_url" path)" "$(fact PG_DB)" "warehouse.url's database vs POSTGRES_DB"
assert_eq "$(setting warehouse.password source)" DAGCTL__WAREHOUSE__PASSWORD \
  "the warehouse password's source"
pg_pass=$("$YPY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]
  ["postgres"]["environment"]["POSTGRES_PASSWORD"])' "$TMP/compose.yaml")
grep -qxF "DAGCTL__WAREHOUSE__PASSWORD=$pg_pass" <<<"$(printf '%s\n' "${svc_env[@]}")" ||
  fail "dagctl's warehouse password is not PostgreSQL's"
grep -qxF "DAGCTL__LAKE__SECRET_ACCESS_KEY=$(fact MINIO_PASSWORD)" \
  <<<"$(printf '%s\n' "${svc_env[@]}")" || fail "dagctl's S3 secret is not MinIO's"

# --- (d) the runtime packages and the binaries' libraries ------------------------------
log "(d) runtime packages vs ldd"
# Packages each stage installs: the words of its `apt-get install` commands.
stage_packages() {
  "$PYTHON" - "$DOCKER/Dockerfile" "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage, pkgs = None, []
for line in text.splitlines():
    m = re.match(r"\s*FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        stage = m.group(1)
        continue
    if stage != sys.argv[2] or "apt-get install" not in line:
        continue
    for cmd in line.split("&&"):
        if "apt-get install" not in cmd:
            continue
        words = cmd.split("apt-get install", 1)[1].split()
        pkgs += [w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w)]
print("\n".join(pkgs))
EOF
}
runtime_pkgs=$(stage_packages runtime)
build_pkgs=$(stage_packages build)
[ "$(wc -l <<<"$runtime_pkgs")" -ge 10 ] || fail "runtime packages parsed: $runtime_pkgs"
# The build stage installs at least .ci/install-deps.sh's build set.
deps_build=$(sed -n '/^build_pkgs=(/,/^)/p' "$SRC/.ci/install-deps.sh" | sed '1d;$d' | tr ' ' '\n' |
  sed '/^$/d')
[ -n "$deps_build" ] || fail "could not read the build set of .ci/install-deps.sh"
for p in $deps_build; do
  grep -qx "$p" <<<"$build_pkgs" || fail "the build stage does not install $p (.ci/install-deps.sh build)"
done
for p in curl tzdata ca-certificates; do
  grep -qx "$p" <<<"$runtime_pkgs" || fail "the runtime stage does not install $p"
done

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  log "SKIP (d): this is ${PRETTY_NAME:-not Debian 12}, not the image's Debian 12 (bookworm)"
else
  # Known to apt here, as this machine is the image's distribution. One
  # apt-cache call for all (each call loads the whole cache: seconds).
  known_pkgs() {
    apt-cache show --no-all-versions $runtime_pkgs $build_pkgs 2>/dev/null |
      sed -n 's/^Package: //p' | sort -u
  }
  known=$(known_pkgs)
  for p in $runtime_pkgs $build_pkgs; do
    grep -qx "$p" <<<"$known" ||
      fail "package '$p' of docker/Dockerfile does not exist in Debian 12" \
        "(or apt's package lists are missing: .ci/install-deps.sh test fetches them)"
  done
  # What apt installs with the runtime list (dependencies, recursively).
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $runtime_pkgs 2>/dev/null |
    sed -n 's/^\([a-z0-9][^ <:]*\).*/\1/p' | sort -u)
  # The C library is in every Debian image, and no Dockerfile names it.
  base_pkgs=libc6
  bins=("$BUILD/dagctl" "$BUILD"/plugins/*.so "$BUILD/plugins/dagctl-kafka-embed")
  [ -e "${bins[1]}" ] || fail "no plugins in $BUILD/plugins"
  if readelf -d "$BUILD/dagctl" | grep -Eq 'NEEDED.*lib(a|ub|t)san'; then
    log "SKIP (d) ldd: a sanitizer build links its runtime; the image builds without"
  else
    # Every library each binary loads: "BINARY SONAME PATH DIRECT|INDIRECT".
    for b in "${bins[@]}"; do
      needed=$(readelf -d "$b" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')
      ldd "$b" | awk -v b="$(basename "$b")" -v needed="$needed" '
        BEGIN { n = split(needed, a, "\n"); for (i = 1; i <= n; i++) direct[a[i]] = 1 }
        $2 == "=>" && substr($3, 1, 1) == "/" {
          print b, $1, $3, ($1 in direct) ? "direct" : "indirect" }'
    done >"$TMP/libs"
    [ "$(wc -l <"$TMP/libs")" -ge 10 ] || fail "ldd found only: $(cat "$TMP/libs")"
    # Their packages, in one dpkg -S call. /lib and /usr/lib are one folder
    # (merged /usr) but dpkg records each file under one of the two names.
    awk '{ p = $3; print p; if (p ~ /^\/usr\/lib\//) print substr(p, 5);
           else if (p ~ /^\/lib\//) print "/usr" p }' "$TMP/libs" | sort -u >"$TMP/paths"
    # (dpkg -S fails when any one name is unknown, as one of each pair is.)
    { xargs dpkg -S <"$TMP/paths" 2>/dev/null || true; } |
      sed -n 's|^\([^:]*\):[^ ]*: \(/.*\)$|\2 \1|p' | sed 's|^/usr/lib/|/lib/|' |
      sort -u >"$TMP/owners"
    while read -r b soname path how; do
      key=${path/#\/usr\/lib\//\/lib\/}
      pkg=$(awk -v k="$key" '$1 == k { print $2; exit }' "$TMP/owners")
      [ -n "$pkg" ] || fail "$b: $soname ($path) belongs to no Debian package"
      if [ "$how" = direct ]; then
        # Linked directly: the Dockerfile must name its package.
        grep -qx "$pkg" <<<"$runtime_pkgs" || [ "$pkg" = "$base_pkgs" ] ||
          fail "$b links $soname from $pkg, which docker/Dockerfile does not install"
      else
        grep -qx "$pkg" <<<"$closure" ||
          fail "$b loads $soname from $pkg, which no runtime package pulls in"
      fi
    done <"$TMP/libs"
    log "(d) $(wc -l <"$TMP/libs") library uses of ${#bins[@]} binaries map to the runtime packages"
  fi
fi

# --- (e) build inputs, CMD and HEALTHCHECK ---------------------------------------------
log "(e) the build stage's sources, CMD and HEALTHCHECK"
# Configure from only what the build stage copies: a source the CMake files
# need but the COPY list misses fails here, not in someone's docker build.
mkdir -p "$TMP/ctx"
copies=$(awk '/^FROM .* AS build/ { on = 1; next } /^FROM / { on = 0 } on && /^COPY / { print $2 }' \
  "$DOCKER/Dockerfile")
grep -qx 'CMakeLists.txt' <<<"$copies" || fail "the build stage copies no CMakeLists.txt"
for c in $copies; do
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard -- "$c" 2>/dev/null |
    xargs -0 -r cp --parents -t "$TMP/ctx") || fail "cannot copy $c"
done
cmake -S "$TMP/ctx" -B "$TMP/ctx/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAGCTL_TESTS=OFF \
  >"$TMP/cmake.log" 2>&1 || fail "configuring from the build stage's COPY list failed:
$(grep -A5 'CMake Error' "$TMP/cmake.log" | head -n 30)"
rm -rf "$TMP/ctx"
[ -f "$SRC/dags/spotify_data_basic.yaml" ] || fail "the image's dags/ lacks spotify_data_basic"

# The image's CMD, as dagctl parses it (--help after it: parse, do not run).
cmd=$("$PYTHON" -c 'import json, re, sys
t = open(sys.argv[1]).read()
print(" ".join(json.loads(re.search(r"^CMD (\[.*\])$", t, re.M).group(1))))' "$DOCKER/Dockerfile")
assert_eq "$cmd" "scheduler --bind 0.0.0.0" "the image's CMD"
grep -qx 'ENTRYPOINT \["dagctl"\]' "$DOCKER/Dockerfile" || fail "ENTRYPOINT is not dagctl"
# shellcheck disable=SC2086
dagctl $cmd --help >/dev/null || fail "dagctl rejects the image's CMD: dagctl $cmd"

# The HEALTHCHECK command, run by /bin/sh as Docker would, against a real
# scheduler's status page instead of 127.0.0.1:8080.
hc=$("$PYTHON" -c 'import re, sys
t = open(sys.argv[1]).read().replace("\\\n", " ")
print(re.search(r"^HEALTHCHECK .*? CMD (.*)$", t, re.M).group(1))' "$DOCKER/Dockerfile")
grep -q 'http://127.0.0.1:8080/api/v1/health' <<<"$hc" || fail "HEALTHCHECK URL: $hc"
write_dag ping <<EOF
dag_id: ping
tasks:
  - {id: ping, command: echo pong}
EOF
start_scheduler ping
[ -n "$SCHED_URL" ] || fail "the scheduler serves no status page"
hostport=$(url_part "$SCHED_URL" netloc)
hc_here=${hc//127.0.0.1:8080/$hostport}
sh -c "$hc_here" || fail "HEALTHCHECK fails against a healthy scheduler: $hc_here"
stop_scheduler
if sh -c "$hc_here" 2>/dev/null; then fail "HEALTHCHECK passes with no scheduler running"; fi

log "no Docker engine here: the images were neither built nor run"
