/* dag_validate_group.c - task groups and the task graph's edges.
 *
 * `groups:` declares Airflow's TaskGroups: each has an id, its own
 * default_args (over its parent's, under its tasks' own keys), tasks and
 * nested groups, and an `upstream`. A task's id inside a group is
 * `group.task` (TaskGroup.child_id()), unless the group sets
 * prefix_group_id: false. A dependency on a group is one on each of its
 * leaves (its tasks with no downstream task inside it); a group's upstream
 * is that of each of its roots (its tasks with no upstream task inside it),
 * as `group >> task` and `task >> group` are in Airflow.
 *
 * Roots and leaves depend on edges that may themselves come from nested
 * groups, so groups are settled innermost first: groups are numbered in
 * pre-order, so every descendant of g has a larger index, and by the time g
 * is settled, every edge between two of its tasks exists. O(groups x edges)
 * in the worst case; a DAG without groups is O(tasks + edges) as before. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "didyoumean.h"
#include "ids.h"

enum {
  G_ID,
  G_PREFIX,
  G_TOOLTIP,
  G_DEFAULT_ARGS,
  G_UPSTREAM,
  G_TASKS,
  G_GROUPS,
  G__COUNT
};

static const char *const group_keys[G__COUNT] = {
    "id", "prefix_group_id", "tooltip", "default_args", "upstream", "tasks", "groups",
};

char *dag__child_id(const struct dag *dag, size_t group, const char *label) {
  const struct dag_group *g = group ? &dag->groups[group - 1] : NULL;
  if (g && g->prefix_group_id) return xasprintf("%s.%s", g->id, label);
  return xstrdup(label);
}

char *dag__task_path(const struct loadctx *ctx, size_t i) {
  return ctx->task_paths ? xstrdup(ctx->task_paths[i]) : dag_yaml_path_index("tasks", i);
}

void dag__get_upstream(struct loadctx *ctx, const struct dag_ynode *v, struct dag__item *it) {
  char *path = dag_yaml_path_key(it->path, "upstream");
  if (v->kind == DAG_YN_SCALAR) {
    char *id;
    if (dag_yaml_get_string(&ctx->y, v, path, &id)) {
      free(id);
      it->refs = xcalloc(1, sizeof(*it->refs));
      it->refs[it->n_refs++] = (struct dag__upref){v, it->path, SIZE_MAX};
    }
  } else if (v->kind != DAG_YN_SEQ) {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, path, "expected a task id or a list of task ids, got %s", got);
    free(got);
  } else {
    it->refs = xcalloc(v->n + 1, sizeof(*it->refs));
    for (size_t i = 0; i < v->n; i++) {
      char *p = dag_yaml_path_index(path, i), *id;
      if (dag_yaml_get_string(&ctx->y, v->items[i], p, &id)) {
        free(id);
        it->refs[it->n_refs++] = (struct dag__upref){v->items[i], it->path, i};
      }
      free(p);
    }
  }
  free(path);
}

/* --- reading ------------------------------------------------------------- */

struct walk {
  struct loadctx *ctx;
  struct dag *dag;
  struct dag__layout *lay;
  size_t cap_tasks, cap_groups;
};

static void add_tasks(struct walk *w, const struct dag_ynode *seq, const char *path,
                      size_t group) {
  for (size_t i = 0; i < seq->n; i++) {
    struct dag__layout *lay = w->lay;
    if (lay->n_tasks == w->cap_tasks) {
      w->cap_tasks = w->cap_tasks ? 2 * w->cap_tasks : 16;
      lay->tasks = xrealloc(lay->tasks, w->cap_tasks * sizeof(*lay->tasks));
    }
    lay->tasks[lay->n_tasks++] = (struct dag__item){
        .node = seq->items[i], .path = dag_yaml_path_index(path, i), .group = group};
  }
}

static void add_groups(struct walk *w, const struct dag_ynode *seq, const char *path,
                       size_t parent);

static bool is_list(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                    const char *what) {
  if (v->kind == DAG_YN_SEQ) return true;
  char *got = dag_yaml_describe(v);
  dag_yaml_err(&ctx->y, v, path, "expected a list of %s, got %s", what, got);
  free(got);
  return false;
}

