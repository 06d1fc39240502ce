select * from {{ source('src', 'kinds') }}
