/* dashboard_sql.c - the dashboard's queries, valid on SQLite and PostgreSQL.
 *
 * Without a date range every figure comes from gold as the dbt models
 * (dags/spotify_dbt/models/gold) built it: daily_user_stats, top_tracks,
 * top_artists, device_usage. Gold's tracks, artists and devices are totals
 * over all days, so with a range those are computed from silver_plays,
 * gold's own source, with the models' definitions over the days of the
 * range; plays, listeners and play length per day always come from
 * daily_user_stats. Gold has no hour, so plays per hour of day always come
 * from silver_plays (the hour of played_at as recorded: UTC for the
 * pipeline's events). The range's dates are bound as parameters ($1, $2),
 * never written into the SQL. Runs on the thread pool (dashboard.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "web_int.h"
#include "wh.h"

/* An open range end: every ISO date sorts between these. */
#define FIRST_DAY "0000-01-01"
#define LAST_DAY "9999-12-31"

/* Every figure as text, as both backends hand them over; converted to JSON
 * numbers by the column's kind. */
enum kind { K_TEXT, K_INT, K_REAL };

struct rows_ctx {
  json_t *array;
  const enum kind *kinds;
  const char *const *names; /* JSON keys, one per column */
};

static json_t *number(enum kind k, const char *v) {
  if (!v) return json_null();
  if (k == K_INT) return json_integer(strtoll(v, NULL, 10));
  return json_real(strtod(v, NULL));
}

static int add_row(void *ud, int ncols, const char *const *names, const char *const *vals) {
  (void)names;
  struct rows_ctx *r = ud;
  json_t *o = json_object();
  for (int i = 0; i < ncols && r->names[i]; i++) {
    json_t *v;
    if (r->kinds[i] != K_TEXT || !vals[i]) {
      v = number(r->kinds[i], vals[i]);
    } else {
      /* Text that is not UTF-8 is shown with replacement characters
       * rather than lost. */
      char *clean = web_utf8_clean(vals[i]);
      v = json_string(clean);
      free(clean);
    }
    json_object_set_new(o, r->names[i], v);
  }
  json_array_append_new(r->array, o);
  return 0;
}

/* Run `sql` with the range's two dates and put its rows into `parent` as
 * an array named `key`, each row an object of `names` (NULL-terminated). */
static int rows(struct wh *wh, const char *sql, const char *p[2], json_t *parent,
                const char *key, const char *const *names, const enum kind *kinds, char **err) {
  struct rows_ctx r = {json_array(), kinds, names};
  /* PostgreSQL refuses parameters a statement does not use. */
  int rc = wh_query(wh, sql, p, strstr(sql, "$1") ? 2 : 0, add_row, &r, err);
  json_object_set_new(parent, key, r.array);
  return rc;
}

int dash_sql_version(struct wh *wh, unsigned generation, char **out, char **err) {
  *out = NULL;
  char *v = NULL;
  int rc;
  if (wh_backend(wh) == WH_SQLITE) {
    /* data_version changes when another connection commits to that file,
     * and means something only to this connection: the generation names
     * it. */
    char *b = NULL, *s = NULL, *g = NULL;
    rc = wh_query_value(wh, "PRAGMA bronze.data_version", NULL, 0, &b, err);
    if (rc == 0) rc = wh_query_value(wh, "PRAGMA silver.data_version", NULL, 0, &s, err);
    if (rc == 0) rc = wh_query_value(wh, "PRAGMA gold.data_version", NULL, 0, &g, err);
    if (rc == 0) v = xasprintf("sqlite-%u-%s-%s-%s", generation, b, s, g);
    free(b);
    free(s);
    free(g);
  } else {
    /* dbt rebuilds a model into a new table and swaps it in: a new oid.
     * The bronze load adds rows to loaded_objects. */
    rc = wh_query_value(
        wh,
        "SELECT coalesce((SELECT string_agg(c.relname || ':' || c.oid::text, ','"
        " ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('silver', 'gold') AND c.relkind IN ('r', 'v')), '')"
        " || '|' || (SELECT count(*) || '|' || coalesce(max(loaded_at)::text, '')"
        " FROM bronze.loaded_objects)",
        NULL, 0, &v, err);
  }
  if (rc == 0) *out = v ? v : xstrdup("");
  return rc;
}

