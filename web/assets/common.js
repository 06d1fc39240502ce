// common.js - helpers shared by the dagctl pages. Every value from the API
// reaches the page as text (textContent, text nodes, setAttribute), never as
// markup: a DAG description or a run's conf cannot add elements or scripts.
'use strict';

// h('a', {href: '/x', class: 'y', text: 'z'}, child...): an element. Strings
// among the children become text nodes.
function h(tag, props, ...children) {
  const e = document.createElement(tag);
  setProps(e, props);
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

// The same for SVG elements.
function svg(tag, props, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setProps(e, props);
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function setProps(e, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
}

const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;

// --- the API ----------------------------------------------------------------

const TOKEN_KEY = 'dagctl.token';

class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title || 'HTTP ' + status);
    this.status = status;
    this.title = title;
  }
}

// The logged-in session's CSRF token, asked once (GET /api/v1/ui/session);
// every change made with the session cookie must carry it.
let csrfToken;
async function csrf() {
  if (csrfToken === undefined) {
    const r = await fetch('/api/v1/ui/session', {headers: {Accept: 'application/json', 'X-Requested-With': 'dagctl'}});
    csrfToken = r.ok ? (await r.json()).csrf_token : null;
  }
  return csrfToken;
}

async function api(method, url, body) {
  // X-Requested-With: the server then sends no Basic challenge, which would
  // make the browser pop up its own login over the page.
  const headers = {Accept: 'application/json', 'X-Requested-With': 'dagctl'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = localStorage.getItem(TOKEN_KEY);
  if (method !== 'GET' && token) headers.Authorization = 'Bearer ' + token;
  else if (method !== 'GET' && !url.endsWith('/ui/login')) {
    const t = await csrf();
    if (t) headers['X-CSRF-Token'] = t;
  }
  const r = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401 && !url.endsWith('/ui/login') && location.pathname !== '/login') {
    location.assign('/login?next=' + enc(location.pathname + location.search));
  }
  if (!r.ok) throw new ApiError(r.status, data && data.title, data && data.detail);
  return data;
}

const apiGet = (url) => api('GET', url);
const dagUrl = (dagId) => '/api/v1/dags/' + enc(dagId);
const runUrl = (dagId, runId) => dagUrl(dagId) + '/dagRuns/' + enc(runId);
const tryPage = (dagId, runId, taskId, n) =>
  '/dags/' + enc(dagId) + '/runs/' + enc(runId) + '/tasks/' + enc(taskId) + '/tries/' + n;

// --- formatting ------------------------------------------------------------------

function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function fmtDuration(seconds) {
  if (seconds == null || isNaN(seconds)) return '–';
  if (seconds < 1) return Math.round(seconds * 1000) + 'ms';
  if (seconds < 60) return seconds.toFixed(seconds < 10 ? 2 : 1) + 's';
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return m + 'm ' + s + 's';
  return Math.floor(m / 60) + 'h ' + (m % 60) + 'm';
}

function duration(start, end) {
  if (!start) return null;
  const a = new Date(start), b = end ? new Date(end) : new Date();
  return (b - a) / 1000;
}

// What a try cost (max_rss_bytes, cpu_*_seconds from the API): its peak
// memory and its CPU time, '–' when not recorded.
function fmtRss(t) {
  const b = t && t.max_rss_bytes;
  if (b == null) return '–';
  return b >= 1024 ** 3 ? (b / 1024 ** 3).toFixed(2) + ' GiB' : (b / 1024 ** 2).toFixed(1) + ' MiB';
}

function fmtCpu(t) {
  if (!t || t.cpu_user_seconds == null) return '–';
  return fmtDuration(t.cpu_user_seconds) + ' user + ' + fmtDuration(t.cpu_system_seconds) + ' system';
}

function fmtSchedule(s) {
  if (!s) return 'manual';
  if (s.__type === 'CronExpression') return s.value;
  if (s.__type === 'TimeDelta') return 'every ' + fmtDuration(s.days * 86400 + s.seconds);
  return JSON.stringify(s);
}

function stateBadge(state) {
  return h('span', {class: 'badge', 'data-state': state || 'none', text: state || 'no status'});
}

// --- page chrome ---------------------------------------------------------------------

function toast(msg, kind) {
  const box = $('#toasts');
  const t = h('div', {class: 'toast ' + (kind || 'ok'), role: 'status', text: msg});
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

function showError(e) {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403))
    toast(e.message + ' (enter the token in the top bar)', 'error');
  else
    toast(e.message || String(e), 'error');
}

// The token for changes lives in this browser only (localStorage).
function setupChrome() {
  const input = $('#token');
  const mark = $('#token-state');
  const show = () => {
    const set = !!localStorage.getItem(TOKEN_KEY);
    mark.textContent = set ? 'token set' : 'read-only';
    mark.dataset.set = set ? 'yes' : 'no';
  };
  input.value = localStorage.getItem(TOKEN_KEY) || '';
  input.addEventListener('change', () => {
    if (input.value) localStorage.setItem(TOKEN_KEY, input.value.trim());
    else localStorage.removeItem(TOKEN_KEY);
    show();
  });
  show();
  const health = async () => {
    const dot = $('#health');
    try {
      const hz = await apiGet('/api/v1/health');
      const ok = hz.scheduler.status === 'healthy' && hz.metadatabase.status === 'healthy';
      dot.dataset.ok = ok ? 'yes' : 'no';
      dot.title = 'scheduler ' + hz.scheduler.status + ', database ' + hz.metadatabase.status;
      dot.textContent = ok ? 'scheduler up' : 'scheduler down';
    } catch (e) {
      dot.dataset.ok = 'no';
      dot.textContent = 'server unreachable';
    }
  };
  health();
  setInterval(health, 10000);
}

// Call fn now and then every `ms` after it settles; slower while hidden.
function every(ms, fn) {
  const tick = async () => {
    try { await fn(); } catch (e) { console.error(e); }
    setTimeout(tick, document.hidden ? ms * 4 : ms);
  };
  tick();
}