static void add_group(struct walk *w, const struct dag_ynode *item, char *gpath, size_t parent) {
  struct loadctx *ctx = w->ctx;
  struct dag *dag = w->dag;
  struct dag__layout *lay = w->lay;
  if (lay->n_groups == w->cap_groups) {
    w->cap_groups = w->cap_groups ? 2 * w->cap_groups : 8;
    lay->groups = xrealloc(lay->groups, w->cap_groups * sizeof(*lay->groups));
    lay->args = xrealloc(lay->args, w->cap_groups * sizeof(*lay->args));
    dag->groups = xrealloc(dag->groups, w->cap_groups * sizeof(*dag->groups));
  }
  size_t gi = lay->n_groups++;
  struct dag__item *it = &lay->groups[gi];
  struct dag_group *g = &dag->groups[gi];
  *it = (struct dag__item){.node = item, .path = gpath, .group = parent};
  *g = (struct dag_group){.prefix_group_id = true, .parent = parent, .line = item->line,
                          .col = item->col};
  dag->n_groups = lay->n_groups;
  dag_task_args_copy(&lay->args[gi], parent ? &lay->args[parent - 1] : &dag->default_args);

  if (item->kind != DAG_YN_MAP) {
    char *got = dag_yaml_describe(item);
    dag_yaml_err(&ctx->y, item, gpath, "expected a mapping (a task group), got %s", got);
    free(got);
    g->label = xstrdup("");
    g->id = xstrdup("");
    g->tooltip = xstrdup("");
    return;
  }
  const struct dag_ynode *v[G__COUNT] = {0};
  for (size_t i = 0; i < item->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(item, i);
    size_t j = 0;
    while (j < G__COUNT && strcmp(k->value, group_keys[j]) != 0) j++;
    if (j < G__COUNT)
      v[j] = dag_yaml_is_null(DAG_YN_VAL(item, i)) ? NULL : DAG_YN_VAL(item, i);
    else
      dag__unknown_key(ctx, k, gpath, group_keys, G__COUNT);
  }

  char *p = dag_yaml_path_key(gpath, "id");
  if (v[G_ID] == NULL) {
    dag_yaml_err(&ctx->y, item, p, "required key is missing");
  } else if (dag_yaml_get_string(&ctx->y, v[G_ID], p, &g->label)) {
    /* Airflow's group keys have no '.': it is what joins a group's id to
     * its children's. */
    const char *why = strchr(g->label, '.') ? "use letters, digits, '_' and '-'"
                                            : dag_id_problem(DAG_ID_TASK, g->label);
    if (why) {
      dag_yaml_err(&ctx->y, v[G_ID], p, "invalid group id '%s' (%s)", g->label, why);
      free(g->label);
      g->label = NULL;
    }
  }
  free(p);
  if (g->label == NULL) g->label = xstrdup("");
  g->id = parent ? dag__child_id(dag, parent, g->label) : xstrdup(g->label);
  if (*g->label && strlen(g->id) > DAG_ID_MAX_LEN)
    dag_yaml_err(&ctx->y, v[G_ID], gpath, "group id '%.40s...' is longer than %d characters",
                 g->id, DAG_ID_MAX_LEN);
  if (v[G_PREFIX]) {
    p = dag_yaml_path_key(gpath, "prefix_group_id");
    dag_yaml_get_bool(&ctx->y, v[G_PREFIX], p, &g->prefix_group_id);
    free(p);
  }
  if (v[G_TOOLTIP]) {
    p = dag_yaml_path_key(gpath, "tooltip");
    dag_yaml_get_string(&ctx->y, v[G_TOOLTIP], p, &g->tooltip);
    free(p);
  }
  if (g->tooltip == NULL) g->tooltip = xstrdup("");
  if (v[G_DEFAULT_ARGS]) {
    p = dag_yaml_path_key(gpath, "default_args");
    dag__get_args(ctx, v[G_DEFAULT_ARGS], p, &lay->args[gi]);
    free(p);
  }
  if (v[G_UPSTREAM]) dag__get_upstream(ctx, v[G_UPSTREAM], it);
  size_t first_task = lay->n_tasks, first_group = lay->n_groups;
  if (v[G_TASKS]) {
    p = dag_yaml_path_key(gpath, "tasks");
    if (is_list(ctx, v[G_TASKS], p, "tasks")) add_tasks(w, v[G_TASKS], p, gi + 1);
    free(p);
  }
  if (v[G_GROUPS]) {
    p = dag_yaml_path_key(gpath, "groups");
    if (is_list(ctx, v[G_GROUPS], p, "task groups")) add_groups(w, v[G_GROUPS], p, gi + 1);
    free(p);
  }
  /* An empty group could be neither upstream nor downstream of anything. */
  if (lay->n_tasks == first_task && lay->n_groups == first_group)
    dag_yaml_err(&ctx->y, item, gpath, "a task group needs at least one task");
}

