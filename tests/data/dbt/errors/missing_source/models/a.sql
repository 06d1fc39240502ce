select *
from {{ source('raw', 'gone') }}
