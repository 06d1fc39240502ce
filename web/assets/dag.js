// dag.js - one DAG: the grid of runs x tasks, the selected run's details,
// its graph and its Gantt chart, and the trigger / pause / clear buttons.
'use strict';

const DAG_ID = decodeURIComponent(location.pathname.split('/')[2] || '');
const STATES = ['success', 'running', 'failed', 'upstream_failed', 'up_for_retry',
  'skipped', 'queued', 'scheduled', 'none'];
const params = new URLSearchParams(location.search);
const sel = {run: params.get('run'), task: params.get('task'), tab: params.get('tab') || 'details', downstream: true,
  open: new Set((params.get('open') || '').split(',').filter(Boolean))}; // unfolded task groups
let grid = null;      // the last /grid answer
let gridSig = '';     // its shape: run ids and task ids
let rows = [];        // the grid's rows: {task, ti} or {group}, as drawn
let cells = [];       // cells[row][run] elements
let runHeads = [];    // the run header bars
let latestVersion = null; // the DAG's latest good version number

function remember() {
  const q = new URLSearchParams();
  if (sel.run) q.set('run', sel.run);
  if (sel.task) q.set('task', sel.task);
  if (sel.tab !== 'details') q.set('tab', sel.tab);
  if (sel.open.size) q.set('open', [...sel.open].join(','));
  history.replaceState(null, '', location.pathname + (q.toString() ? '?' + q : ''));
}

function select(run, task) {
  sel.run = run;
  sel.task = task;
  remember();
  markSelection();
  renderDetail().catch(showError);
}

// --- head ---------------------------------------------------------------------

function renderHead(dag) {
  document.title = dag.dag_id + ' – dagctl';
  $('#dag-id').textContent = dag.dag_id;
  $('#dag-desc').textContent = dag.description || '';
  latestVersion = dag.dag_version_number;
  const pause = $('#pause');
  if (!pause.disabled) {
    pause.checked = !dag.is_paused;
    pause.title = dag.is_paused ? 'paused: click to unpause' : 'active: click to pause';
  }
  $('#dag-badges').replaceChildren(h('span', {},
    dag.is_paused ? h('span', {class: 'badge', 'data-state': 'queued', text: 'paused'}) : null,
    dag.has_import_errors ? h('span', {class: 'badge', 'data-state': 'failed', text: 'import error'}) : null,
    dag.tags.map((t) => h('span', {class: 'tag', text: t.name}))));
  const fact = (k, v) => [h('dt', {text: k}), h('dd', {}, v)];
  $('#dag-facts').replaceChildren(
    ...fact('Schedule', h('code', {text: fmtSchedule(dag.schedule_interval)})),
    ...fact('Next run', dag.is_paused || !dag.schedule_interval ? '–' : fmtTime(dag.next_dagrun)),
    ...fact('Timezone', dag.timezone),
    ...fact('Max active runs', String(dag.max_active_runs)),
    ...fact('Version', fmtVersion(dag.dag_version_number)),
    ...fact('File', h('code', {text: dag.fileloc})));
}

async function togglePause() {
  const box = $('#pause');
  box.disabled = true;
  try {
    await api('PATCH', dagUrl(DAG_ID), {is_paused: !box.checked});
    toast(DAG_ID + (box.checked ? ' unpaused' : ' paused'));
  } catch (e) {
    box.checked = !box.checked;
    showError(e);
  }
  box.disabled = false;
}

// --- grid ------------------------------------------------------------------------

function cellTip(task, i) {
  const run = grid.dag_runs[i];
  const st = task.states[i];
  let tip = (task.task_id || 'group ' + task.group_id) + '\n' + run.dag_run_id + '\n' + (st || 'no status');
  if (task.try_numbers && task.try_numbers[i] > 1) tip += ' · try ' + task.try_numbers[i];
  if (task.durations && task.durations[i] != null) tip += ' · ' + fmtDuration(task.durations[i]);
  const counts = mappedCounts(task, i);
  if (counts) tip += '\n' + counts + '\nclick the name to unfold';
  return tip;
}

// --- mapped tasks (expand:): one row, unfolded into one per map_index -------------

// "3 mapped: success 2, failed 1" for run i, or '' when it has none.
function mappedCounts(task, i) {
  const c = task.mapped && task.mapped.counts[i];
  if (!c) return '';
  const parts = STATES.filter((s) => c[s]).map((s) => s + ' ' + c[s]);
  const n = Object.values(c).reduce((a, b) => a + b, 0);
  return n + ' mapped: ' + parts.join(', ');
}

// The key of an unfolded mapped task in sel.open: no group id holds '['.
function mappedKey(t) {
  return t.task_id + '[]';
}

// --- task groups: folded into one row or node until a click opens them -------------

function groupsById() {
  return new Map((grid.groups || []).map((g) => [g.group_id, g]));
}

// A task's groups, outermost first.
function chainOf(byId, groupId) {
  const c = [];
  for (let g = byId.get(groupId); g; g = byId.get(g.parent_group_id)) c.unshift(g);
  return c;
}

// What stands for a task: itself, or the outermost folded group holding it.
function shownAs(byId, t) {
  const g = chainOf(byId, t.group_id).find((x) => !sel.open.has(x.group_id));
  return g ? {key: 'g:' + g.group_id, group: g} : {key: 't:' + t.task_id, task: t};
}

// A task's name without its groups' prefix, as Airflow labels it.
function shortName(t) {
  return t.group_id && t.task_id.startsWith(t.group_id + '.') ? t.task_id.slice(t.group_id.length + 1) : t.task_id;
}

function toggleGroup(id, open) {
  if (open === undefined) open = !sel.open.has(id);
  if (open) sel.open.add(id);
  else for (const o of [...sel.open]) if (o === id || o.startsWith(id + '.')) sel.open.delete(o);
  remember();
  refresh().catch(showError);
}

