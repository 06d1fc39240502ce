/* migrations.h - the schema migrations compiled into the binary. */
#ifndef DAG_MIGRATIONS_H
#define DAG_MIGRATIONS_H

struct dag_migration {
  int version;      /* NNNN from the file name */
  const char *name; /* file name without .sql */
  const char *sql;
  /* NNNN_name.pg.sql where the dialects differ too much for the
   * translation of sql (store_pg_translate_ddl); NULL: translate sql. */
  const char *pg_sql;
};

/* Sorted by version; generated from migrations/NNNN_name.sql (and
 * NNNN_name.pg.sql) at build time. */
extern const struct dag_migration dag_migrations[];
extern const unsigned dag_migrations_count;

#endif
