/* fsutil.c - folders: the project's one `mkdir -p` (see fsutil.h). */
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"

/* Makes the first `len` bytes of p a folder. The folder itself is tried
 * first: it is usually new while its parents are there (a try's log
 * folder), and each mkdir() of a path looks up every component. Only when
 * a parent is missing does it walk the copy, cutting it at each '/'. A
 * folder made meanwhile by another process is EEXIST, so concurrent
 * callers agree. */
static int mkdir_upto(char *p, size_t len) {
  char end = p[len];
  p[len] = '\0';
  int rc = mkdir(p, 0755) == 0 ? 0 : -errno;
  p[len] = end;
  if (rc == 0) return 0;
  if (rc == -ENOENT) {
    rc = 0;
    for (size_t i = 1; i <= len && rc == 0; i++) {
      if (i < len && p[i] != '/') continue;
      char save = p[i];
      p[i] = '\0';
      if (mkdir(p, 0755) != 0 && errno != EEXIST) rc = -errno;
      p[i] = save;
    }
  }
  if (rc != 0 && rc != -EEXIST) return rc;
  /* EEXIST says nothing about what exists: a file of that name is not a
   * folder to write into. */
  struct stat st;
  p[len] = '\0';
  rc = stat(p, &st) != 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
  p[len] = end;
  return rc;
}

int dag_fs_mkdir_p(const char *dir) {
  size_t len = strlen(dir);
  if (len == 0) return -ENOENT;
  char *p = xstrdup(dir);
  int rc = mkdir_upto(p, len);
  free(p);
  return rc;
}

int dag_fs_mkdir_parents(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path) return 0;
  char *p = xstrdup(path);
  int rc = mkdir_upto(p, (size_t)(slash - path));
  free(p);
  return rc;
}
