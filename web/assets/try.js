// try.js - one try of a task: its log, followed live while the try runs
// (the new bytes are fetched every second with ?offset=), and a download.
// A log can be any size: the page starts from its last CHUNK bytes
// (?tail=) and loads earlier parts (?offset=&limit=) when the reader scrolls
// to the top or clicks "Load earlier".
'use strict';

const [, , DAG_ID, , RUN_ID, , TASK_ID, , TRY] = location.pathname.split('/').map(decodeURIComponent);
const TRY_N = parseInt(TRY, 10);
// A mapped task's instance: ?map_index=N, passed on to the API.
const MAP_INDEX = new URLSearchParams(location.search).get('map_index');
const MAPPED = MAP_INDEX !== null && /^[0-9]+$/.test(MAP_INDEX);
const logUrl = runUrl(DAG_ID, RUN_ID) + '/taskInstances/' + enc(TASK_ID) + '/logs/' + TRY_N +
  '?' + (MAPPED ? 'map_index=' + MAP_INDEX + '&' : '');
const CHUNK = 256 * 1024;             // bytes fetched at a time
let offset = null;                    // where the shown log ends (null: nothing fetched yet)
let first = 0;                        // where the shown log begins
let loadingEarlier = false;
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
    href: tryPage(DAG_ID, RUN_ID, TASK_ID, x.try_number) + (MAPPED ? '?map_index=' + MAP_INDEX : ''),
    text: 'try ' + x.try_number})));
  const fact = (k, v) => [h('dt', {text: k}), h('dd', {}, v)];
  $('#try-facts').replaceChildren(
    ...fact('Started', t ? fmtTime(t.start_date) : '–'),
    ...fact('Ended', t ? fmtTime(t.end_date) : '–'),
    ...fact('Duration', t ? fmtDuration(t.duration != null ? t.duration : duration(t.start_date, t.end_date)) : '–'),
    ...fact('Exit code', t && t.exit_code != null ? String(t.exit_code) : '–'),
    ...fact('Max RSS', fmtRss(t)),
    ...fact('CPU', fmtCpu(t)),
    ...fact('PID', t && t.pid ? String(t.pid) : '–'),
    ...fact('Error', t && t.error ? h('span', {class: 'error-text', text: t.error}) : '–'));
  return t;
}

// Bytes cut from the middle of a log start mid-line (and maybe inside a
// character): skip to after the first newline, or past a split character.
function startOfLine(bytes) {
  const nl = bytes.indexOf(10);
  if (nl >= 0 && nl + 1 < bytes.length) return nl + 1;
  let i = 0;
  while (i < 3 && i < bytes.length && (bytes[i] & 0xc0) === 0x80) i++;
  return i;
}

function showEarlierBar() {
  const bar = $('#log-earlier');
  bar.hidden = first <= 0;
  if (first > 0) $('#log-earlier-text').textContent = fmtBytes(first) + ' earlier not shown';
}

function fmtBytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

async function fetchLog() {
  // The first fetch takes the tail; later ones what was appended since.
  const url = offset === null ? logUrl + 'tail=' + CHUNK : logUrl + 'offset=' + offset + '&limit=' + (4 * CHUNK);
  const r = await fetch(url);
  if (r.status === 404) return false;
  if (!r.ok) throw new Error('log: HTTP ' + r.status);
  const start = parseInt(r.headers.get('X-Log-Start') || '0', 10);
  let bytes = new Uint8Array(await r.arrayBuffer());
  if (offset === null) {
    const skip = start > 0 ? startOfLine(bytes) : 0;
    first = start + skip;
    bytes = bytes.subarray(skip);
    offset = first;
    showEarlierBar();
  }
  if (!bytes.length) return true;
  const pre = $('#log');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
  offset += bytes.length;
  pre.append(decoder.decode(bytes, {stream: true}));
  if (atBottom) pre.scrollTop = pre.scrollHeight;
  return true;
}

// The CHUNK bytes before the shown part, put in front of it without moving
// what the reader is looking at.
async function loadEarlier() {
  if (loadingEarlier || first <= 0) return;
  loadingEarlier = true;
  try {
    const from = Math.max(0, first - CHUNK);
    const r = await fetch(logUrl + 'offset=' + from + '&limit=' + (first - from));
    if (!r.ok) throw new Error('log: HTTP ' + r.status);
    let bytes = new Uint8Array(await r.arrayBuffer());
    const skip = from > 0 ? startOfLine(bytes) : 0;
    bytes = bytes.subarray(skip);
    const pre = $('#log');
    const height = pre.scrollHeight;
    // `first` always sits at the start of a line or character, so this
    // part ends on a whole one.
    pre.prepend(new TextDecoder().decode(bytes));
    pre.scrollTop += pre.scrollHeight - height;
    first = from + skip;
    showEarlierBar();
  } catch (e) {
    showError(e);
  } finally {
    loadingEarlier = false;
  }
}

async function tick() {
  const base = runUrl(DAG_ID, RUN_ID);
  const [ti, tries] = await Promise.all([
    apiGet(base + '/taskInstances/' + enc(TASK_ID) + (MAPPED ? '/' + MAP_INDEX : '')),
    apiGet(base + '/tries?task_id=' + enc(TASK_ID)),
  ]);
  const t = renderHead(ti, tries.task_tries.filter((x) => x.map_index === (MAPPED ? Number(MAP_INDEX) : -1)));
  // This try is running when the task instance is on it and running.
  const running = !!t && ti.try_number === TRY_N && ti.state === 'running';
  const found = await fetchLog();
  if (!found && !offset) $('#log').textContent = t ? 'The log file is gone.' : 'This try has not started.';
  $('#follow').hidden = !running;
  if (!running && t) live = false;  // finished: the log above is complete
}

document.addEventListener('DOMContentLoaded', () => {
  setupChrome();
  $('#download').href = logUrl + 'download=true';
  $('#log-earlier-btn').addEventListener('click', loadEarlier);
  $('#log').addEventListener('scroll', () => { if ($('#log').scrollTop === 0) loadEarlier(); });
  const loop = async () => {
    try { await tick(); } catch (e) { showError(e); }
    if (live) setTimeout(loop, 1000);
  };
  loop();
});