function gridRows() {
  const byId = groupsById();
  const out = [], seen = new Set();
  grid.tasks.forEach((t, ti) => {
    let depth = 0;
    for (const g of chainOf(byId, t.group_id)) {
      if (!seen.has(g.group_id)) {
        seen.add(g.group_id);
        out.push({key: 'g:' + g.group_id, group: g, depth});
      }
      if (!sel.open.has(g.group_id)) return;
      depth++;
    }
    // A mapped task's key holds its width: its label and rows follow it.
    out.push({key: 't:' + t.task_id + (t.mapped ? '[' + t.mapped.states.length + ']' : ''), task: t, ti, depth});
    if (t.mapped && sel.open.has(mappedKey(t)))
      t.mapped.states.forEach((states, k) => out.push({key: 'm:' + t.task_id + '[' + k + ']', task: t, ti,
        depth: depth + 1, inst: {task_id: t.task_id + '[' + k + ']', map_index: k, states}}));
  });
  return out;
}

function rowName(row) {
  const pad = row.depth * 12 + 'px';
  if (row.group) {
    const g = row.group, open = sel.open.has(g.group_id);
    const b = h('button', {type: 'button', class: 'task-name group-name', 'data-group': g.group_id,
      'aria-expanded': String(open), title: g.group_id + (g.tooltip ? '\n' + g.tooltip : ''),
      text: (open ? '▾ ' : '▸ ') + g.label, onclick: () => toggleGroup(g.group_id)});
    b.style.paddingLeft = pad;
    return b;
  }
  const t = row.task;
  if (row.inst) {
    const b = h('button', {type: 'button', class: 'task-name mapped-index', title: row.inst.task_id,
      text: '[' + row.inst.map_index + ']', onclick: () => select(sel.run, t.task_id)});
    b.style.paddingLeft = pad;
    return b;
  }
  if (t.mapped) {
    // Folded: the task's own state in each cell, the counts in its title;
    // a click on the name unfolds one row per map_index.
    const open = sel.open.has(mappedKey(t));
    const b = h('button', {type: 'button', class: 'task-name mapped-name', 'data-mapped': t.task_id,
      'aria-expanded': String(open), title: t.task_id + ' (mapped)\nclick to ' + (open ? 'fold' : 'unfold'),
      text: (open ? '▾ ' : '▸ ') + shortName(t) + ' [' + t.mapped.states.length + ']',
      onclick: () => toggleGroup(mappedKey(t))});
    b.style.paddingLeft = pad;
    // The selected run's count in each state, beside the name (markSelection()).
    b.append(h('span', {class: 'mapped-counts', 'data-mapped': t.task_id}));
    return b;
  }
  const b = h('button', {type: 'button', class: 'task-name', title: t.task_id, text: shortName(t),
    onclick: () => select(sel.run, t.task_id)});
  b.style.paddingLeft = pad;
  return b;
}

function buildGrid() {
  const runs = grid.dag_runs;
  const wrap = $('#grid');
  if (!grid.tasks.length) {
    wrap.replaceChildren(h('p', {class: 'muted', text: 'This DAG has no tasks recorded yet.'}));
    return;
  }
  const g = h('div', {class: 'grid'});
  g.style.gridTemplateColumns = 'minmax(140px, max-content) repeat(' + Math.max(runs.length, 1) + ', 18px)';
  g.append(h('div', {class: 'corner', text: runs.length ? '' : 'no runs yet'}));
  const longest = Math.max(1, ...runs.map((r) => duration(r.start_date, r.end_date) || 0));
  runHeads = runs.map((r) => {
    const d = duration(r.start_date, r.end_date) || 0;
    const bar = h('span', {class: 'bar', 'data-state': r.state});
    bar.style.height = Math.round(8 + 44 * d / longest) + 'px';
    // A run brought in by `dagctl import` is marked above its bar.
    return h('button', {type: 'button', class: 'run-head', 'data-run': r.dag_run_id,
      title: r.dag_run_id + '\n' + r.state + ' · ' + fmtTime(r.logical_date) + ' · ' + fmtDuration(d) +
        (r.imported_at ? '\nimported ' + fmtTime(r.imported_at) : ''),
      onclick: () => select(r.dag_run_id, null)},
      r.imported_at ? h('span', {class: 'imported-mark', 'aria-label': 'imported', text: 'i'}) : null, bar);
  });
  g.append(...runHeads);
  cells = rows.map((row) => {
    g.append(rowName(row));
    const item = row.inst || row.task || row.group;
    return runs.map((r, i) => {
      const attrs = {type: 'button', class: row.group ? 'cell group-cell' : row.task.mapped && !row.inst ? 'cell mapped-cell' : 'cell',
        'data-state': item.states[i] || 'none', 'data-run': r.dag_run_id, title: cellTip(item, i)};
      if (row.inst) {
        attrs['data-task'] = row.task.task_id;
        attrs['data-map-index'] = String(row.inst.map_index);
        attrs.onclick = () => select(r.dag_run_id, row.task.task_id);
      } else if (row.group) {
        attrs['data-group'] = row.group.group_id;
        attrs.onclick = () => { sel.run = r.dag_run_id; toggleGroup(row.group.group_id, true); };
      } else {
        attrs['data-task'] = row.task.task_id;
        attrs.onclick = () => select(r.dag_run_id, row.task.task_id);
      }
      const counts = !row.inst && row.task && row.task.mapped ? row.task.mapped.counts[i] : null;
      if (counts) attrs['data-counts'] = STATES.filter((s) => counts[s]).map((s) => s + ':' + counts[s]).join(' ');
      const c = h('button', attrs);
      g.append(c);
      return c;
    });
  });
  wrap.replaceChildren(g);
}

