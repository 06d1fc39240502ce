/* tz.c - IANA time zones from their TZif files (RFC 8536).
 *
 * glibc converts only in the zone named by the TZ environment variable, so
 * using it means setenv("TZ") + tzset() around every conversion: that changed
 * the environment every task inherits (a task saw another DAG's zone) and
 * raced with getenv() on other threads. Instead each zone file is parsed
 * here: the 64-bit (v2+) transition table, or the v1 one from an old file,
 * and the footer's POSIX TZ string, which gives the rule for every instant
 * after the last transition (slim tzdata files stop their tables in 2007).
 *
 * The cache of parsed zones is the one piece of process-wide state, as the
 * tz database itself is: a list guarded by a mutex, whose zones are never
 * changed or freed once published, so a lookup hands out a plain pointer.
 * A zone costs a few kilobytes; a process uses a handful. */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "timeutil.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define MAX_ZONE_NAME 128
/* The largest zone file in tzdata is under 4 KiB ("fat" files); anything
 * much larger is not a zone. */
#define MAX_FILE_SIZE (256 * 1024)
/* RFC 8536 bounds UT offsets to -25 h .. +26 h. */
#define MAX_UTOFF (26 * 3600)
#define DAY 86400

struct ttype {
  int32_t utoff;
  bool isdst;
  const char *abbr; /* into the zone's chars */
};

/* A transition date of a POSIX TZ rule: "Jn", "n" or "Mm.w.d", and the local
 * time of day (seconds, may be negative or past 24 h) it happens at. */
struct rule_date {
  char kind; /* 'J', 'N' or 'M' */
  int n, m, w, d;
  int32_t time;
};

struct rule {
  struct ttype std, dst;
  bool has_dst;
  struct rule_date start, end; /* into and out of DST */
  char std_abbr[16], dst_abbr[16];
};

struct dag_tz {
  struct dag_tz *next; /* the cache list */
  char *name;
  size_t n_trans;
  int64_t *trans; /* ascending UTC seconds */
  uint8_t *idx;   /* type in effect from trans[i] on */
  size_t n_types;
  const struct ttype *types;
  char *chars;   /* abbreviations, NUL-terminated */
  bool has_rule; /* the footer, for instants after the last transition */
  struct rule rule;
  size_t n_offs;
  const int32_t *offs; /* each distinct UT offset of types and rule, once */
};

/* ---- calendar arithmetic (proleptic Gregorian, seconds since 1970) ---- */

static int64_t year_of_days(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  return yoe + era * 400 + (mp >= 10);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* ---- the POSIX TZ string of the footer ---- */

__attribute__((format(printf, 2, 3))) static int fail(char **err,
                                                      const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    *err = xvasprintf(fmt, ap);
    va_end(ap);
  }
  return DAG_EINVAL;
}

static bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* An abbreviation: three or more letters, or anything but '>' in <...>. */
static bool parse_abbr(const char **p, char *out, size_t size) {
  const char *s = *p, *e;
  if (*s == '<') {
    s++;
    e = s;
    while (*e && *e != '>') e++;
    if (*e != '>') return false;
    *p = e + 1;
  } else {
    e = s;
    while (is_alpha(*e)) e++;
    *p = e;
  }
  size_t n = (size_t)(e - s);
  if (n < 3 || n >= size) return false;
  memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, in seconds. */
static bool parse_hms(const char **p, int max_h, int32_t *out) {
  const char *s = *p;
  int sign = 1, part[3] = {0, 0, 0};
  if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
  for (int i = 0; i < 3; i++) {
    if (i > 0) {
      if (*s != ':') break;
      s++;
    }
    if (!is_digit(*s)) return false;
    int v = 0, digits = 0;
    while (is_digit(*s) && digits < 3) v = v * 10 + (*s++ - '0'), digits++;
    if (is_digit(*s) || (i > 0 && (digits != 2 || v > 59))) return false;
    part[i] = v;
  }
  if (part[0] > max_h) return false;
  *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
  *p = s;
  return true;
}

static bool parse_num(const char **p, int lo, int hi, int *out) {
  const char *s = *p;
  int v = 0, digits = 0;
  while (is_digit(*s) && digits < 4) v = v * 10 + (*s++ - '0'), digits++;
  if (digits == 0 || is_digit(*s) || v < lo || v > hi) return false;
  *out = v;
  *p = s;
  return true;
}

/* ",Jn[/time]", ",n[/time]" or ",Mm.w.d[/time]"; the time defaults to 02:00
 * and may run from -167 h to 167 h (RFC 8536's extension of POSIX). */
static bool parse_rule_date(const char **p, struct rule_date *out) {
  const char *s = *p;
  if (*s++ != ',') return false;
  memset(out, 0, sizeof(*out));
  if (*s == 'J') {
    s++;
    out->kind = 'J';
    if (!parse_num(&s, 1, 365, &out->n)) return false;
  } else if (*s == 'M') {
    s++;
    out->kind = 'M';
    if (!parse_num(&s, 1, 12, &out->m) || *s++ != '.' ||
        !parse_num(&s, 1, 5, &out->w) || *s++ != '.' ||
        !parse_num(&s, 0, 6, &out->d))
      return false;
  } else {
    out->kind = 'N';
    if (!parse_num(&s, 0, 365, &out->n)) return false;
  }
  out->time = 2 * 3600;
  if (*s == '/') {
    s++;
    if (!parse_hms(&s, 167, &out->time)) return false;
  }
  *p = s;
  return true;
}

/* "std offset [dst [offset] [,start[/time],end[/time]]]". POSIX offsets
 * count hours west of Greenwich, so they are negated. */
static int parse_rule(const char *s, struct rule *r, char **err) {
  const char *p = s;
  int32_t off;
  memset(r, 0, sizeof(*r));
  if (!parse_abbr(&p, r->std_abbr, sizeof(r->std_abbr)) ||
      !parse_hms(&p, 24, &off))
    return fail(err, "bad TZ string '%s'", s);
  r->std.utoff = -off;
  r->std.abbr = r->std_abbr;
  if (*p == '\0') return 0;
  if (!parse_abbr(&p, r->dst_abbr, sizeof(r->dst_abbr)))
    return fail(err, "bad TZ string '%s'", s);
  r->has_dst = true;
  r->dst.isdst = true;
  r->dst.abbr = r->dst_abbr;
  r->dst.utoff = r->std.utoff + 3600;
  if (*p != ',' && *p != '\0') {
    if (!parse_hms(&p, 24, &off)) return fail(err, "bad TZ string '%s'", s);
    r->dst.utoff = -off;
  }
  if (*p == '\0') {
    /* POSIX leaves the default rule to the implementation; the US rules,
     * as glibc and tzcode use. tzdata always spells its rules out. */
    r->start = (struct rule_date){'M', 0, 3, 2, 0, 2 * 3600};
    r->end = (struct rule_date){'M', 0, 11, 1, 0, 2 * 3600};
    return 0;
  }
  if (!parse_rule_date(&p, &r->start) || !parse_rule_date(&p, &r->end) ||
      *p != '\0')
    return fail(err, "bad TZ string '%s'", s);
  return 0;
}

/* Local seconds since 1970 at which `d` happens in `year`. */
static int64_t rule_date_local(const struct rule_date *d, int64_t year) {
  int64_t days;
  if (d->kind == 'J') {
    /* Julian day 1..365: February 29 is never counted. */
    days = dag_days_from_civil(year, 1, 1) + d->n - 1 +
           (is_leap(year) && d->n >= 60 ? 1 : 0);
  } else if (d->kind == 'N') {
    days = dag_days_from_civil(year, 1, 1) + d->n;
  } else {
    int64_t first = dag_days_from_civil(year, d->m, 1);
    int wd = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01: Thursday */
    int day = 1 + (d->d - wd + 7) % 7 + (d->w - 1) * 7;
    while (day > dag_days_in_month(year, d->m)) day -= 7; /* w = 5: the last */
    days = first + day - 1;
  }
  return days * DAY + d->time;
}

static const struct ttype *rule_type(const struct rule *r, int64_t t) {
  if (!r->has_dst) return &r->std;
  int64_t year = year_of_days(floor_div(t + r->std.utoff, DAY));
  /* The start is given in standard time, the end in daylight time. */
  int64_t start = rule_date_local(&r->start, year) - r->std.utoff;
  int64_t end = rule_date_local(&r->end, year) - r->dst.utoff;
  bool dst;
  if (start <= end) /* northern: DST inside the year; "J1/0,J365/25": all */
    dst = t >= start && t < end;
  else /* southern: DST across the new year */
    dst = !(t >= end && t < start);
  return dst ? &r->dst : &r->std;
}

/* ---- the TZif file ---- */

struct header {
  int version; /* 1, 2, 3, 4 */
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

#define HEADER_LEN 44

static int read_header(const uint8_t *p, size_t len, struct header *h,
                       char **err) {
  if (len < HEADER_LEN || memcmp(p, "TZif", 4) != 0)
    return fail(err, "no TZif header");
  h->version = p[4] == 0 ? 1 : p[4] - '0';
  if (h->version < 1 || h->version > 9)
    return fail(err, "unknown TZif version byte 0x%02x", p[4]);
  h->isutcnt = be32(p + 20);
  h->isstdcnt = be32(p + 24);
  h->leapcnt = be32(p + 28);
  h->timecnt = be32(p + 32);
  h->typecnt = be32(p + 36);
  h->charcnt = be32(p + 40);
  return 0;
}

/* Bytes of the data block after a header, or 0 if it would overflow. */
static uint64_t block_len(const struct header *h, int tsize) {
  return (uint64_t)h->timecnt * (uint64_t)(tsize + 1) +
         (uint64_t)h->typecnt * 6 + h->charcnt +
         (uint64_t)h->leapcnt * (uint64_t)(tsize + 4) + h->isstdcnt +
         h->isutcnt;
}

/* Fill `z` from one data block (`tsize` 4 for v1, 8 for v2+). */
static int read_block(struct dag_tz *z, const struct header *h,
                      const uint8_t *p, int tsize, char **err) {
  if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0)
    return fail(err, "no local time types");
  if (h->leapcnt != 0)
    return fail(err, "leap-second zones (right/...) are not supported");
  if ((h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
      (h->isutcnt != 0 && h->isutcnt != h->typecnt))
    return fail(err, "inconsistent counts");
  z->n_trans = h->timecnt;
  z->trans = xcalloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
  z->idx = xcalloc(h->timecnt ? h->timecnt : 1, 1);
  for (uint32_t i = 0; i < h->timecnt; i++, p += tsize) {
    z->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
    if (i > 0 && z->trans[i] <= z->trans[i - 1])
      return fail(err, "transition times out of order");
  }
  for (uint32_t i = 0; i < h->timecnt; i++, p++) {
    if (*p >= h->typecnt) return fail(err, "bad local time type index");
    z->idx[i] = *p;
  }
  const uint8_t *types = p;
  p += (size_t)h->typecnt * 6;
  /* One NUL more than the file has, so every abbreviation ends. */
  z->chars = xcalloc(h->charcnt + 1, 1);
  memcpy(z->chars, p, h->charcnt);
  struct ttype *tt = xcalloc(h->typecnt, sizeof(*tt));
  z->n_types = h->typecnt;
  z->types = tt;
  for (uint32_t i = 0; i < h->typecnt; i++, types += 6) {
    int32_t utoff = (int32_t)be32(types);
    if (utoff < -MAX_UTOFF || utoff > MAX_UTOFF || types[4] > 1 ||
        types[5] >= h->charcnt)
      return fail(err, "bad local time type");
    tt[i].utoff = utoff;
    tt[i].isdst = types[4];
    tt[i].abbr = z->chars + types[5];
  }
  return 0;
}

void dag_tz_free(struct dag_tz *z) {
  if (z == NULL) return;
  free(z->name);
  free(z->trans);
  free(z->idx);
  free((void *)z->types);
  free((void *)z->offs);
  free(z->chars);
  free(z);
}

static void add_offset(int32_t *offs, size_t *n, int32_t o) {
  for (size_t i = 0; i < *n; i++)
    if (offs[i] == o) return;
  offs[(*n)++] = o;
}

static void collect_offsets(struct dag_tz *z) {
  int32_t *offs = xcalloc(z->n_types + 2, sizeof(*offs));
  size_t n = 0;
  for (size_t i = 0; i < z->n_types; i++)
    add_offset(offs, &n, z->types[i].utoff);
  if (z->has_rule) {
    add_offset(offs, &n, z->rule.std.utoff);
    if (z->rule.has_dst) add_offset(offs, &n, z->rule.dst.utoff);
  }
  z->offs = offs;
  z->n_offs = n;
}

int dag_tz_parse(const char *name, const uint8_t *buf, size_t len,
                 struct dag_tz **out, char **err) {
  struct header h;
  if (err != NULL) *err = NULL;
  int rc = read_header(buf, len, &h, err);
  if (rc != 0) return rc;
  uint64_t v1 = block_len(&h, 4);
  if (v1 > len - HEADER_LEN) return fail(err, "truncated");
  struct dag_tz *z = xcalloc(1, sizeof(*z));
  z->name = xstrdup(name ? name : "");
  if (h.version == 1) {
    rc = read_block(z, &h, buf + HEADER_LEN, 4, err);
  } else {
    /* v2+: skip the 32-bit block; a second header and 64-bit data follow,
     * then the footer "\nTZ string\n". */
    const uint8_t *p = buf + HEADER_LEN + v1;
    size_t left = len - HEADER_LEN - (size_t)v1;
    uint64_t v2;
    if ((rc = read_header(p, left, &h, err)) == 0 &&
        (v2 = block_len(&h, 8)) > left - HEADER_LEN)
      rc = fail(err, "truncated");
    if (rc == 0) rc = read_block(z, &h, p + HEADER_LEN, 8, err);
    if (rc == 0) {
      const char *f = (const char *)p + HEADER_LEN + v2;
      size_t flen = left - HEADER_LEN - (size_t)v2;
      const char *nl =
          flen > 0 && f[0] == '\n' ? memchr(f + 1, '\n', flen - 1) : NULL;
      if (nl == NULL) {
        rc = fail(err, "no footer");
      } else if (nl > f + 1) {
        char *tzs = xstrndup(f + 1, (size_t)(nl - f - 1));
        if (strlen(tzs) != (size_t)(nl - f - 1))
          rc = fail(err, "NUL in the TZ string");
        else if ((rc = parse_rule(tzs, &z->rule, err)) == 0)
          z->has_rule = true;
        free(tzs);
      }
    }
  }
  if (rc != 0) {
    dag_tz_free(z);
    return rc;
  }
  collect_offsets(z);
  *out = z;
  return 0;
}

void dag_tz_lookup(const struct dag_tz *z, int64_t t, struct dag_tz_info *out) {
  const struct ttype *ty;
  size_t n = z->n_trans;
  if (n == 0) {
    ty = z->has_rule ? rule_type(&z->rule, t) : &z->types[0];
  } else if (t < z->trans[0]) {
    /* RFC 8536 3.2: before the first transition, the first type. */
    ty = &z->types[0];
  } else if (t > z->trans[n - 1] && z->has_rule) {
    ty = rule_type(&z->rule, t);
  } else {
    size_t lo = 0, hi = n; /* the last transition at or before t */
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      if (z->trans[mid] <= t)
        lo = mid;
      else
        hi = mid;
    }
    ty = &z->types[z->idx[lo]];
  }
  out->utoff = ty->utoff;
  out->isdst = ty->isdst;
  out->abbr = ty->abbr;
}

static int32_t utoff_at(const struct dag_tz *z, int64_t t) {
  struct dag_tz_info i;
  dag_tz_lookup(z, t, &i);
  return i.utoff;
}

/* A wall time happens at wall - o for each offset o the zone uses at
 * wall - o, so trying each distinct offset of the zone finds every
 * occurrence, however close its transitions (a zone has a handful of
 * offsets: a few lookups). Two or more occurrences: an overlap. None: a
 * gap, a change from o to a larger offset a between wall - a and wall - o;
 * wall - o, with the offset from before the change, lands past it by the
 * gap's length. */
int64_t dag_tz_wall_to_utc(const struct dag_tz *z, int64_t wall, int fold) {
  int64_t lo = INT64_MAX, hi = INT64_MIN, past_gap = INT64_MAX;
  for (size_t i = 0; i < z->n_offs; i++) {
    int32_t o = z->offs[i], a = utoff_at(z, wall - o);
    int64_t u = wall - o;
    if (a == o) {
      if (u < lo) lo = u;
      if (u > hi) hi = u;
    } else if (a > o && utoff_at(z, wall - a) == o && u < past_gap) {
      past_gap = u;
    }
  }
  if (lo <= hi) return fold ? hi : lo;
  if (past_gap != INT64_MAX) return past_gap;
  /* Not a shape tzdata has: the offset of the day before. */
  return wall - utoff_at(z, wall - DAY);
}

/* ---- the cache ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dag_tz *cache;

static bool name_char_ok(char c) {
  return is_alpha(c) || is_digit(c) || c == '/' || c == '_' || c == '-' ||
         c == '+' || c == '.';
}

/* Names are paths under ZONEINFO_DIR: nothing may climb out of it. */
static int check_name(const char *name, char **err) {
  size_t len = strlen(name);
  bool ok = len > 0 && len <= MAX_ZONE_NAME && name[0] != '/' &&
            strstr(name, "..") == NULL;
  for (size_t i = 0; ok && i < len; i++) ok = name_char_ok(name[i]);
  if (!ok)
    return fail(err,
                "invalid time zone name '%s' (expected an IANA name such as "
                "Europe/Berlin)",
                name);
  /* The right/ zones count leap seconds inside time_t, which nothing else in
   * the process does: conversions would be off by half a minute. */
  if (strncmp(name, "right/", 6) == 0)
    return fail(err, "time zone '%s' counts leap seconds: use '%s'", name,
                name + 6);
  return 0;
}

static int load_file(const char *name, struct dag_tz **out, char **err) {
  char path[sizeof(ZONEINFO_DIR) + MAX_ZONE_NAME + 2];
  snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(err, "unknown time zone '%s' (no file %s)", name, path);
  struct stat st;
  uint8_t *buf = NULL;
  ssize_t got = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      st.st_size <= MAX_FILE_SIZE) {
    buf = xmalloc((size_t)st.st_size);
    got = read(fd, buf, (size_t)st.st_size);
  }
  close(fd);
  int rc;
  char *why = NULL;
  if (got != st.st_size || buf == NULL) {
    rc =
        fail(err, "unknown time zone '%s' (%s is not a zone file)", name, path);
  } else if ((rc = dag_tz_parse(name, buf, (size_t)got, out, &why)) != 0) {
    rc = fail(err, "unknown time zone '%s' (%s: %s)", name, path,
              why ? why : "not a zone file");
  }
  free(why);
  free(buf);
  return rc;
}

