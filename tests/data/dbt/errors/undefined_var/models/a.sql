select {{ var('nope') }}