function updateGrid() {
  const runs = grid.dag_runs;
  const longest = Math.max(1, ...runs.map((r) => duration(r.start_date, r.end_date) || 0));
  runs.forEach((r, i) => {
    const bar = runHeads[i].firstChild;
    const d = duration(r.start_date, r.end_date) || 0;
    bar.dataset.state = r.state;
    bar.style.height = Math.round(8 + 44 * d / longest) + 'px';
  });
  rows.forEach((row, ri) => {
    const item = row.inst || row.task || row.group;
    item.states.forEach((st, i) => {
      const c = cells[ri][i];
      if (c.dataset.state !== (st || 'none')) c.dataset.state = st || 'none';
      const counts = !row.inst && row.task && row.task.mapped ? row.task.mapped.counts[i] : null;
      const dc = counts ? STATES.filter((s) => counts[s]).map((s) => s + ':' + counts[s]).join(' ') : undefined;
      if (c.dataset.counts !== dc) {
        if (dc === undefined) delete c.dataset.counts;
        else c.dataset.counts = dc;
      }
      const tip = cellTip(item, i);
      if (c.title !== tip) c.title = tip;
    });
  });
}

// Each folded mapped task's counts in the selected run: a square of the
// state's colour and the number, for each state one of its instances is in.
function showMappedCounts(ri) {
  for (const span of document.querySelectorAll('#grid .mapped-counts')) {
    const t = grid.tasks.find((x) => x.task_id === span.dataset.mapped);
    const c = t && t.mapped && ri >= 0 ? t.mapped.counts[ri] : null;
    const key = c ? JSON.stringify(c) : '';
    if (span.dataset.shown === key) continue;
    span.dataset.shown = key;
    span.replaceChildren(...(c ? STATES.filter((s) => c[s]).map((s) =>
      h('span', {class: 'mapped-count', 'data-state': s, title: s},
        h('span', {class: 'square', 'data-state': s}), String(c[s]))) : []));
  }
}

function markSelection() {
  for (const e of document.querySelectorAll('#grid .sel')) e.classList.remove('sel');
  const ri = grid ? grid.dag_runs.findIndex((r) => r.dag_run_id === sel.run) : -1;
  if (grid) showMappedCounts(ri);
  if (ri < 0) return;
  runHeads[ri].classList.add('sel');
  const ti = sel.task ? rows.findIndex((row) => row.task && row.task.task_id === sel.task) : -1;
  if (ti >= 0) cells[ti][ri].classList.add('sel');
}

function renderLegend() {
  $('#legend').replaceChildren(...STATES.map((s) =>
    h('span', {class: 'legend-item'}, h('span', {class: 'square', 'data-state': s}), s === 'none' ? 'no status' : s)));
}

// --- details ------------------------------------------------------------------------------

function selectedRun() {
  return grid && grid.dag_runs.find((r) => r.dag_run_id === sel.run);
}

function facts(pairs) {
  return h('dl', {class: 'facts'}, pairs.flatMap(([k, v]) => [h('dt', {text: k}), h('dd', {}, v)]));
}

async function clearTasks(body, what) {
  if (!confirm('Clear ' + what + '? The tasks run again.')) return;
  try {
    const res = await api('POST', dagUrl(DAG_ID) + '/clearTaskInstances',
      Object.assign({dag_run_id: sel.run, dry_run: false}, body));
    toast('cleared ' + res.task_instances.length + ' task instance' + (res.task_instances.length === 1 ? '' : 's'));
    refresh().catch(showError);
  } catch (e) {
    showError(e);
  }
}

// Mark by hand, as Airflow: a task instance (updateTaskInstancesState; a
// running one is stopped) or a whole run (PATCH dagRuns/{run_id}).
async function markTask(state, downstream) {
  if (!confirm('Mark ' + sel.task + (downstream ? ' and its downstream tasks ' : ' ') + state + '?')) return;
  try {
    const res = await api('POST', dagUrl(DAG_ID) + '/updateTaskInstancesState',
      {dag_run_id: sel.run, task_id: sel.task, new_state: state, include_downstream: downstream, dry_run: false});
    toast('marked ' + res.task_instances.length + ' task instance' + (res.task_instances.length === 1 ? '' : 's') + ' ' + state);
    refresh().catch(showError);
  } catch (e) {
    showError(e);
  }
}

async function markRun(state) {
  if (!confirm('Mark run ' + sel.run + ' ' + state + '? Its running tasks are stopped.')) return;
  try {
    await api('PATCH', runUrl(DAG_ID, sel.run), {state});
    toast('marked run ' + sel.run + ' ' + state);
    refresh().catch(showError);
  } catch (e) {
    showError(e);
  }
}

async function deleteRun() {
  if (!confirm('Delete run ' + sel.run + ' with its task instances, XCom and logs? Its running tasks are stopped first.')) return;
  try {
    await api('DELETE', runUrl(DAG_ID, sel.run));
    toast('deleted run ' + sel.run);
    sel.run = null;
    refresh().catch(showError);
  } catch (e) {
    showError(e);
  }
}

// The task instance's XCom values (Airflow's xcomEntries: the list, then
// each entry's value), the first 50 keys.
async function xcomTable(run) {
  const base = runUrl(DAG_ID, run.dag_run_id) + '/taskInstances/' + enc(sel.task) + '/xcomEntries';
  const list = await apiGet(base);
  if (!list.xcom_entries.length) return null;
  const entries = await Promise.all(list.xcom_entries.slice(0, 50).map((x) => apiGet(base + '/' + enc(x.key))));
  const cut = (v) => (v.length > 500 ? v.slice(0, 500) + '…' : v);
  return h('div', {class: 'xcom'}, h('h4', {text: 'XCom'}),
    facts(entries.map((x) => [x.key, h('code', {text: cut(x.value)})])));
}

