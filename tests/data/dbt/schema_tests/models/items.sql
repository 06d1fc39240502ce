select * from {{ source('src', 'items') }}
