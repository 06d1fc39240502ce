// dags.js - the DAG list: paused toggle, schedule, next run, the last runs
// as coloured squares, the DAG files that failed to load, the datasets
// (consumers, producers, last update) when DAGs name any, the pools and
// their slots, and the workers
// (core.executor: workers) when the home has any.
'use strict';

const RECENT = 12;
let filterText = '';

function pauseToggle(dag) {
  const box = h('input', {type: 'checkbox', class: 'switch', 'aria-label': 'active'});
  box.checked = !dag.is_paused;
  box.title = dag.is_paused ? 'paused: click to unpause' : 'active: click to pause';
  box.addEventListener('change', async () => {
    box.disabled = true;
    try {
      await api('PATCH', dagUrl(dag.dag_id), {is_paused: !box.checked});
      toast(dag.dag_id + (box.checked ? ' unpaused' : ' paused'));
    } catch (e) {
      box.checked = !box.checked;
      showError(e);
    }
    box.disabled = false;
  });
  return box;
}

function runSquares(dagId, runs) {
  const wrap = h('div', {class: 'squares'});
  for (const r of runs.slice().reverse()) {
    const tip = r.dag_run_id + '\n' + r.state + ' · ' + fmtTime(r.logical_date) +
      ' · ' + fmtDuration(duration(r.start_date, r.end_date));
    wrap.append(h('a', {class: 'square', 'data-state': r.state, title: tip,
                        href: '/dags/' + enc(dagId) + '?run=' + enc(r.dag_run_id)}));
  }
  if (!runs.length) wrap.append(h('span', {class: 'muted', text: 'no runs yet'}));
  return wrap;
}

function dagRow(dag, runs) {
  const name = h('td', {class: 'dag-name'},
    h('a', {href: '/dags/' + enc(dag.dag_id), text: dag.dag_id}),
    dag.has_import_errors ? h('span', {class: 'badge', 'data-state': 'failed', text: 'import error'}) : null,
    dag.description ? h('div', {class: 'desc', text: dag.description}) : null,
    h('div', {class: 'tags'}, dag.tags.map((t) => h('span', {class: 'tag', text: t.name}))));
  return h('tr', {'data-dag': dag.dag_id, class: dag.is_paused ? 'paused' : ''},
    h('td', {class: 'col-toggle'}, pauseToggle(dag)),
    name,
    h('td', {}, h('code', {text: fmtSchedule(dag.schedule_interval)})),
    h('td', {text: dag.is_paused || !dag.schedule_interval ? '–' : fmtTime(dag.next_dagrun)}),
    h('td', {}, runSquares(dag.dag_id, runs)));
}

// A worker's row: its load as running/concurrency, its heartbeat's age.
function workerRow(wk) {
  const age = duration(wk.latest_heartbeat, null);
  return h('tr', {'data-worker': wk.worker_id},
    h('td', {}, h('code', {text: wk.worker_id})),
    h('td', {text: wk.hostname}),
    h('td', {}, wk.queues.map((q) => h('span', {class: 'tag', text: q}))),
    h('td', {}, h('span', {class: 'badge', 'data-state': wk.state === 'active' ? 'success' : 'failed',
                           text: wk.state})),
    h('td', {class: 'worker-load', text: wk.running + '/' + wk.concurrency}),
    h('td', {title: fmtTime(wk.latest_heartbeat),
             text: age == null ? '–' : fmtDuration(Math.max(age, 0)) + ' ago'}));
}