// A mapped task: its instances, each with its state and its tries' logs.
async function mappedDetail(run) {
  const base = runUrl(DAG_ID, run.dag_run_id) + '/taskInstances/' + enc(sel.task);
  const [list, tries] = await Promise.all([apiGet(base + '/listMapped?limit=1000'),
    apiGet(runUrl(DAG_ID, run.dag_run_id) + '/tries?task_id=' + enc(sel.task))]);
  return h('div', {class: 'task-detail mapped-detail'},
    h('h3', {}, 'Task ', h('code', {text: sel.task}), ' ', h('span', {class: 'muted',
      text: list.total_entries + ' mapped instance' + (list.total_entries === 1 ? '' : 's')})),
    h('div', {class: 'instances'}, list.task_instances.map((ti) =>
      h('div', {class: 'tries instance', 'data-map-index': String(ti.map_index)},
        h('code', {text: '[' + ti.map_index + ']'}), ' ', stateBadge(ti.state), ' ',
        ...tries.task_tries.filter((t) => t.map_index === ti.map_index).map((t) =>
          h('a', {class: 'try-link', 'data-state': t.state,
            href: tryPage(DAG_ID, run.dag_run_id, sel.task, t.try_number) + '?map_index=' + ti.map_index,
            text: 'try ' + t.try_number})),
        ti.error ? h('span', {class: 'error-text', text: ' ' + ti.error}) : null))));
}

async function taskDetail(run) {
  const gt = grid.tasks.find((t) => t.task_id === sel.task);
  const ri = grid.dag_runs.indexOf(run);
  if (gt && gt.mapped && ri >= 0 && gt.mapped.counts[ri]) return mappedDetail(run);
  const [ti, tries, xcom] = await Promise.all([
    apiGet(runUrl(DAG_ID, run.dag_run_id) + '/taskInstances/' + enc(sel.task)),
    apiGet(runUrl(DAG_ID, run.dag_run_id) + '/tries?task_id=' + enc(sel.task)),
    xcomTable(run),
  ]);
  const down = h('input', {type: 'checkbox', checked: sel.downstream,
    onchange: (ev) => { sel.downstream = ev.target.checked; }});
  return h('div', {class: 'task-detail'},
    h('h3', {}, 'Task ', h('code', {text: ti.task_id}), ' ', stateBadge(ti.state)),
    facts([
      ['Type', ti.operator || '–'],
      ['Pool', ti.pool + (ti.pool_slots > 1 ? ' (' + ti.pool_slots + ' slots)' : '') +
        (ti.priority_weight == null ? '' : ' · weight ' + ti.priority_weight)],
      ['Waiting for', ti.waiting_for ? h('span', {class: 'waiting-for', text: ti.waiting_for}) : '–'],
      ['Try', ti.try_number + ' of ' + (ti.max_tries + 1)],
      ['Started', fmtTime(ti.start_date)],
      ['Ended', fmtTime(ti.end_date)],
      ['Duration', fmtDuration(ti.duration != null ? ti.duration : duration(ti.start_date, ti.end_date))],
      ['Exit code', ti.exit_code == null ? '–' : String(ti.exit_code)],
      ['Max RSS', fmtRss(ti)],
      ['CPU', fmtCpu(ti)],
      ['Error', ti.error ? h('span', {class: 'error-text', text: ti.error}) : '–'],
      ['Next retry', fmtTime(ti.next_retry_at)],
    ]),
    h('div', {class: 'tries'}, 'Logs: ',
      tries.task_tries.length ? tries.task_tries.map((t) =>
        h('a', {class: 'try-link', 'data-state': t.state, href: tryPage(DAG_ID, run.dag_run_id, t.task_id, t.try_number),
          text: 'try ' + t.try_number})) : h('span', {class: 'muted', text: 'not run yet'})),
    xcom,
    h('div', {class: 'buttons'},
      h('label', {class: 'check'}, down, ' with downstream'),
      h('button', {type: 'button', class: 'btn', text: 'Clear task',
        onclick: () => clearTasks({task_ids: [sel.task], include_downstream: down.checked}, sel.task)}),
      h('button', {type: 'button', class: 'btn', text: 'Mark success', id: 'mark-task-success',
        onclick: () => markTask('success', down.checked)}),
      h('button', {type: 'button', class: 'btn', text: 'Mark failed', id: 'mark-task-failed',
        onclick: () => markTask('failed', down.checked)})));
}

// A run brought in by `dagctl import` (imported_at set): it was not run here.
function importedBadge(run) {
  return h('span', {class: 'badge imported', title: 'imported ' + fmtTime(run.imported_at), text: 'imported'});
}

// A run linked by a trigger_dag task: its DAG page with the run selected.
function runLink(l) {
  return h('a', {href: '/dags/' + enc(l.dag_id) + '?run=' + enc(l.dag_run_id), 'data-state': l.state,
    title: l.state, text: l.dag_id + ' / ' + l.dag_run_id});
}

// "Triggered by" and "Triggered" rows from the run's own API answer.
function linkFacts(links) {
  if (!links) return [];
  const rows = [];
  if (links.triggered_by) {
    rows.push(['Triggered by', h('span', {}, runLink(links.triggered_by), ' (task ',
      h('code', {text: links.triggered_by.task_id}), ')')]);
  }
  if (links.triggered && links.triggered.length) {
    rows.push(['Triggered', h('span', {class: 'triggered-runs'}, links.triggered.map((l) =>
      h('span', {}, runLink(l), ' by ', h('code', {text: l.task_id}), ' ', stateBadge(l.state), ' ')))]);
  }
  return rows;
}

// What the run's callbacks (on_success_callback, on_failure_callback)
// printed, when any ran.
function callbackLog(cb) {
  if (!cb || !cb.content) return null;
  return [h('div', {class: 'conf-label', text: 'Callbacks' + (cb.truncated ? ' (the end)' : '')}),
    h('pre', {class: 'conf', id: 'run-callbacks', text: cb.content})];
}

