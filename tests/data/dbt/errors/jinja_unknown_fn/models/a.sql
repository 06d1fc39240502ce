select {{ run_query('select 1') }}