static const enum kind ov_kinds[] = {K_INT, K_INT, K_INT, K_TEXT, K_TEXT};

int dash_sql_read(struct wh *wh, const struct dash_range *r, json_t **out, char **err) {
  *out = NULL;
  bool ranged = r->start[0] || r->end[0];
  const char *p[2] = {r->start[0] ? r->start : FIRST_DAY, r->end[0] ? r->end : LAST_DAY};
  json_t *o = json_object();
  json_object_set_new(o, "backend",
                      json_string(wh_backend(wh) == WH_SQLITE ? "sqlite" : "postgresql"));
  json_object_set_new(o, "range", ranged ? json_pack("{s:s?, s:s?}", "start",
                                                      r->start[0] ? r->start : NULL, "end",
                                                      r->end[0] ? r->end : NULL)
                                         : json_null());
  json_object_set_new(o, "source", json_string(ranged ? "silver" : "gold"));

  /* Overview. */
  json_t *tmp = json_object();
  static const char *const ov_names[] = {"plays", "listeners", "total_ms", "first_day",
                                         "last_day", NULL};
  int rc = rows(wh,
                "SELECT coalesce(sum(play_count), 0), count(DISTINCT user_id),"
                " coalesce(sum(total_ms), 0), min(played_date), max(played_date)"
                " FROM gold.daily_user_stats WHERE played_date >= $1 AND played_date <= $2",
                p, tmp, "r", ov_names, ov_kinds, err);
  static const char *const ta_names[] = {"tracks", "artists", NULL};
  static const enum kind ta_kinds[] = {K_INT, K_INT};
  if (rc == 0)
    rc = rows(wh,
              ranged ? "SELECT count(DISTINCT track_id), count(DISTINCT artist_name)"
                       " FROM silver.silver_plays WHERE played_date >= $1 AND played_date <= $2"
                     : "SELECT (SELECT count(*) FROM gold.top_tracks),"
                       " (SELECT count(*) FROM gold.top_artists)",
              p, tmp, "c", ta_names, ta_kinds, err);
  static const char *const ll_names[] = {"last_load", NULL};
  static const enum kind ll_kinds[] = {K_TEXT};
  if (rc == 0)
    rc = rows(wh, "SELECT max(loaded_at) FROM bronze.loaded_objects", p, tmp, "l", ll_names,
              ll_kinds, err);
  if (rc == 0) {
    json_t *ov = json_object();
    json_t *a = json_array_get(json_object_get(tmp, "r"), 0);
    json_t *b = json_array_get(json_object_get(tmp, "c"), 0);
    json_t *c = json_array_get(json_object_get(tmp, "l"), 0);
    json_int_t plays = json_integer_value(json_object_get(a, "plays"));
    json_int_t total_ms = json_integer_value(json_object_get(a, "total_ms"));
    json_object_set(ov, "plays", json_object_get(a, "plays"));
    json_object_set(ov, "listeners", json_object_get(a, "listeners"));
    json_object_set(ov, "tracks", json_object_get(b, "tracks"));
    json_object_set(ov, "artists", json_object_get(b, "artists"));
    json_object_set_new(ov, "avg_play_seconds",
                        plays ? json_real((double)total_ms / (double)plays / 1000.0)
                              : json_null());
    json_object_set_new(ov, "listening_hours", json_real((double)total_ms / 3600000.0));
    json_object_set(ov, "first_day", json_object_get(a, "first_day"));
    json_object_set(ov, "last_day", json_object_get(a, "last_day"));
    json_object_set(ov, "last_load", json_object_get(c, "last_load"));
    json_object_set_new(o, "overview", ov);
  }
  json_decref(tmp);

  /* Trends. */
  static const char *const hour_names[] = {"hour", "plays", NULL};
  static const enum kind hour_kinds[] = {K_INT, K_INT};
  if (rc == 0)
    rc = rows(wh,
              "SELECT CAST(substr(played_at, 12, 2) AS INTEGER) AS hour, count(*)"
              " FROM silver.silver_plays WHERE played_date >= $1 AND played_date <= $2"
              " GROUP BY 1 ORDER BY 1",
              p, o, "plays_by_hour", hour_names, hour_kinds, err);
  if (rc == 0) {
    /* Every hour of the day, those without plays as 0, so the chart's
     * axis is the whole day. */
    json_t *got = json_object_get(o, "plays_by_hour"), *all = json_array();
    json_int_t by_hour[24] = {0};
    size_t i;
    json_t *row;
    json_array_foreach(got, i, row) {
      json_int_t h = json_integer_value(json_object_get(row, "hour"));
      if (h >= 0 && h < 24) by_hour[h] = json_integer_value(json_object_get(row, "plays"));
    }
    for (int h = 0; h < 24; h++)
      json_array_append_new(all, json_pack("{s:i, s:I}", "hour", h, "plays", by_hour[h]));
    json_object_set_new(o, "plays_by_hour", all);
  }
  static const char *const day_names[] = {"day", "plays", "listeners", "total_ms", NULL};
  static const enum kind day_kinds[] = {K_TEXT, K_INT, K_INT, K_INT};
  if (rc == 0)
    rc = rows(wh,
              "SELECT played_date, sum(play_count), count(DISTINCT user_id), sum(total_ms)"
              " FROM gold.daily_user_stats WHERE played_date >= $1 AND played_date <= $2"
              " GROUP BY played_date ORDER BY played_date",
              p, o, "plays_by_day", day_names, day_kinds, err);

  /* Tops and devices: gold's, or over the range from gold's source. */
  static const char *const tt_names[] = {"rank", "track_name", "artist_name", "plays", NULL};
  static const enum kind tt_kinds[] = {K_INT, K_TEXT, K_TEXT, K_INT};
  if (rc == 0)
    rc = rows(wh,
              ranged ? "SELECT rank() OVER (ORDER BY count(*) DESC), min(track_name),"
                       " min(artist_name), count(*) FROM silver.silver_plays"
                       " WHERE played_date >= $1 AND played_date <= $2"
                       " GROUP BY track_id ORDER BY 1, 2 LIMIT 10"
                     : "SELECT rank, track_name, artist_name, play_count FROM gold.top_tracks"
                       " ORDER BY rank, track_name LIMIT 10",
              p, o, "top_tracks", tt_names, tt_kinds, err);
  static const char *const ta2_names[] = {"rank", "artist_name", "plays", "tracks", NULL};
  static const enum kind ta2_kinds[] = {K_INT, K_TEXT, K_INT, K_INT};
  if (rc == 0)
    rc = rows(wh,
              ranged ? "SELECT rank() OVER (ORDER BY count(*) DESC), artist_name, count(*),"
                       " count(DISTINCT track_id) FROM silver.silver_plays"
                       " WHERE artist_name IS NOT NULL AND played_date >= $1"
                       " AND played_date <= $2 GROUP BY artist_name ORDER BY 1, 2 LIMIT 10"
                     : "SELECT rank, artist_name, play_count, unique_tracks FROM gold.top_artists"
                       " ORDER BY rank, artist_name LIMIT 10",
              p, o, "top_artists", ta2_names, ta2_kinds, err);
  static const char *const dev_names[] = {"device_type", "plays", "listeners", "pct", NULL};
  static const enum kind dev_kinds[] = {K_TEXT, K_INT, K_INT, K_REAL};
  if (rc == 0)
    rc = rows(wh,
              ranged ? "SELECT device_type, count(*), count(DISTINCT user_id),"
                       " round(100.0 * count(*) / sum(count(*)) OVER (), 2)"
                       " FROM silver.silver_plays WHERE played_date >= $1 AND played_date <= $2"
                       " GROUP BY device_type ORDER BY 2 DESC, 1"
                     : "SELECT device_type, play_count, unique_users, pct FROM gold.device_usage"
                       " ORDER BY play_count DESC, device_type",
              p, o, "devices", dev_names, dev_kinds, err);
  if (rc != 0) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return 0;
}