function runDetail(run, links, cb) {
  return h('div', {class: 'run-detail'},
    h('h3', {}, 'Run ', h('code', {text: run.dag_run_id}), ' ', stateBadge(run.state),
      run.imported_at ? [' ', importedBadge(run)] : null),
    facts([
      ['Type', run.run_type],
      ['Logical date', fmtTime(run.logical_date)],
      ['Data interval', fmtTime(run.data_interval_start) + ' → ' + fmtTime(run.data_interval_end)],
      ['Queued', fmtTime(run.queued_at)],
      ['Started', fmtTime(run.start_date)],
      ['Ended', fmtTime(run.end_date)],
      ['Duration', fmtDuration(duration(run.start_date, run.end_date))],
      ['DAG version', fmtVersion(run.dag_version_number)],
    ].concat(run.imported_at ? [['Imported', fmtTime(run.imported_at)]] : [], linkFacts(links))),
    h('div', {class: 'conf-label', text: 'Conf'}),
    h('pre', {class: 'conf', id: 'run-conf', text: JSON.stringify(run.conf, null, 2)}),
    callbackLog(cb),
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'btn', text: 'Clear failed',
        onclick: () => clearTasks({only_failed: true}, 'the failed tasks of ' + run.dag_run_id)}),
      h('button', {type: 'button', class: 'btn', text: 'Clear run',
        onclick: () => clearTasks({}, 'every task of ' + run.dag_run_id)}),
      h('button', {type: 'button', class: 'btn', text: 'Mark success', id: 'mark-run-success',
        onclick: () => markRun('success')}),
      h('button', {type: 'button', class: 'btn', text: 'Mark failed', id: 'mark-run-failed',
        onclick: () => markRun('failed')}),
      h('button', {type: 'button', class: 'btn danger', text: 'Delete run', id: 'delete-run',
        onclick: () => deleteRun()})));
}

// --- graph ------------------------------------------------------------------------------------

const NODE_W = 160, NODE_H = 30, GAP_X = 40, GAP_Y = 12, PAD = 12;

