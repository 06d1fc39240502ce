/* migrations.h - the schema migrations compiled into the binary. */
#ifndef DAG_MIGRATIONS_H
#define DAG_MIGRATIONS_H

struct dag_migration {
  int version;      /* NNNN from the file name */
  const char *name; /* file name without .sql */
  const char *sql;
};

/* Sorted by version; generated from migrations/NNNN_name.sql at build time. */
extern const struct dag_migration dag_migrations[];
extern const unsigned dag_migrations_count;

#endif
