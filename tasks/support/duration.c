/* duration.c - "1h30m" <-> microseconds (see duration.h). */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "error.h"

struct unit {
  const char *name;
  int64_t us;
};

/* Longest names first where one is a prefix of another ("ms" before "m"),
 * and otherwise largest first: compounds must go from larger to smaller
 * units, which is how people write them and catches "30m1h" typos. */
static const struct unit units[] = {
    {"d", INT64_C(86400000000)}, {"h", INT64_C(3600000000)},
    {"ms", INT64_C(1000)},       {"m", INT64_C(60000000)},
    {"s", INT64_C(1000000)},     {"us", INT64_C(1)},
};

/* Fraction digits beyond this are dropped: 1e-9 of a day is 86 us, and
 * keeping the numerator below 1e9 lets the arithmetic stay in int64. */
#define MAX_FRAC_DIGITS 9

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static const struct unit *match_unit(const char **p) {
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    size_t n = strlen(units[i].name);
    if (strncmp(*p, units[i].name, n) == 0) {
      *p += n;
      return &units[i];
    }
  }
  return NULL;
}

/* v * 10 + digit, saturating at INT64_MAX: a number too large to hold is
 * still read to its end, so a malformed tail is reported as malformed. */
static int64_t push_digit(int64_t v, char c) {
  if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v))
    return INT64_MAX;
  return v;
}

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t v;
  return __builtin_add_overflow(a, b, &v) ? INT64_MAX : v;
}

static int64_t sat_mul(int64_t a, int64_t b) {
  int64_t v;
  return __builtin_mul_overflow(a, b, &v) ? INT64_MAX : v;
}

int dag_duration_parse(const char *s, int64_t *out) {
  if (s == NULL || *s == '\0') return DAG_EINVAL;

  const char *p = s;
  while (is_digit(*p)) p++;
  if (*p == '\0') {
    /* A bare integer: seconds. */
    int64_t v = 0;
    for (p = s; *p; p++) v = push_digit(v, *p);
    v = sat_mul(v, DAG_USEC_PER_SEC);
    if (v > DAG_DURATION_MAX_US) return -ERANGE;
    *out = v;
    return 0;
  }

  /* Every sum below saturates at INT64_MAX, which is past the maximum. */
  int64_t total = 0;
  int64_t prev_unit = INT64_MAX;
  p = s;
  while (*p) {
    if (!is_digit(*p)) return DAG_EINVAL;
    int64_t whole = 0;
    for (; is_digit(*p); p++) whole = push_digit(whole, *p);
    int64_t frac = 0, frac_scale = 1;
    if (*p == '.') {
      p++;
      if (!is_digit(*p)) return DAG_EINVAL;
      for (int n = 0; is_digit(*p); p++, n++) {
        if (n < MAX_FRAC_DIGITS) {
          frac = frac * 10 + (*p - '0');
          frac_scale *= 10;
        }
      }
    }
    const struct unit *u = match_unit(&p);
    if (u == NULL || u->us >= prev_unit) return DAG_EINVAL;
    prev_unit = u->us;

    /* frac * us / scale without overflow: frac < scale <= 1e9. */
    int64_t q = u->us / frac_scale, r = u->us % frac_scale;
    int64_t part = frac * q + frac * r / frac_scale;
    total = sat_add(total, sat_add(sat_mul(whole, u->us), part));
  }
  if (total > DAG_DURATION_MAX_US) return -ERANGE;
  *out = total;
  return 0;
}

/* Append to buf[*len..size), keeping it NUL-terminated and never overrunning:
 * a too-small buffer gets a truncated string. */
static void put(char *buf, unsigned size, unsigned *len, const char *s) {
  size_t n = strlen(s);
  if (*len + 1 >= size) return;
  if (n > size - 1 - *len) n = size - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += (unsigned)n;
  buf[*len] = '\0';
}

static void put_num(char *buf, unsigned size, unsigned *len, unsigned long long v,
                    const char *suffix) {
  char tmp[32];
  snprintf(tmp, sizeof(tmp), "%llu%s", v, suffix);
  put(buf, size, len, tmp);
}

/* ".5" for frac=500 of width 3: the digits without trailing zeros. */
static void put_frac(char *buf, unsigned size, unsigned *len,
                     unsigned long long frac, int width) {
  char tmp[32];
  snprintf(tmp, sizeof(tmp), ".%0*llu", width, frac);
  size_t n = strlen(tmp);
  while (n > 1 && tmp[n - 1] == '0') tmp[--n] = '\0';
  put(buf, size, len, tmp);
}

void dag_duration_format(int64_t us, char *buf, unsigned size) {
  if (size == 0) return;
  buf[0] = '\0';
  unsigned len = 0;
  /* Negative durations are not valid input, but printing one must not lie. */
  unsigned long long u = us < 0 ? 0ULL - (unsigned long long)us : (unsigned long long)us;
  if (us < 0) put(buf, size, &len, "-");
  if (u == 0) {
    put(buf, size, &len, "0s");
    return;
  }
  if (u < 1000000ULL) {
    if (u % 1000 == 0) {
      put_num(buf, size, &len, u / 1000, "ms");
    } else if (u < 1000) {
      put_num(buf, size, &len, u, "us");
    } else {
      put_num(buf, size, &len, u / 1000, "");
      put_frac(buf, size, &len, u % 1000, 3);
      put(buf, size, &len, "ms");
    }
    return;
  }
  unsigned long long days = u / 86400000000ULL;
  unsigned long long hours = u / 3600000000ULL % 24;
  unsigned long long mins = u / 60000000ULL % 60;
  unsigned long long secs = u / 1000000ULL % 60;
  unsigned long long frac = u % 1000000ULL;
  if (days) put_num(buf, size, &len, days, "d");
  if (hours) put_num(buf, size, &len, hours, "h");
  if (mins) put_num(buf, size, &len, mins, "m");
  if (secs || frac) {
    put_num(buf, size, &len, secs, "");
    if (frac) put_frac(buf, size, &len, frac, 6);
    put(buf, size, &len, "s");
  }
}