// Layers by longest path from a root (Kahn's order), each layer ordered by
// the mean position of its upstream tasks to keep edges short.
function layout(tasks) {
  const idx = new Map(tasks.map((t, i) => [t.task_id, i]));
  const ups = tasks.map((t) => t.upstream.map((u) => idx.get(u)).filter((u) => u !== undefined));
  const downs = tasks.map(() => []);
  ups.forEach((us, i) => us.forEach((u) => downs[u].push(i)));
  const indeg = ups.map((us) => us.length);
  const layer = tasks.map(() => 0);
  const queue = indeg.flatMap((d, i) => (d === 0 ? [i] : []));
  for (let k = 0; k < queue.length; k++) {
    const i = queue[k];
    for (const d of downs[i]) {
      layer[d] = Math.max(layer[d], layer[i] + 1);
      if (--indeg[d] === 0) queue.push(d);
    }
  }
  const layers = [];
  tasks.forEach((t, i) => (layers[layer[i]] = layers[layer[i]] || []).push(i));
  const row = tasks.map(() => 0);
  layers.forEach((ids, l) => {
    if (l > 0) {
      const key = (i) => ups[i].length ? ups[i].reduce((a, u) => a + row[u], 0) / ups[i].length : 0;
      ids.sort((a, b) => key(a) - key(b) || a - b);
    }
    ids.forEach((i, r) => (row[i] = r));
  });
  const pos = tasks.map((t, i) => ({x: PAD + layer[i] * (NODE_W + GAP_X), y: PAD + row[i] * (NODE_H + GAP_Y)}));
  const width = PAD * 2 + layers.length * (NODE_W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(...layers.map((l) => l.length)) * (NODE_H + GAP_Y) - GAP_Y;
  return {pos, ups, width, height};
}

// The graph's nodes: tasks, and each folded group as one node; an edge
// into or out of a folded group's task is one into or out of the group.
function graphNodes() {
  const byId = groupsById();
  const nodes = [], at = new Map();
  const shown = grid.tasks.map((t) => shownAs(byId, t));
  shown.forEach((s) => {
    if (at.has(s.key)) return;
    at.set(s.key, nodes.length);
    nodes.push({task_id: s.key, task: s.task, group: s.group, upstream: []});
  });
  const idx = new Map(grid.tasks.map((t, i) => [t.task_id, i]));
  grid.tasks.forEach((t, i) => t.upstream.forEach((u) => {
    if (!idx.has(u)) return;
    const from = shown[idx.get(u)].key, node = nodes[at.get(shown[i].key)];
    if (from !== node.task_id && !node.upstream.includes(from)) node.upstream.push(from);
  }));
  return nodes;
}

function graphView(run) {
  if (!grid.tasks.length) return h('p', {class: 'muted', text: 'No tasks.'});
  const tasks = graphNodes();
  const ri = run ? grid.dag_runs.indexOf(run) : -1;
  const {pos, ups, width, height} = layout(tasks);
  // Shrink a slightly too wide graph to fit; scroll a large one at full size.
  const room = ($('#detail').clientWidth || width) - 4;
  const scale = width > room && room / width >= 0.5 ? room / width : 1;
  const g = svg('svg', {class: 'graph', width: Math.floor(width * scale), height: Math.ceil(height * scale),
    viewBox: '0 0 ' + width + ' ' + height});
  const edges = svg('g', {class: 'edges'});
  ups.forEach((us, i) => us.forEach((u) => {
    const a = pos[u], b = pos[i];
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mx = (x1 + x2) / 2;
    edges.append(svg('path', {d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}));
  }));
  g.append(edges);
  const cut = (s) => (s.length > 22 ? s.slice(0, 21) + '…' : s);
  tasks.forEach((n, i) => {
    const at = `translate(${pos[i].x},${pos[i].y})`;
    let node;
    if (n.group) {
      const gr = n.group, st = ri >= 0 ? gr.states[ri] || 'none' : 'none';
      const count = grid.tasks.filter((t) => chainOf(groupsById(), t.group_id).includes(gr)).length;
      node = svg('g', {class: 'node group', 'data-state': st, 'data-group': gr.group_id, transform: at},
        svg('title', {text: 'group ' + gr.group_id + ' (' + count + ' tasks)' + (gr.tooltip ? '\n' + gr.tooltip : '') +
          '\n' + st + '\nclick to unfold'}),
        svg('rect', {width: NODE_W, height: NODE_H, rx: 9}),
        svg('rect', {class: 'stripe', width: 6, height: NODE_H, rx: 2}),
        svg('text', {x: 14, y: NODE_H / 2 + 4, text: cut('▸ ' + gr.label + ' (' + count + ')')}));
      node.addEventListener('click', () => toggleGroup(gr.group_id, true));
    } else {
      const t = n.task, st = ri >= 0 ? t.states[ri] || 'none' : 'none';
      node = svg('g', {class: 'node' + (t.task_id === sel.task ? ' sel' : ''), 'data-state': st,
        'data-task': t.task_id, transform: at},
        svg('title', {text: t.task_id + ' (' + t.type + ')\n' + st}),
        svg('rect', {width: NODE_W, height: NODE_H, rx: 5}),
        svg('rect', {class: 'stripe', width: 6, height: NODE_H, rx: 2}),
        svg('text', {x: 14, y: NODE_H / 2 + 4, text: cut(t.task_id)}));
      node.addEventListener('click', () => select(sel.run, t.task_id));
    }
    g.append(node);
  });
  // The unfolded groups, each with a button that folds it again.
  const open = (grid.groups || []).filter((gr) => sel.open.has(gr.group_id));
  return h('div', {class: 'graph-wrap'},
    open.length ? h('div', {class: 'graph-groups'}, open.map((gr) =>
      h('button', {type: 'button', class: 'btn fold', 'data-fold': gr.group_id, text: '▾ ' + gr.group_id,
        title: 'fold ' + gr.group_id + ' into one node', onclick: () => toggleGroup(gr.group_id, false)}))) : null,
    g);
}

// --- Gantt ------------------------------------------------------------------------------------

async function ganttView(run) {
  if (!run) return h('p', {class: 'muted', text: 'No run selected.'});
  const res = await apiGet(runUrl(DAG_ID, run.dag_run_id) + '/tries');
  const tries = res.task_tries.filter((t) => t.start_date);
  if (!tries.length) return h('p', {class: 'muted', text: 'No task has started in this run yet.'});
  const now = Date.now();
  const t0 = Math.min(...tries.map((t) => Date.parse(t.start_date)));
  const t1 = Math.max(t0 + 1, ...tries.map((t) => (t.end_date ? Date.parse(t.end_date) : now)));
  const rows = [];
  for (const t of tries.slice().sort((a, b) => Date.parse(a.start_date) - Date.parse(b.start_date)))
    if (!rows.includes(t.task_id)) rows.push(t.task_id);
  const LABEL = 170, ROW = 22, TOP = 24;
  const chartW = Math.max(320, ($('#detail').clientWidth || 600) - LABEL - 24);
  const width = LABEL + chartW + 8, height = TOP + rows.length * ROW + 4;
  const x = (ms) => LABEL + (ms - t0) / (t1 - t0) * chartW;
  const g = svg('svg', {class: 'gantt', width, height, viewBox: '0 0 ' + width + ' ' + height});
  for (let k = 0; k <= 4; k++) {
    const tx = LABEL + chartW * k / 4;
    g.append(svg('line', {class: 'tick', x1: tx, x2: tx, y1: TOP - 6, y2: height}),
      svg('text', {class: 'tick-label', x: tx, y: 12, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle',
        text: '+' + fmtDuration((t1 - t0) / 1000 * k / 4)}));
  }
  rows.forEach((id, r) => {
    const y = TOP + r * ROW;
    const label = id.length > 24 ? id.slice(0, 23) + '…' : id;
    g.append(svg('text', {class: 'row-label', x: 4, y: y + 15, text: label}, svg('title', {text: id})));
    for (const t of tries.filter((tt) => tt.task_id === id)) {
      const a = Date.parse(t.start_date), b = t.end_date ? Date.parse(t.end_date) : now;
      const bar = svg('rect', {class: 'gantt-bar', 'data-state': t.state, x: x(a), y: y + 3, rx: 2,
        width: Math.max(2, x(b) - x(a)), height: ROW - 6},
        svg('title', {text: id + ' try ' + t.try_number + ' · ' + t.state + '\n' + fmtTime(t.start_date) +
          ' · ' + fmtDuration((b - a) / 1000) +
          (t.max_rss_bytes != null ? '\nmax RSS ' + fmtRss(t) + ' · CPU ' + fmtCpu(t) : '')}));
      bar.addEventListener('click', () => { location.href = tryPage(DAG_ID, run.dag_run_id, id, t.try_number); });
      g.append(bar);
    }
  });
  return h('div', {class: 'gantt-wrap'}, g);
}

// --- code ------------------------------------------------------------------------------------

const fmtVersion = (n) => (n == null ? '–' : 'v' + n);

// The DAG's source as the scheduler stored it: the selected run's version
// (the graph that run keeps), else the latest good one; beside it, why the
// file as it is now does not load. Text only, as everything from the API.
async function codeView(run) {
  const n = run && run.dag_version_number;
  let src;
  try {
    src = await apiGet('/api/v1/dagSources/' + enc(DAG_ID) + (n ? '?version_number=' + n : ''));
  } catch (e) {
    if (e.status === 404) return h('p', {class: 'muted', text: 'No stored version of this DAG yet.'});
    throw e;
  }
  const latest = latestVersion;
  return h('div', {class: 'code-view'},
    h('h3', {}, 'Version ', h('code', {id: 'code-version', text: fmtVersion(src.version_number)}),
      run ? ' of run ' : ' (latest good)', run ? h('code', {text: run.dag_run_id}) : null,
      latest != null && src.version_number !== latest
        ? h('span', {class: 'muted', text: ' · the DAG is now at ' + fmtVersion(latest)}) : null),
    src.import_error ? h('div', {class: 'import-error'},
      h('div', {class: 'conf-label', text: 'The file does not load now; the scheduler runs its last good version:'}),
      h('pre', {class: 'error-text', id: 'code-error', text: src.import_error})) : null,
    h('div', {class: 'conf-label'}, h('code', {text: src.fileloc}), ' · sha256 ',
      h('code', {text: src.dag_hash.slice(0, 12)})),
    h('pre', {class: 'conf code', id: 'code-source',
      text: src.content == null ? '(stored without its file\'s text)' : src.content}));
}

// --- refresh -------------------------------------------------------------------------------------

async function renderDetail() {
  const run = selectedRun();
  let view;
  if (sel.tab === 'graph') {
    view = graphView(run);
  } else if (sel.tab === 'gantt') {
    view = await ganttView(run);
  } else if (sel.tab === 'code') {
    view = await codeView(run);
  } else if (!run) {
    view = h('p', {class: 'muted', text: 'No runs yet. Trigger one with the button above.'});
  } else {
    const links = await apiGet(runUrl(DAG_ID, run.dag_run_id)).catch(() => null);
    const cb = await apiGet(runUrl(DAG_ID, run.dag_run_id) + '/callbackLog').catch(() => null);
    view = h('div', {}, sel.task && grid.tasks.some((t) => t.task_id === sel.task) ? await taskDetail(run) : null,
      runDetail(run, links, cb));
  }
  const box = $('#detail');
  // Keep the reader's scroll position across refreshes.
  const scroll = box.firstChild ? [box.firstChild.scrollLeft, box.firstChild.scrollTop] : null;
  box.replaceChildren(view);
  if (scroll && view.scrollTo) view.scrollTo(scroll[0], scroll[1]);
}

async function refresh() {
  const limit = $('#limit').value;
  const [dag, g] = await Promise.all([apiGet(dagUrl(DAG_ID)), apiGet(dagUrl(DAG_ID) + '/grid?limit=' + limit)]);
  renderHead(dag);
  grid = g;
  rows = gridRows();
  const sig = g.dag_runs.map((r) => r.dag_run_id).join('\n') + '\0' + rows.map((r) => r.key).join('\n');
  if (sig !== gridSig) {
    buildGrid();
    gridSig = sig;
  } else {
    updateGrid();
  }
  if (!g.dag_runs.some((r) => r.dag_run_id === sel.run))
    sel.run = g.dag_runs.length ? g.dag_runs[g.dag_runs.length - 1].dag_run_id : null;
  markSelection();
  await renderDetail();
}

// One input per param, from its schema (Airflow's serialized Params of
// GET .../details): numbers, a checkbox, a list of choices, text with the
// schema's bounds, JSON for arrays and objects. The server checks the conf
// again (a message naming the field); these only help.
function paramInput(name, p) {
  const s = p.schema || {};
  const types = [].concat(s.type || []);
  const v = p.value;
  let input;
  if (Array.isArray(s.enum)) {
    input = h('select', {}, s.enum.map((o) => h('option', {value: JSON.stringify(o), text: String(o),
      selected: JSON.stringify(o) === JSON.stringify(v)})));
    input.dataset.kind = 'enum';
  } else if (types.includes('boolean')) {
    input = h('input', {type: 'checkbox', checked: v === true});
    input.dataset.kind = 'boolean';
  } else if (types.includes('integer') || types.includes('number')) {
    input = h('input', {type: 'number', value: v == null ? '' : String(v), min: s.minimum, max: s.maximum,
      step: types.includes('integer') ? '1' : 'any'});
    input.dataset.kind = types.includes('integer') ? 'integer' : 'number';
  } else if (types.includes('array') || types.includes('object') ||
             (v != null && typeof v === 'object')) {
    input = h('textarea', {rows: 3, spellcheck: 'false', text: v == null ? '' : JSON.stringify(v)});
    input.dataset.kind = 'json';
  } else {
    input = h('input', {type: 'text', value: v == null ? '' : String(v), minlength: s.minLength,
      maxlength: s.maxLength, autocomplete: 'off'});
    input.dataset.kind = 'string';
  }
  input.name = 'param:' + name;
  input.dataset.param = name;
  return h('label', {}, h('code', {text: name}), input,
    p.description ? h('span', {class: 'hint', text: p.description}) : null);
}

async function loadParams() {
  const box = $('#trigger-params');
  box.replaceChildren(h('legend', {text: 'Params'}));
  box.hidden = true;
  const det = await api('GET', dagUrl(DAG_ID) + '/details');
  const names = Object.keys(det.params || {});
  for (const n of names) box.append(paramInput(n, det.params[n]));
  box.hidden = names.length === 0;
}

// The params' inputs as conf keys; an empty input leaves its key out (the
// default applies). Throws with the field's name for JSON that does not parse.
function paramConf() {
  const conf = {};
  for (const el of document.querySelectorAll('#trigger-params [data-param]')) {
    const name = el.dataset.param, kind = el.dataset.kind;
    if (kind === 'boolean') { conf[name] = el.checked; continue; }
    if (kind === 'enum') { conf[name] = JSON.parse(el.value); continue; }
    const text = el.value.trim();
    if (text === '') continue;
    if (kind === 'integer' || kind === 'number') conf[name] = Number(text);
    else if (kind === 'json') {
      try { conf[name] = JSON.parse(text); } catch (e) { throw new Error('params.' + name + ' is not valid JSON: ' + e.message); }
    } else conf[name] = el.value;
  }
  return conf;
}

function setupTrigger() {
  const dlg = $('#trigger-dlg'), form = $('#trigger-form'), err = $('#trigger-err');
  $('#trigger-btn').addEventListener('click', () => {
    $('#trigger-dag').textContent = DAG_ID;
    err.hidden = true;
    loadParams().catch((e) => { err.textContent = 'cannot read the params: ' + e.message; err.hidden = false; });
    dlg.showModal();
  });
  $('#trigger-cancel').addEventListener('click', () => dlg.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    try {
      body.conf = JSON.parse(form.conf.value.trim() || '{}');
    } catch (e) {
      err.textContent = 'Conf is not valid JSON: ' + e.message;
      err.hidden = false;
      return;
    }
    try {
      if (body.conf && typeof body.conf === 'object' && !Array.isArray(body.conf))
        Object.assign(body.conf, paramConf());
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      return;
    }
    if (form.run_id.value.trim()) body.dag_run_id = form.run_id.value.trim();
    if (form.logical_date.value.trim()) body.logical_date = form.logical_date.value.trim();
    try {
      const run = await api('POST', dagUrl(DAG_ID) + '/dagRuns', body);
      dlg.close();
      toast('triggered ' + run.dag_run_id);
      select(run.dag_run_id, null);
      refresh().catch(showError);
    } catch (e) {
      err.textContent = e.message + (e.status === 401 || e.status === 403 ? ' (enter the token in the top bar)' : '');
      err.hidden = false;
    }
  });
}

