select * from {{ that }}