static void add_groups(struct walk *w, const struct dag_ynode *seq, const char *path,
                       size_t parent) {
  for (size_t i = 0; i < seq->n && !dag_yaml_saturated(&w->ctx->y); i++)
    add_group(w, seq->items[i], dag_yaml_path_index(path, i), parent);
}

/* The order of the file: the graph's ties and the grid's rows follow it. */
static int by_position(const void *a, const void *b) {
  const struct dag__item *x = a, *y = b;
  if (x->node->line != y->node->line) return x->node->line < y->node->line ? -1 : 1;
  if (x->node->col != y->node->col) return x->node->col < y->node->col ? -1 : 1;
  return strcmp(x->path, y->path);
}

void dag__layout_read(struct loadctx *ctx, struct dag *dag, const struct dag_ynode *tasks,
                      const struct dag_ynode *groups, struct dag__layout *lay) {
  struct walk w = {.ctx = ctx, .dag = dag, .lay = lay};
  memset(lay, 0, sizeof(*lay));
  if (tasks) add_tasks(&w, tasks, "tasks", 0);
  if (groups && is_list(ctx, groups, "groups", "task groups")) add_groups(&w, groups, "groups", 0);
  if (lay->n_tasks > 1) qsort(lay->tasks, lay->n_tasks, sizeof(*lay->tasks), by_position);
}

void dag__layout_free(struct dag__layout *lay, size_t n_groups) {
  for (size_t i = 0; i < lay->n_tasks; i++) {
    free(lay->tasks[i].path);
    free(lay->tasks[i].refs);
  }
  for (size_t i = 0; i < lay->n_groups; i++) {
    free(lay->groups[i].path);
    free(lay->groups[i].refs);
  }
  for (size_t i = 0; i < n_groups; i++) dag_task_args_free(&lay->args[i]);
  free(lay->tasks);
  free(lay->groups);
  free(lay->args);
  memset(lay, 0, sizeof(*lay));
}

/* --- linking ------------------------------------------------------------- */

/* One end of a dependency: a task or a group. */
struct end {
  bool group;
  size_t index; /* in dag->tasks or dag->groups */
};

/* A dependency as resolved: `from` upstream of `to`. */
struct dep {
  struct end from, to;
  const struct dag__upref *ref;
  size_t via;
};

/* A task-level edge. */
struct tedge {
  size_t from, to;
  const struct dag__upref *ref;
  size_t via;
  size_t seq; /* the dependency it comes from, in the file's order, then */
  size_t k;   /* the order it was made in */
};

struct linker {
  struct loadctx *ctx;
  struct dag *dag;
  const struct dag__layout *lay;
  const struct dag_strmap *ids;
  struct dag_strmap gids;
  struct tedge *e;
  size_t n_e, cap_e;
  /* Per group: its tasks' indexes, then its roots and leaves once settled. */
  size_t **members, *n_members;
  size_t **roots, *n_roots, **leaves, *n_leaves;
  const char **names; /* for did-you-mean, built on demand */
  size_t n_names;
};

/* Whether group `outer` (1 + index) is `inner` (1 + index) or holds it. */
static bool holds(const struct dag *dag, size_t outer, size_t inner) {
  for (; inner; inner = dag->groups[inner - 1].parent)
    if (inner == outer) return true;
  return false;
}

static void add_edge(struct linker *l, size_t from, size_t to, const struct dag__upref *ref,
                     size_t via, size_t seq) {
  if (l->n_e == l->cap_e) {
    l->cap_e = l->cap_e ? 2 * l->cap_e : 64;
    l->e = xrealloc(l->e, l->cap_e * sizeof(*l->e));
  }
  l->e[l->n_e] = (struct tedge){from, to, ref, via, seq, l->n_e};
  l->n_e++;
}

/* `name` as seen from inside group `scope` (1 + index, 0: the top): the
 * innermost enclosing group's member of that name first, so that siblings
 * name each other by their short id; the full id always works. */