// Backfills (POST /api/v1/backfills, Airflow 3's body): a form, its dry
// run, and this DAG's backfills with their progress and a cancel button.
function setupBackfill() {
  const dlg = $('#backfill-dlg'), form = $('#backfill-form'), err = $('#backfill-err');
  const plan = $('#backfill-plan'), list = $('#backfill-list');
  const fail = (e) => {
    err.textContent = e.message + (e.status === 401 || e.status === 403 ? ' (log in as a user who may change runs)' : '');
    err.hidden = false;
  };
  const body = () => {
    const b = {dag_id: DAG_ID, from_date: form.from_date.value.trim(), to_date: form.to_date.value.trim(),
               reprocess_behavior: form.reprocess_behavior.value,
               max_active_runs: parseInt(form.max_active_runs.value, 10) || 10};
    b.dag_run_conf = JSON.parse(form.conf.value.trim() || '{}');
    return b;
  };
  const showList = async () => {
    const r = await api('GET', '/api/v1/backfills?dag_id=' + encodeURIComponent(DAG_ID));
    list.replaceChildren(...r.backfills.slice(0, 5).map((b) => {
      const state = b.cancelled ? 'cancelled' : b.completed_at ? 'completed' : b.is_paused ? 'paused' : 'running';
      const row = h('p', {class: 'muted', text: 'backfill ' + b.id + ' (' + b.from_date.slice(0, 10) + ' to ' +
        b.to_date.slice(0, 10) + '): ' + state + ', ' + b.runs.success + ' success, ' + b.runs.failed +
        ' failed, ' + b.runs.running + ' running, ' + b.runs.queued + ' queued, ' + b.runs_skipped + ' skipped '});
      if (!b.completed_at) {
        const cancel = h('button', {type: 'button', class: 'btn', text: 'Cancel'});
        cancel.addEventListener('click', async () => {
          try {
            await api('PUT', '/api/v1/backfills/' + b.id + '/cancel');
            toast('cancelled backfill ' + b.id);
            showList().catch(fail);
          } catch (e) { fail(e); }
        });
        row.append(cancel);
      }
      return row;
    }));
  };
  $('#backfill-btn').addEventListener('click', () => {
    $('#backfill-dag').textContent = DAG_ID;
    err.hidden = plan.hidden = true;
    dlg.showModal();
    showList().catch(fail);
  });
  $('#backfill-close').addEventListener('click', () => dlg.close());
  $('#backfill-dry').addEventListener('click', async () => {
    err.hidden = true;
    try {
      const r = await api('POST', '/api/v1/backfills/dry_run', body());
      const runs = r.backfills.filter((x) => x.decision === 'create' || x.decision === 'rerun').length;
      plan.textContent = r.total_entries + ' logical dates, ' + runs + ' would run';
      plan.hidden = false;
    } catch (e) { fail(e); }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      const b = await api('POST', '/api/v1/backfills', body());
      toast('backfill ' + b.id + ' created');
      showList().catch(fail);
      refresh().catch(showError);
    } catch (e) { fail(e); }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  setupChrome();
  renderLegend();
  setupTrigger();
  setupBackfill();
  $('#pause').addEventListener('change', togglePause);
  $('#limit').addEventListener('change', () => refresh().catch(showError));
  const tabs = document.querySelectorAll('.tabs [data-tab]');
  const showTab = () => tabs.forEach((o) => o.setAttribute('aria-selected', o.dataset.tab === sel.tab));
  showTab();
  for (const b of tabs)
    b.addEventListener('click', () => {
      sel.tab = b.dataset.tab;
      showTab();
      remember();
      renderDetail().catch(showError);
    });
  every(2500, async () => {
    try {
      await refresh();
    } catch (e) {
      if (e.status === 404) $('#grid').replaceChildren(h('p', {class: 'error-text', text: 'No DAG ' + DAG_ID + '.'}));
      else throw e;
    }
  });
});
