/* lake_local.c - the lake in a local folder, one file per object.
 *
 * A put writes a temporary file beside the target, fsyncs it, renames it
 * over the target and fsyncs the folder: readers see the old object or the
 * new one, never part of one, and a put that returned survives a crash
 * (the Kafka consumer commits its offsets on that promise). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fsutil.h"
#include "lake_int.h"
#include "strbuf.h"

#define TMP_PREFIX ".lake-tmp-"

struct local {
  char *root; /* without a trailing '/' (except for "/" itself) */
};

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = fsync(fd) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

static int local_put(struct lake *lk, const char *key, const void *data, size_t len,
                     char **err) {
  struct local *L = lk->backend;
  char *path = xasprintf("%s/%s", L->root, key);
  char *slash = strrchr(path, '/');
  char *dir = xstrndup(path, (size_t)(slash - path));
  char *tmp = xasprintf("%s/" TMP_PREFIX "XXXXXX", dir);
  const char *step = "create folder";
  int fd = -1;
  int rc = dag_fs_mkdir_p(dir);
  if (rc == 0) {
    step = "create temporary file";
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) rc = -errno;
  }
  if (rc == 0) {
    step = "write";
    /* mkostemp makes 0600; an object is as readable as any other file. */
    if (fchmod(fd, 0644) != 0) rc = -errno;
    if (rc == 0) rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0) rc = -errno;
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc == 0) {
      step = "rename";
      if (rename(tmp, path) != 0) rc = -errno;
    }
    if (rc < 0) unlink(tmp);
  }
  if (rc == 0) {
    step = "sync folder";
    rc = fsync_dir(dir);
  }
  if (rc < 0)
    lake__error(err, "lake: put %s: %s %s: %s", key, step, rc == -ENOTDIR ? dir : path,
                strerror(-rc));
  free(tmp);
  free(dir);
  free(path);
  return rc;
}

static int local_get(struct lake *lk, const char *key, char **data, size_t *len,
                     char **err) {
  struct local *L = lk->backend;
  char *path = xasprintf("%s/%s", L->root, key);
  int rc = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct strbuf sb = STRBUF_INIT;
  if (fd < 0) {
    rc = -errno;
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
      rc = -ENOENT; /* a folder is a prefix, not an object */
    } else {
      char buf[65536];
      for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0) {
          if (errno == EINTR) continue;
          rc = -errno;
          break;
        }
        if (r == 0) break;
        sb_appendn(&sb, buf, (size_t)r);
      }
    }
    close(fd);
  }
  if (rc == -ENOTDIR || rc == -EISDIR) rc = -ENOENT;
  if (rc < 0) {
    if (rc == -ENOENT)
      lake__error(err, "lake: get %s: no such key in %s", key, L->root);
    else
      lake__error(err, "lake: get %s: %s: %s", key, path, strerror(-rc));
    sb_free(&sb);
  } else {
    *len = sb.len;
    /* An empty object is still a string the caller frees. */
    *data = sb.len ? sb_detach(&sb) : xstrdup("");
  }
  free(path);
  return rc;
}

struct walk {
  struct strbuf path; /* the folder being read, relative to the root; "" or "a/b/" */
  const char *root;
  const char *prefix;
  char ***keys;
  size_t *n, *cap;
};

/* Recursive: depth is bounded by the key length limit's worth of '/'. */
static int walk_dir(struct walk *w) {
  char *abs = xasprintf("%s/%s", w->root, sb_str(&w->path));
  DIR *d = opendir(abs);
  if (d == NULL) {
    int rc = -errno;
    free(abs);
    /* A prefix whose folder does not exist lists nothing. */
    return rc == -ENOENT || rc == -ENOTDIR ? 0 : rc;
  }
  size_t plen = strlen(w->prefix);
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
      continue;
    size_t base = w->path.len;
    sb_append(&w->path, name);
    /* Only descend where the prefix can still match. */
    size_t cmp = w->path.len < plen ? w->path.len : plen;
    int match = strncmp(sb_str(&w->path), w->prefix, cmp) == 0;
    if (match) {
      struct stat st;
      char *full = xasprintf("%s/%s", w->root, sb_str(&w->path));
      /* A symlinked file is an object; a symlinked folder is not followed,
       * since it could loop. */
      int link = 0;
      if (lstat(full, &st) != 0)
        st.st_mode = 0;
      else if (S_ISLNK(st.st_mode) && (link = 1, stat(full, &st) != 0))
        st.st_mode = 0;
      free(full);
      if (S_ISDIR(st.st_mode) && !link) {
        sb_appendc(&w->path, '/');
        rc = walk_dir(w);
      } else if (S_ISREG(st.st_mode) && w->path.len >= plen &&
                 lake__valid_key(sb_str(&w->path), false)) {
        lake__keys_push(w->keys, w->n, w->cap, xstrdup(sb_str(&w->path)));
      }
    }
    w->path.len = base;
    w->path.buf[base] = '\0';
  }
  if (rc == 0 && errno != 0) rc = -errno;
  closedir(d);
  free(abs);
  return rc;
}

static int local_list(struct lake *lk, const char *prefix, char ***keys, size_t *n,
                      size_t *cap, char **err) {
  struct local *L = lk->backend;
  struct walk w = {STRBUF_INIT, L->root, prefix, keys, n, cap};
  /* Start at the prefix's deepest complete folder. */
  const char *slash = strrchr(prefix, '/');
  if (slash) sb_appendn(&w.path, prefix, (size_t)(slash - prefix + 1));
  int rc = walk_dir(&w);
  if (rc < 0) lake__error(err, "lake: list %s in %s: %s", prefix, L->root, strerror(-rc));
  sb_free(&w.path);
  return rc;
}

static void local_close(struct lake *lk) {
  struct local *L = lk->backend;
  free(L->root);
  free(L);
}

static const struct lake_ops local_ops = {local_put, local_get, local_list, local_close};

int lake__local_open(struct lake *lk, const char *root, char **err) {
  if (*root == '\0') {
    lake__error(err, "lake: empty folder name");
    return -EINVAL;
  }
  size_t len = strlen(root);
  while (len > 1 && root[len - 1] == '/')
    len--;
  char *r = xstrndup(root, len);
  int rc = dag_fs_mkdir_p(r);
  if (rc < 0) {
    lake__error(err, "lake: cannot create folder %s: %s", r, strerror(-rc));
    free(r);
    return rc;
  }
  struct local *L = xcalloc(1, sizeof(*L));
  /* "/" + "/" + key would still name the right file; keep one slash. */
  L->root = strcmp(r, "/") == 0 ? (free(r), xstrdup("")) : r;
  lk->backend = L;
  lk->ops = &local_ops;
  lk->describe = xstrdup(L->root[0] ? L->root : "/");
  return 0;
}