static bool resolve(struct linker *l, const char *name, size_t scope, struct end *out) {
  for (size_t s = scope;; s = l->dag->groups[s - 1].parent) {
    char *id = s ? dag__child_id(l->dag, s, name) : xstrdup(name);
    size_t j;
    bool found = false;
    if (dag_strmap_get(l->ids, id, &j)) {
      *out = (struct end){false, j};
      found = true;
    } else if (dag_strmap_get(&l->gids, id, &j)) {
      *out = (struct end){true, j};
      found = true;
    }
    free(id);
    if (found || s == 0) return found;
  }
}

/* Inside a group, the names as its members may write them: "extract" for
 * "etl.extract" seen from etl, beside the full ids. */
static const char *closest(struct linker *l, const char *id, size_t scope) {
  char *prefix = scope ? dag__child_id(l->dag, scope, "") : xstrdup("");
  size_t plen = strlen(prefix);
  const char **cands = xcalloc(2 * l->n_names + 1, sizeof(*cands));
  size_t n = 0;
  for (size_t k = 0; k < l->n_names; k++) {
    cands[n++] = l->names[k];
    if (plen && strncmp(l->names[k], prefix, plen) == 0 && l->names[k][plen])
      cands[n++] = l->names[k] + plen;
  }
  const char *best = dag_did_you_mean(id, cands, n);
  free(cands);
  free(prefix);
  return best;
}

static void unknown(struct linker *l, const struct dag__upref *ref, size_t scope,
                    const char *p) {
  const char *id = ref->node->value, *best = NULL;
  struct dag *dag = l->dag;
  if (!dag_yaml_saturated(&l->ctx->y)) {
    if (l->names == NULL) {
      l->names = xcalloc(dag->n_tasks + dag->n_groups + 1, sizeof(*l->names));
      /* Only ids that were accepted: suggesting a refused one would answer
       * "unknown task '..' (did you mean '..'?)". */
      for (size_t k = 0; k < dag->n_tasks; k++)
        if (dag->tasks[k].id && dag_id_is_valid(DAG_ID_TASK, dag->tasks[k].id))
          l->names[l->n_names++] = dag->tasks[k].id;
      for (size_t k = 0; k < dag->n_groups; k++)
        if (*dag->groups[k].label) l->names[l->n_names++] = dag->groups[k].id;
    }
    best = closest(l, id, scope);
  }
  const char *what = dag->n_groups ? "task or group" : "task";
  if (best)
    dag_yaml_err(&l->ctx->y, ref->node, p, "unknown %s '%s' (did you mean '%s'?)", what, id, best);
  else
    dag_yaml_err(&l->ctx->y, ref->node, p, "unknown %s '%s'", what, id);
}

static char *ref_path(const struct dag__upref *r) {
  return r->index == SIZE_MAX ? xasprintf("%s.upstream", r->owner)
                              : xasprintf("%s.upstream[%zu]", r->owner, r->index);
}

static const char *end_id(const struct dag *dag, struct end e) {
  return e.group ? dag->groups[e.index].id : dag->tasks[e.index].id;
}

/* The references of one task or group (`self`) into deps; problems are
 * reported where they are written. */
static void resolve_refs(struct linker *l, const struct dag__item *it, struct end self,
                         size_t scope, struct dep **deps, size_t *n_deps, size_t *cap_deps,
                         size_t *seen_t, size_t *seen_g, size_t stamp) {
  struct dag *dag = l->dag;
  size_t self_group = self.group ? self.index + 1 : dag->tasks[self.index].group;
  for (size_t r = 0; r < it->n_refs; r++) {
    const struct dag__upref *ref = &it->refs[r];
    const char *name = ref->node->value;
    char *p = ref_path(ref);
    struct end up;
    const char *sid = end_id(dag, self);
    if (sid == NULL) sid = name; /* a task whose id was refused */
    if (!resolve(l, name, scope, &up)) {
      unknown(l, ref, scope, p);
    } else if (up.group == self.group && up.index == self.index) {
      dag_yaml_err(&l->ctx->y, ref->node, p, "%s '%s' cannot depend on itself",
                   self.group ? "group" : "task", sid);
    } else if (up.group && holds(dag, up.index + 1, self_group)) {
      dag_yaml_err(&l->ctx->y, ref->node, p, "%s '%s' cannot depend on group '%s' that holds it",
                   self.group ? "group" : "task", sid, end_id(dag, up));
    } else if (self.group && holds(dag, self.index + 1,
                                   up.group ? up.index + 1 : dag->tasks[up.index].group)) {
      dag_yaml_err(&l->ctx->y, ref->node, p, "group '%s' cannot depend on %s '%s' inside it",
                   sid, up.group ? "group" : "task", end_id(dag, up));
    } else if ((up.group ? seen_g : seen_t)[up.index] == stamp) {
      dag_yaml_err(&l->ctx->y, ref->node, p, "%s '%s' is listed twice",
                   up.group ? "group" : "task", end_id(dag, up));
    } else {
      (up.group ? seen_g : seen_t)[up.index] = stamp;
      if (*n_deps == *cap_deps) {
        *cap_deps = *cap_deps ? 2 * *cap_deps : 16;
        *deps = xrealloc(*deps, *cap_deps * sizeof(**deps));
      }
      size_t via = up.group ? up.index + 1 : self.group ? self.index + 1 : 0;
      (*deps)[(*n_deps)++] = (struct dep){up, self, ref, via};
    }
    free(p);
  }
}