// A dataset's row: the DAGs it schedules, the tasks whose success updates
// it, and its latest event (`latest`, from /api/v1/datasets/events).
function datasetRow(ds, latest) {
  const dagLink = (id, label) => h('a', {href: '/dags/' + enc(id), text: label || id});
  const list = (items) => items.length ? items : [h('span', {class: 'muted', text: '–'})];
  const last = latest.dataset_events[0];
  return h('tr', {'data-dataset': ds.uri},
    h('td', {}, h('code', {text: ds.uri})),
    h('td', {}, ...list(ds.consuming_dags.map((c) => h('div', {}, dagLink(c.dag_id))))),
    h('td', {}, ...list(ds.producing_tasks.map((p) => h('div', {}, dagLink(p.dag_id, p.dag_id + '.' + p.task_id))))),
    h('td', {title: last ? last.source_dag_id + ' ' + last.source_run_id + ' ' + last.source_task_id : '',
             text: last ? fmtTime(last.timestamp) : 'never'}),
    h('td', {text: String(latest.total_entries)}));
}

// A pool's row: its slots, those its tasks hold (running, queued), ask
// for while they wait (scheduled) and those still open.
function poolRow(p) {
  const open = h('td', {class: 'pool-open', text: String(p.open_slots)});
  if (p.open_slots <= 0) open.dataset.state = 'failed';
  return h('tr', {'data-pool': p.name},
    h('td', {}, h('code', {text: p.name})),
    h('td', {text: String(p.slots)}),
    h('td', {text: String(p.running_slots)}),
    h('td', {text: String(p.queued_slots)}),
    h('td', {text: String(p.scheduled_slots)}),
    open,
    h('td', {class: 'muted', text: p.description || ''}));
}

async function refreshPools() {
  const all = await apiGet('/api/v1/pools?limit=1000');
  $('#pool-rows').replaceChildren(...all.pools.map(poolRow));
}

async function refreshDatasets() {
  const all = await apiGet('/api/v1/datasets?limit=1000');
  const latest = await Promise.all(all.datasets.map((ds) =>
    apiGet('/api/v1/datasets/events?order_by=-timestamp&limit=1&dataset_id=' + ds.id)));
  $('#datasets').hidden = all.datasets.length === 0;
  $('#dataset-rows').replaceChildren(...all.datasets.map((ds, i) => datasetRow(ds, latest[i])));
}

async function refresh() {
  refreshDatasets().catch(showError);
  refreshPools().catch(showError);
  const [dags, recent, errors, workers] = await Promise.all([
    apiGet('/api/v1/dags?limit=1000'),
    apiGet('/api/v1/ui/recentRuns?limit=' + RECENT),
    apiGet('/api/v1/importErrors'),
    apiGet('/api/v1/ui/workers'),
  ]);
  // Shown only where tries run on workers: a local home has none.
  $('#workers').hidden = workers.workers.length === 0;
  $('#worker-rows').replaceChildren(...workers.workers.map(workerRow));
  const byDag = new Map();
  for (const r of recent.dag_runs) {
    if (!byDag.has(r.dag_id)) byDag.set(r.dag_id, []);
    byDag.get(r.dag_id).push(r);
  }
  const body = $('#dag-rows');
  // Leave the row being toggled alone until its request has finished.
  if (body.querySelector('input:disabled')) return;
  const rows = dags.dags
    .filter((d) => !filterText || d.dag_id.toLowerCase().includes(filterText))
    .map((d) => dagRow(d, byDag.get(d.dag_id) || []));
  if (!rows.length)
    rows.push(h('tr', {}, h('td', {colspan: 5, class: 'muted',
      text: dags.total_entries ? 'No DAG matches the filter.' : 'No DAGs yet: put a YAML file in the DAG folder.'})));
  body.replaceChildren(...rows);

  const section = $('#import-errors');
  section.hidden = errors.import_errors.length === 0;
  $('#import-error-list').replaceChildren(...errors.import_errors.map((e) =>
    h('div', {class: 'import-error'},
      h('div', {class: 'file'}, h('code', {text: e.filename}), h('span', {class: 'muted', text: ' ' + fmtTime(e.timestamp)})),
      h('pre', {text: e.stack_trace}))));
}

document.addEventListener('DOMContentLoaded', () => {
  setupChrome();
  $('#filter').addEventListener('input', (ev) => {
    filterText = ev.target.value.trim().toLowerCase();
    refresh().catch(showError);
  });
  every(3000, refresh);
});