static const struct dag_tz *cache_find(const char *name) {
  for (const struct dag_tz *z = cache; z; z = z->next)
    if (strcmp(z->name, name) == 0) return z;
  return NULL;
}

/* UTC needs no file (and a system without tzdata still runs UTC DAGs). */
static const struct ttype utc_type = {0, false, "UTC"};
static const int32_t utc_off = 0;
static const struct dag_tz utc_zone = {.name = (char *)"UTC",
                                       .n_types = 1,
                                       .types = &utc_type,
                                       .n_offs = 1,
                                       .offs = &utc_off};

int dag_tz_get(const char *name, const struct dag_tz **out, char **err) {
  if (err != NULL) *err = NULL;
  if (name == NULL || strcmp(name, "UTC") == 0) {
    *out = &utc_zone;
    return 0;
  }
  int rc = check_name(name, err);
  if (rc != 0) return rc;
  pthread_mutex_lock(&cache_lock);
  const struct dag_tz *z = cache_find(name);
  pthread_mutex_unlock(&cache_lock);
  if (z != NULL) {
    *out = z;
    return 0;
  }
  /* The file is read outside the lock; a racing loader's copy loses. Bad
   * names are not cached: a zone installed later is found. */
  struct dag_tz *fresh;
  if ((rc = load_file(name, &fresh, err)) != 0) return rc;
  pthread_mutex_lock(&cache_lock);
  z = cache_find(name);
  if (z == NULL) {
    fresh->next = cache;
    cache = fresh;
    z = fresh;
    fresh = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
  dag_tz_free(fresh);
  *out = z;
  return 0;
}

int dag_tz_validate(const char *name) {
  const struct dag_tz *z;
  if (name == NULL) return DAG_EINVAL;
  return dag_tz_get(name, &z, NULL);
}

/* ---- struct tm front ends ---- */

static int64_t floor_sec(dag_time_t t) {
  return floor_div(t, DAG_USEC_PER_SEC);
}

int dag_tz_to_local(const char *tz, dag_time_t t, struct tm *out) {
  const struct dag_tz *z;
  int rc = dag_tz_get(tz, &z, NULL);
  if (rc != 0) return rc;
  int64_t s = floor_sec(t);
  struct dag_tz_info info;
  dag_tz_lookup(z, s, &info);
  time_t local = (time_t)(s + info.utoff);
  if (!gmtime_r(&local, out)) return -EOVERFLOW;
  out->tm_isdst = info.isdst;
  out->tm_gmtoff = info.utoff;
  out->tm_zone = info.abbr;
  return 0;
}

int dag_tz_to_utc_fold(const char *tz, const struct tm *local, int fold,
                       dag_time_t *out) {
  const struct dag_tz *z;
  int rc = dag_tz_get(tz, &z, NULL);
  if (rc != 0) return rc;
  /* Normalise out-of-range fields (day 32 of January) as timegm() does. */
  int64_t mon = (int64_t)local->tm_mon;
  int64_t year = (int64_t)local->tm_year + 1900 + floor_div(mon, 12);
  mon -= floor_div(mon, 12) * 12;
  int64_t wall =
      (dag_days_from_civil(year, (int)mon + 1, 1) + local->tm_mday - 1) * DAY +
      (int64_t)local->tm_hour * 3600 + (int64_t)local->tm_min * 60 +
      local->tm_sec;
  *out = dag_tz_wall_to_utc(z, wall, fold) * DAG_USEC_PER_SEC;
  return 0;
}

int dag_tz_to_utc(const char *tz, const struct tm *local, dag_time_t *out) {
  return dag_tz_to_utc_fold(tz, local, 0, out);
}