/* Roots and leaves of group g from the edges so far (all of those between
 * its tasks, see the top of the file). */
static void settle(struct linker *l, size_t g) {
  size_t n = l->n_members[g];
  const size_t *m = l->members[g];
  struct dag *dag = l->dag;
  unsigned char *flag = xcalloc(dag->n_tasks, 1); /* 1 member, |2 has up inside, |4 down */
  for (size_t i = 0; i < n; i++) flag[m[i]] = 1;
  for (size_t k = 0; k < l->n_e; k++) {
    const struct tedge *e = &l->e[k];
    if ((flag[e->from] & 1) && (flag[e->to] & 1)) {
      flag[e->to] |= 2;
      flag[e->from] |= 4;
    }
  }
  l->roots[g] = xcalloc(n ? n : 1, sizeof(size_t));
  l->leaves[g] = xcalloc(n ? n : 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++) {
    if (!(flag[m[i]] & 2)) l->roots[g][l->n_roots[g]++] = m[i];
    if (!(flag[m[i]] & 4)) l->leaves[g][l->n_leaves[g]++] = m[i];
  }
  free(flag);
}

static int by_target(const void *a, const void *b) {
  const struct tedge *x = a, *y = b;
  if (x->to != y->to) return x->to < y->to ? -1 : 1;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return x->k < y->k ? -1 : x->k > y->k;
}

static void materialize(struct linker *l, const struct dep *d, size_t seq) {
  const size_t *from = &d->from.index, *to = &d->to.index;
  size_t n_from = 1, n_to = 1;
  if (d->from.group) {
    from = l->leaves[d->from.index];
    n_from = l->n_leaves[d->from.index];
  }
  if (d->to.group) {
    to = l->roots[d->to.index];
    n_to = l->n_roots[d->to.index];
  }
  for (size_t a = 0; a < n_from; a++)
    for (size_t b = 0; b < n_to; b++) add_edge(l, from[a], to[b], d->ref, d->via, seq);
}

/* When both ends of a dependency are known: after its innermost-numbered
 * (smallest index) group is settled; SIZE_MAX: at once. */
static size_t ready_at(const struct dep *d) {
  size_t r = SIZE_MAX;
  if (d->from.group) r = d->from.index;
  if (d->to.group && d->to.index < r) r = d->to.index;
  return r;
}

static void check_group_ids(struct linker *l) {
  struct dag *dag = l->dag;
  for (size_t g = 0; g < dag->n_groups; g++) {
    const struct dag_group *grp = &dag->groups[g];
    if (*grp->label == '\0') continue;
    const struct dag_ynode *idn = dag_yaml_get(l->lay->groups[g].node, "id");
    char *p = dag_yaml_path_key(l->lay->groups[g].path, "id");
    size_t j;
    if (dag_strmap_get(l->ids, grp->id, &j))
      dag_yaml_err(&l->ctx->y, idn, p, "group id '%s' is also a task id (line %d)", grp->id,
                   dag->tasks[j].line);
    else if (!dag_strmap_add(&l->gids, grp->id, g, &j))
      dag_yaml_err(&l->ctx->y, idn, p, "duplicate group id '%s' (first declared at line %d)",
                   grp->id, dag->groups[j].line);
    free(p);
  }
}

