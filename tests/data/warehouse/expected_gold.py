#!/usr/bin/env python3
"""The gold tables of dags/spotify_dbt computed independently, in plain Python.

Usage: expected_gold.py OBJECT... > expected.json

OBJECTs are lake files (NDJSON, .gz allowed) in the order the loader loaded
them. The rules are the project's, restated from its documentation rather
than its SQL: a line is an event if it is a JSON object with non-empty
strings event_id, user_id, event_type, track_id, played_at (ISO-8601 date
and time), an integer duration_ms, and strings or nulls for track_name,
artist_name, album_name, device_type, country; the first copy of an
event_id wins; silver keeps 0 < duration_ms < 600000. Only the standard
library, so the comparison does not share code with what it checks.
"""
import gzip
import json
import re
import sys
from collections import defaultdict

REQUIRED = ["event_id", "user_id", "event_type", "track_id", "played_at"]
OPTIONAL = ["track_name", "artist_name", "album_name", "device_type", "country"]
ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def valid(ev):
    if not isinstance(ev, dict):
        return False
    for k in REQUIRED:
        if not isinstance(ev.get(k), str) or ev[k] == "":
            return False
    if not ISO.match(ev["played_at"]):
        return False
    d = ev.get("duration_ms")
    if not isinstance(d, int) or isinstance(d, bool):
        return False
    return all(ev.get(k) is None or isinstance(ev.get(k), str) for k in OPTIONAL)


def events(paths):
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", newline="") as f:
            for line in f.read().split("\n"):
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if valid(ev):
                    yield ev


def ranks(counts):
    """rank() over (order by count desc): 1 + how many are strictly greater."""
    values = list(counts.values())
    return {k: 1 + sum(1 for v in values if v > c) for k, c in counts.items()}


def main(paths):
    seen, silver = set(), []
    for ev in events(paths):
        if ev["event_id"] in seen:
            continue
        seen.add(ev["event_id"])
        if 0 < ev["duration_ms"] < 600000:
            silver.append(ev)

    daily = defaultdict(lambda: {"n": 0, "tracks": set(), "ms": 0})
    for ev in silver:
        d = daily[(ev["played_at"][:10], ev["user_id"])]
        d["n"] += 1
        d["tracks"].add(ev["track_id"])
        d["ms"] += ev["duration_ms"]
    daily_rows = [[day, user, d["n"], len(d["tracks"]), d["ms"], round(d["ms"] / 60000.0, 2)]
                  for (day, user), d in sorted(daily.items())]

    tracks = defaultdict(list)
    for ev in silver:
        tracks[ev["track_id"]].append(ev)
    track_counts = {t: len(evs) for t, evs in tracks.items()}
    track_rank = ranks(track_counts)

    def smallest(evs, key):
        vals = [e.get(key) for e in evs if e.get(key) is not None]
        return min(vals) if vals else None

    track_rows = [[t, smallest(evs, "track_name"), smallest(evs, "artist_name"),
                   track_counts[t], track_rank[t]] for t, evs in sorted(tracks.items())]

    artists = defaultdict(list)
    for ev in silver:
        if ev.get("artist_name") is not None:
            artists[ev["artist_name"]].append(ev)
    artist_counts = {a: len(evs) for a, evs in artists.items()}
    artist_rank = ranks(artist_counts)
    artist_rows = [[a, artist_counts[a], len({e["track_id"] for e in evs}), artist_rank[a]]
                   for a, evs in sorted(artists.items())]

    devices = defaultdict(list)
    for ev in silver:
        devices[ev.get("device_type")].append(ev)
    total = len(silver)
    device_rows = [[dev, len(evs), len({e["user_id"] for e in evs}),
                    round(100.0 * len(evs) / total, 2)]
                   for dev, evs in sorted(devices.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))]

    json.dump({"silver_count": len(silver),
               "daily_user_stats": daily_rows,
               "top_tracks": track_rows,
               "top_artists": artist_rows,
               "device_usage": device_rows}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
