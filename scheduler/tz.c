/* tz.c - IANA time zones through the TZ variable and tzset().
 *
 * The zone in effect is the TZ environment variable itself, so it doubles as
 * the cache: a conversion in the zone already set skips setenv() and tzset()
 * (which rereads the zone file). "UTC" never touches TZ at all. */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define MAX_ZONE_NAME 128

/* A NULL zone is UTC too, so a DAG built by hand (tests, the CLI) without a
 * timezone still converts. */
static bool is_utc(const char *tz) {
  return tz == NULL || strcmp(tz, "UTC") == 0;
}

static bool name_char_ok(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-' ||
         c == '+' || c == '.';
}

/* Cheap checks on the name alone, done on every conversion. */
static int check_name(const char *name) {
  size_t len = name ? strlen(name) : 0;
  if (len == 0 || len > MAX_ZONE_NAME || name[0] == '/') return DAG_EINVAL;
  if (strstr(name, "..") != NULL) return DAG_EINVAL;
  for (size_t i = 0; i < len; i++)
    if (!name_char_ok(name[i])) return DAG_EINVAL;
  /* The right/ zones count leap seconds inside time_t, which nothing else in
   * the process does: conversions would be off by half a minute. */
  if (strncmp(name, "right/", 6) == 0) return DAG_EINVAL;
  return 0;
}

/* The zone file must exist and be a TZif file: zoneinfo also holds tables
 * such as zone.tab, and glibc silently falls back to UTC on a bad file, so a
 * typo would otherwise shift every schedule without a word. */
static int check_file(const char *name) {
  char path[sizeof(ZONEINFO_DIR) + MAX_ZONE_NAME + 2];
  snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return DAG_EINVAL;
  struct stat st;
  char magic[4];
  int rc = DAG_EINVAL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
      memcmp(magic, "TZif", 4) == 0)
    rc = 0;
  close(fd);
  return rc;
}

int dag_tz_validate(const char *name) {
  if (name != NULL && strcmp(name, "UTC") == 0) return 0;
  int rc = check_name(name);
  if (rc != 0) return rc;
  return check_file(name);
}

/* Make `tz` the zone localtime_r() uses. The zone file is checked only when
 * switching, so a cache hit costs a strcmp. */
static int use_zone(const char *tz) {
  int rc = check_name(tz);
  if (rc != 0) return rc;
  const char *cur = getenv("TZ");
  if (cur != NULL && strcmp(cur, tz) == 0) return 0;
  rc = check_file(tz);
  if (rc != 0) return rc;
  if (setenv("TZ", tz, 1) != 0) return -errno;
  /* localtime_r() is not required to reread TZ, and glibc's does not. */
  tzset();
  return 0;
}

static time_t floor_sec(dag_time_t t) {
  dag_time_t s = t / DAG_USEC_PER_SEC;
  if (t % DAG_USEC_PER_SEC < 0) s--;
  return (time_t)s;
}

int dag_tz_to_local(const char *tz, dag_time_t t, struct tm *out) {
  time_t s = floor_sec(t);
  if (is_utc(tz)) return gmtime_r(&s, out) ? 0 : -EOVERFLOW;
  int rc = use_zone(tz);
  if (rc != 0) return rc;
  return localtime_r(&s, out) ? 0 : -EOVERFLOW;
}

/* UTC offset in seconds at instant `t` in the current zone. */
static int gmtoff_at(time_t t, long *off) {
  struct tm tm;
  if (!localtime_r(&t, &tm)) return -EOVERFLOW;
  *off = tm.tm_gmtoff;
  return 0;
}

/* Offsets a day either side of the wall time bracket any transition near it
 * (zones change offset at most once in a day), so one of the two candidate
 * instants is right, or neither (a gap) or both (an overlap). */
int dag_tz_to_utc(const char *tz, const struct tm *local, dag_time_t *out) {
  struct tm tm = *local;
  tm.tm_isdst = 0;
  errno = 0;
  time_t wall = timegm(&tm);
  if (wall == (time_t)-1 && errno != 0) return -EOVERFLOW;
  if (is_utc(tz)) {
    *out = (dag_time_t)wall * DAG_USEC_PER_SEC;
    return 0;
  }
  int rc = use_zone(tz);
  if (rc != 0) return rc;

  long before, after, off1, off2;
  if ((rc = gmtoff_at(wall - 86400, &before)) != 0 ||
      (rc = gmtoff_at(wall + 86400, &after)) != 0)
    return rc;
  time_t u1 = wall - before, u2 = wall - after;
  if ((rc = gmtoff_at(u1, &off1)) != 0 || (rc = gmtoff_at(u2, &off2)) != 0)
    return rc;
  bool ok1 = off1 == before, ok2 = off2 == after;
  time_t u;
  if (ok1 && ok2)
    u = u1 < u2 ? u1 : u2; /* overlap: the first occurrence */
  else if (ok1)
    u = u1;
  else if (ok2)
    u = u2;
  else
    u = u1; /* gap: the pre-transition offset lands past it by its length */
  *out = (dag_time_t)u * DAG_USEC_PER_SEC;
  return 0;
}