void dag__link(struct loadctx *ctx, struct dag *dag, const struct dag__layout *lay,
               const struct dag_strmap *ids, struct dag__edge ***edges_out) {
  size_t n = dag->n_tasks, ng = dag->n_groups;
  struct linker l = {.ctx = ctx, .dag = dag, .lay = lay, .ids = ids};
  check_group_ids(&l);

  struct dep *deps = NULL;
  size_t n_deps = 0, cap_deps = 0;
  size_t *seen_t = xcalloc(n + 1, sizeof(size_t)), *seen_g = xcalloc(ng + 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    resolve_refs(&l, &lay->tasks[i], (struct end){false, i}, dag->tasks[i].group, &deps,
                 &n_deps, &cap_deps, seen_t, seen_g, i + 1);
  for (size_t g = 0; g < ng; g++)
    resolve_refs(&l, &lay->groups[g], (struct end){true, g}, dag->groups[g].parent, &deps,
                 &n_deps, &cap_deps, seen_t, seen_g, n + g + 1);
  free(seen_t);
  free(seen_g);

  /* Task-to-task dependencies first; the rest as their groups settle. */
  for (size_t k = 0; k < n_deps; k++)
    if (ready_at(&deps[k]) == SIZE_MAX) materialize(&l, &deps[k], k);
  if (ng) {
    l.members = xcalloc(ng, sizeof(*l.members));
    l.n_members = xcalloc(ng, sizeof(size_t));
    l.roots = xcalloc(ng, sizeof(*l.roots));
    l.n_roots = xcalloc(ng, sizeof(size_t));
    l.leaves = xcalloc(ng, sizeof(*l.leaves));
    l.n_leaves = xcalloc(ng, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
      for (size_t g = dag->tasks[i].group; g; g = dag->groups[g - 1].parent) l.n_members[g - 1]++;
    for (size_t g = 0; g < ng; g++) {
      l.members[g] = xcalloc(l.n_members[g] + 1, sizeof(size_t));
      l.n_members[g] = 0;
    }
    for (size_t i = 0; i < n; i++)
      for (size_t g = dag->tasks[i].group; g; g = dag->groups[g - 1].parent)
        l.members[g - 1][l.n_members[g - 1]++] = i;
    for (size_t g = ng; g-- > 0;) {
      settle(&l, g);
      for (size_t k = 0; k < n_deps; k++)
        if (ready_at(&deps[k]) == g) materialize(&l, &deps[k], k);
    }
  }

  /* Upstream lists in the order the edges were made, each edge once: a
   * task may be reached both by name and through a group. */
  size_t *count = xcalloc(n + 1, sizeof(size_t)), *stamp = xcalloc(n + 1, sizeof(size_t));
  for (size_t k = 0; k < l.n_e; k++) count[l.e[k].to]++;
  struct dag__edge **edges = xcalloc(n + 1, sizeof(*edges));
  size_t *n_down = xcalloc(n + 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    if (count[i]) {
      dag->tasks[i].upstream = xcalloc(count[i], sizeof(size_t));
      edges[i] = xcalloc(count[i], sizeof(**edges));
    }
  /* By target, each target's edges in the order of the file, so that
   * stamp[from] == to + 1 says the edge is there already. */
  if (l.n_e > 1) qsort(l.e, l.n_e, sizeof(*l.e), by_target); /* qsort(NULL, 0) is UB */
  for (size_t k = 0; k < l.n_e; k++) {
    const struct tedge *e = &l.e[k];
    struct dag_task *t = &dag->tasks[e->to];
    if (stamp[e->from] == e->to + 1) continue;
    stamp[e->from] = e->to + 1;
    edges[e->to][t->n_upstream] = (struct dag__edge){e->ref, e->via};
    t->upstream[t->n_upstream++] = e->from;
    n_down[e->from]++;
  }
  for (size_t j = 0; j < n; j++)
    if (n_down[j]) dag->tasks[j].downstream = xcalloc(n_down[j], sizeof(size_t));
  for (size_t i = 0; i < n; i++) {
    const struct dag_task *t = &dag->tasks[i];
    for (size_t u = 0; u < t->n_upstream; u++) {
      struct dag_task *up = &dag->tasks[t->upstream[u]];
      up->downstream[up->n_downstream++] = i;
    }
  }
  *edges_out = edges;

  free(n_down);
  free(count);
  free(stamp);
  for (size_t g = 0; g < ng; g++) {
    free(l.members[g]);
    free(l.roots[g]);
    free(l.leaves[g]);
  }
  free(l.members);
  free(l.n_members);
  free(l.roots);
  free(l.n_roots);
  free(l.leaves);
  free(l.n_leaves);
  free(l.e);
  free(l.names);
  free(deps);
  dag_strmap_free(&l.gids);
}
