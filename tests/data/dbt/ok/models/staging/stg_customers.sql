select id, name from {{ source("raw", "customers_v2") }}
