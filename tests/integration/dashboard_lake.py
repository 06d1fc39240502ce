#!/usr/bin/env python3
"""dashboard_lake.py ROOT FIRST N - a lake object of N listening events
(event ids FIRST..FIRST+N-1) over the three days before today, so that
freshness never matters, for the dashboard's tests. Skewed like real
listening: a few tracks lead, evenings are busy, mobile wins. Deterministic
for a given FIRST."""
import datetime, json, os, random, sys
root, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(first)
today = datetime.datetime.now(datetime.timezone.utc).date()
days = [today - datetime.timedelta(days=k) for k in (3, 2, 1)]
artists = ["Artist %s" % c for c in "ABCDEFG"]
d = os.path.join(root, "raw_events/year=2026/month=01/day=01/hour=00")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "objects-%d.ndjson" % first), "w") as f:
    for i in range(first, first + n):
        t = min(int(rnd.paretovariate(1.2)), 18)  # skewed: a few tracks lead
        day = days[rnd.choice([0, 1, 1, 2, 2, 2])]
        hour = rnd.choice([7, 8, 8, 12, 17, 18, 18, 18, 21, 22, 23, 0, 3])
        f.write(json.dumps({
            "event_id": "ev-%05d" % i, "user_id": "user-%02d" % rnd.randrange(23),
            "event_type": rnd.choice(["play", "pause", "skip", "add_to_playlist"]),
            "track_id": "track-%02d" % t, "track_name": "Song <%02d> & co" % t,
            "artist_name": artists[t % len(artists)], "album_name": "Album",
            "duration_ms": rnd.randrange(30000, 300000),
            "played_at": "%sT%02d:%02d:%02dZ" % (day.isoformat(), hour, rnd.randrange(60), rnd.randrange(60)),
            "device_type": rnd.choice(["mobile", "mobile", "mobile", "desktop", "desktop", "web", "tablet", "smart_speaker"]),
            "country": "SE"}) + "\n")
