/* fuzz_tzif.c - libFuzzer target for the TZif parser and its conversions.
 *
 * Zone files come from the system, but a damaged or foreign one must be
 * refused with a reason, never read out of bounds. Beyond "no crash, no
 * leak": a parsed zone answers every instant with an offset within RFC
 * 8536's bounds and an abbreviation, and every wall time maps to an
 * instant whose local time is that wall time, or lies past a gap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_instant(const struct dag_tz *z, int64_t t) {
  struct dag_tz_info i;
  dag_tz_lookup(z, t, &i);
  if (i.utoff < -26 * 3600 || i.utoff > 26 * 3600 || i.abbr == NULL) abort();
  (void)strlen(i.abbr);
  for (int fold = 0; fold < 2; fold++) {
    int64_t wall = t + i.utoff;
    int64_t u = dag_tz_wall_to_utc(z, wall, fold);
    struct dag_tz_info j;
    dag_tz_lookup(z, u, &j);
    /* Exact, or a wall time the zone skipped, which moves forward. */
    if (u + j.utoff != wall && u + j.utoff < wall) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dag_tz *z = NULL;
  char *err = NULL;
  if (dag_tz_parse("fuzz", data, size, &z, &err) != 0) {
    if (err == NULL || z != NULL) abort();
    free(err);
    return 0;
  }
  if (err != NULL) abort();
  static const int64_t instants[] = {
      INT64_C(-4000000000),
      -1,
      0,
      1711846800,
      1729990800,
      1730001600,
      INT64_C(4102444800),
      INT64_C(10000000000),
  };
  for (size_t k = 0; k < sizeof(instants) / sizeof(instants[0]); k++)
    check_instant(z, instants[k]);
  /* And instants taken from the input, around its own transitions. */
  for (size_t k = 0; k + 8 <= size && k < 64; k += 8) {
    int64_t t;
    memcpy(&t, data + k, sizeof(t));
    t %= INT64_C(100000000000); /* within +-3000 years */
    check_instant(z, t);
  }
  dag_tz_free(z);
  return 0;
}
