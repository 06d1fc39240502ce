{{ config(materialized='table', tags=['plays']) }}

{#
  One row per event_id: the consumer writes at least once, so the same event
  can sit in several lake objects. The copy loaded first wins (loaded_at, then
  where it came from). Only plays strictly between min_duration_ms and
  max_duration_ms are kept. SQL valid on SQLite and PostgreSQL alike: dates
  are the first ten characters of the ISO-8601 played_at text.
#}

with ranked as (

    select
        p.*,
        row_number() over (
            partition by p.event_id
            order by p.loaded_at, p.source_object, p.line_number
        ) as copy_number
    from {{ source('bronze', 'plays') }} as p

)

select
    event_id,
    user_id,
    event_type,
    track_id,
    track_name,
    artist_name,
    album_name,
    cast(duration_ms as bigint) as duration_ms,
    played_at,
    substr(played_at, 1, 10) as played_date,
    device_type,
    country,
    source_object,
    loaded_at,
    current_timestamp as processed_at  -- when this model ran
from ranked
where copy_number = 1
  and duration_ms > {{ var('min_duration_ms', 0) }}
  and duration_ms < {{ var('max_duration_ms', 600000) }}
