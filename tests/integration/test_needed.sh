#!/usr/bin/env bash
# test_needed.sh - dagctl needs no librdkafka, libpq, libcurl nor
# libesmtp, and the check says so.
#
# cmake/check_needed.sh runs in every build (the check_needed target). Here:
# it passes on the built dagctl, whose NEEDED entries hold no librdkafka;
# it fails, naming the library, on binaries that do need it (the kafka
# plugin and its embedded cluster), so a check that cannot fail would be
# caught; and it fails on a file that is not an ELF binary.
. "$(dirname "$0")/lib.sh"
need readelf

: "${DAGCTL_BUILD_DIR:?DAGCTL_BUILD_DIR must name the build folder}"
CHECK=$DAGCTL_SOURCE_DIR/cmake/check_needed.sh
EMBED=$DAGCTL_BUILD_DIR/plugins/dagctl-kafka-embed
PLUGIN=$DAGCTL_BUILD_DIR/plugins/kafka.so
for f in "$DAGCTL_BIN" "$EMBED" "$PLUGIN"; do
  [ -e "$f" ] || fail "not built: $f"
done

# dagctl: clean, and librdkafka truly absent from its entries.
out=$(bash "$CHECK" "$DAGCTL_BIN" librdkafka) || fail "check refused dagctl: $out"
readelf -d "$DAGCTL_BIN" | grep -q '(NEEDED)' || fail "dagctl has no NEEDED entries to check"
if readelf -d "$DAGCTL_BIN" | grep '(NEEDED)' | grep -q librdkafka; then
  fail "dagctl needs librdkafka"
fi
log "dagctl needs no librdkafka"

# libpq is loaded on first use (tasks/support/pq_lazy.c): not a NEEDED
# entry, and not loaded by a process that never talks to PostgreSQL (the
# PostgreSQL tests show it loaded when it is used).
out=$(bash "$CHECK" "$DAGCTL_BIN" libpq) || fail "check refused dagctl: $out"
LD_DEBUG=libs "$DAGCTL_BIN" version >"$TMP/version.out" 2>"$TMP/ld_debug" ||
  fail "dagctl version failed: $(cat "$TMP/version.out")"
grep -q 'calling init' "$TMP/ld_debug" || fail "LD_DEBUG=libs printed nothing to check"
if grep -q 'libpq\.so' "$TMP/ld_debug"; then
  fail "dagctl version loaded libpq: $(grep 'libpq' "$TMP/ld_debug" | head -n 3)"
fi
log "dagctl version loads no libpq"

# libcurl likewise (tasks/support/curl_lazy.c): not a NEEDED entry, and not
# loaded by `dagctl version` nor by the whole path of a shell task (`dagctl
# test`: the DAG, the state store, the spawn, the task's end); the unit test
# test_curl_lazy shows it loaded on first use.
# libesmtp too (scheduler/alerts/esmtp_lazy.c), which the SMTP tests
# (test_alerts_smtp*) show loaded and sending.
for lib in libcurl libesmtp; do
  out=$(bash "$CHECK" "$DAGCTL_BIN" $lib) || fail "check refused dagctl: $out"
  if grep -q "$lib\.so" "$TMP/ld_debug"; then
    fail "dagctl version loaded $lib: $(grep "$lib" "$TMP/ld_debug" | head -n 3)"
  fi
done
write_dag shell_one <<EOF2
dag_id: shell_one
tasks:
  - id: only
    command: $FAKE_TASK
EOF2
LD_DEBUG=libs timeout 60 "$DAGCTL_BIN" test shell_one --quiet >"$TMP/test.out" 2>"$TMP/ld_debug_test" ||
  fail "dagctl test failed: $(cat "$TMP/test.out") $(grep -v '^ *[0-9]*:' "$TMP/ld_debug_test" | tail -n 5)"
grep -q 'calling init' "$TMP/ld_debug_test" || fail "LD_DEBUG=libs printed nothing to check"
for lib in libcurl libesmtp libpq librdkafka; do
  if grep -q "$lib\.so" "$TMP/ld_debug_test"; then
    fail "a shell task's run loaded $lib: $(grep "$lib" "$TMP/ld_debug_test" | head -n 3)"
  fi
done
log "neither dagctl version nor a shell task's run loads libcurl nor libesmtp"

# The plugin's side does need it: the check must fail and name it.
for b in "$EMBED" "$PLUGIN"; do
  rc=0
  out=$(bash "$CHECK" "$b" librdkafka) || rc=$?
  assert_eq "$rc" 1 "check status on $(basename "$b")"
  case $out in
    *"needs librdkafka.so"*) ;;
    *) fail "the check does not name the library: $out" ;;
  esac
done
log "the check fails on binaries that need librdkafka"

# The http plugin links libcurl itself: the check must name it there.
HTTP_PLUGIN=$DAGCTL_BUILD_DIR/plugins/http.so
[ -e "$HTTP_PLUGIN" ] || fail "not built: $HTTP_PLUGIN"
rc=0
out=$(bash "$CHECK" "$HTTP_PLUGIN" libcurl) || rc=$?
assert_eq "$rc" 1 "check status on http.so"
case $out in
  *"needs libcurl.so"*) ;;
  *) fail "the check does not name libcurl: $out" ;;
esac

# Several names: any one found fails.
rc=0
bash "$CHECK" "$DAGCTL_BIN" libnotthere libc >/dev/null || rc=$?
assert_eq "$rc" 1 "check status with libc banned"

# Not a binary: an error, not a pass.
echo "not elf" >"$TMP/not_elf"
rc=0
bash "$CHECK" "$TMP/not_elf" librdkafka >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "check status on a non-ELF file"
log "ok"
