/* fsutil.h - folders: the project's one `mkdir -p`.
 *
 * The scheduler (log folders), the lake's local store and dbt's compiled
 * files all create nested folders through these, from the support
 * library. */
#ifndef DAG_FSUTIL_H
#define DAG_FSUTIL_H

/* Create the folder `dir` (borrowed) and any missing parents, each 0755
 * (less the umask); a level that already exists is fine. Returns 0 when
 * `dir` is a folder afterwards, -ENOTDIR when it, or a parent, is
 * something else, or another -errno from mkdir(2). */
int dag_fs_mkdir_p(const char *dir);

/* dag_fs_mkdir_p() of the folder part of the file path `path` (borrowed):
 * everything before its last '/'; nothing to do without one. */
int dag_fs_mkdir_parents(const char *path);

#endif
