// try.js - one try of a task: its log, followed live while the try runs
// (the new bytes are fetched every second with ?offset=), and a download.
'use strict';

const [, , DAG_ID, , RUN_ID, , TASK_ID, , TRY] = location.pathname.split('/').map(decodeURIComponent);
const TRY_N = parseInt(TRY, 10);
const logUrl = runUrl(DAG_ID, RUN_ID) + '/taskInstances/' + enc(TASK_ID) + '/logs/' + TRY_N;
let offset = 0;                       // bytes of the log shown so far
const decoder = new TextDecoder();    // keeps a character split across fetches
let live = true;

function renderHead(ti, tries) {
  document.title = TASK_ID + ' try ' + TRY_N + ' – dagctl';
  const dagPage = '/dags/' + enc(DAG_ID);
  $('#crumbs').replaceChildren(
    h('a', {href: '/', text: 'DAGs'}), ' / ',
    h('a', {href: dagPage, text: DAG_ID}), ' / ',
    h('a', {href: dagPage + '?run=' + enc(RUN_ID), text: RUN_ID}), ' / ',
    h('a', {href: dagPage + '?run=' + enc(RUN_ID) + '&task=' + enc(TASK_ID), text: TASK_ID}));
  $('#try-title').replaceChildren(h('code', {text: TASK_ID}), ' try ' + TRY_N);
  const t = tries.find((x) => x.try_number === TRY_N);
  const state = t ? (t.state === 'running' && ti.state !== 'running' ? ti.state : t.state) : 'none';
  $('#try-state').replaceChildren(stateBadge(state));
  $('#try-tabs').replaceChildren(...tries.map((x) => h('a', {
    class: 'try-link' + (x.try_number === TRY_N ? ' current' : ''), 'data-state': x.state,
    href: tryPage(DAG_ID, RUN_ID, TASK_ID, x.try_number), text: 'try ' + x.try_number})));
  const fact = (k, v) => [h('dt', {text: k}), h('dd', {}, v)];
  $('#try-facts').replaceChildren(
    ...fact('Started', t ? fmtTime(t.start_date) : '–'),
    ...fact('Ended', t ? fmtTime(t.end_date) : '–'),
    ...fact('Duration', t ? fmtDuration(t.duration != null ? t.duration : duration(t.start_date, t.end_date)) : '–'),
    ...fact('Exit code', t && t.exit_code != null ? String(t.exit_code) : '–'),
    ...fact('PID', t && t.pid ? String(t.pid) : '–'),
    ...fact('Error', t && t.error ? h('span', {class: 'error-text', text: t.error}) : '–'));
  return t;
}

async function fetchLog() {
  const r = await fetch(logUrl + '?offset=' + offset);
  if (r.status === 404) return false;
  if (!r.ok) throw new Error('log: HTTP ' + r.status);
  const bytes = new Uint8Array(await r.arrayBuffer());
  if (!bytes.length) return true;
  const pre = $('#log');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
  offset += bytes.length;
  pre.append(decoder.decode(bytes, {stream: true}));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
  return true;
}

async function tick() {
  const base = runUrl(DAG_ID, RUN_ID);
  const [ti, tries] = await Promise.all([
    apiGet(base + '/taskInstances/' + enc(TASK_ID)),
    apiGet(base + '/tries?task_id=' + enc(TASK_ID)),
  ]);
  const t = renderHead(ti, tries.task_tries);
  // This try is running when the task instance is on it and running.
  const running = !!t && ti.try_number === TRY_N && ti.state === 'running';
  const found = await fetchLog();
  if (!found && !offset) $('#log').textContent = t ? 'The log file is gone.' : 'This try has not started.';
  $('#follow').hidden = !running;
  if (!running && t) live = false;  // finished: the log above is complete
}

document.addEventListener('DOMContentLoaded', () => {
  setupChrome();
  $('#download').href = logUrl + '?download=true';
  const loop = async () => {
    try { await tick(); } catch (e) { showError(e); }
    if (live) setTimeout(loop, 1000);
  };
  loop();
});
