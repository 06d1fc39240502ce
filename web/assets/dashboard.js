// dashboard.js - the listening dashboard: gold's figures as charts (Chart.js,
// served from the binary) with the same numbers in a table beside each.
// Polls the data every few seconds and redraws when the warehouse changed
// (after each pipeline run); every value reaches the page as text.
'use strict';

const POLL_MS = 5000;
const charts = {};
let shown = null; // warehouse_version + range of what is drawn
let renders = 0;

const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const fmtInt = (n) => (n == null ? '' : String(n));
const fmtFixed = (d) => (n) => (n == null ? '' : Number(n).toFixed(d));

function rangeQuery() {
  const p = new URLSearchParams();
  for (const k of ['start', 'end']) {
    const v = $('#' + k).value;
    if (v && DATE.test(v)) p.set(k, v);
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

// One table: columns [{title, key, fmt, num}], rows of objects.
function fillTable(id, columns, rows) {
  const t = $('#' + id);
  t.replaceChildren(
    h('thead', null, h('tr', null, columns.map((c) => h('th', {class: c.num ? 'num' : null, text: c.title})))),
    h('tbody', null, rows.map((r) => h('tr', null, columns.map((c) =>
      h('td', {class: c.num ? 'num' : null, text: (c.fmt || String)(r[c.key])}))))));
}

// Create the chart once, then change its data in place.
function draw(id, type, labels, datasets, options) {
  if (charts[id]) {
    charts[id].data.labels = labels;
    charts[id].data.datasets = datasets;
    charts[id].update();
    return;
  }
  charts[id] = new Chart($('#' + id), {
    type,
    data: {labels, datasets},
    options: Object.assign({animation: false, responsive: true, maintainAspectRatio: false,
                            interaction: {mode: 'index', intersect: false}}, options || {}),
  });
}

const BLUE = '#2563eb', GREEN = '#16a34a';
const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

function render(d) {
  const o = d.overview;
  const tiles = [
    ['Plays', fmtInt(o.plays)], ['Listeners', fmtInt(o.listeners)], ['Tracks', fmtInt(o.tracks)],
    ['Artists', fmtInt(o.artists)],
    ['Average play', o.avg_play_seconds == null ? '–' : o.avg_play_seconds.toFixed(1) + ' s'],
    ['Listening hours', o.listening_hours.toFixed(2)],
    ['Days', o.first_day ? (o.first_day === o.last_day ? o.first_day : o.first_day + ' – ' + o.last_day) : '–'],
    ['Last load', o.last_load || '–'],
  ];
  $('#overview').replaceChildren(...tiles.map(([k, v]) =>
    h('div', {'data-key': k}, h('dt', {text: k}), h('dd', {text: v}))));
  for (const k of ['start', 'end']) {
    if (o.first_day) $('#' + k).min = o.first_day;
    if (o.last_day) $('#' + k).max = o.last_day;
  }

  const hours = d.plays_by_hour;
  draw('chart-hour', 'bar', hours.map((r) => String(r.hour).padStart(2, '0') + ':00'),
       [{label: 'Plays', data: hours.map((r) => r.plays), backgroundColor: BLUE}],
       {plugins: {legend: {display: false}}});
  fillTable('table-hour', [{title: 'Hour (UTC)', key: 'hour'}, {title: 'Plays', key: 'plays', num: true}], hours);

  const days = d.plays_by_day;
  draw('chart-day', 'line', days.map((r) => r.day),
       [{label: 'Plays', data: days.map((r) => r.plays), borderColor: BLUE, backgroundColor: BLUE, yAxisID: 'y'},
        {label: 'Listeners', data: days.map((r) => r.listeners), borderColor: GREEN, backgroundColor: GREEN, yAxisID: 'y'},
        {label: 'Listening hours', data: days.map((r) => +(r.total_ms / 3600000).toFixed(2)),
         borderColor: '#f59e0b', backgroundColor: '#f59e0b', yAxisID: 'y1'}],
       {scales: {y: {beginAtZero: true, position: 'left'}, y1: {beginAtZero: true, position: 'right', grid: {drawOnChartArea: false}}}});
  fillTable('table-day', [{title: 'Day', key: 'day'}, {title: 'Plays', key: 'plays', num: true},
    {title: 'Listeners', key: 'listeners', num: true},
    {title: 'Hours', key: 'total_ms', num: true, fmt: (ms) => (ms / 3600000).toFixed(2)}], days);

  const tracks = d.top_tracks;
  draw('chart-tracks', 'bar', tracks.map((r) => r.track_name),
       [{label: 'Plays', data: tracks.map((r) => r.plays), backgroundColor: BLUE}],
       {indexAxis: 'y', interaction: {mode: 'index', intersect: false, axis: 'y'},
        plugins: {legend: {display: false},
        tooltip: {callbacks: {afterLabel: (ctx) => 'by ' + (tracks[ctx.dataIndex].artist_name || '?')}}}});
  fillTable('table-tracks', [{title: '#', key: 'rank', num: true}, {title: 'Track', key: 'track_name'},
    {title: 'Artist', key: 'artist_name'}, {title: 'Plays', key: 'plays', num: true}], tracks);

  const artists = d.top_artists;
  draw('chart-artists', 'bar', artists.map((r) => r.artist_name),
       [{label: 'Plays', data: artists.map((r) => r.plays), backgroundColor: BLUE},
        {label: 'Distinct tracks', data: artists.map((r) => r.tracks), backgroundColor: GREEN}]);
  fillTable('table-artists', [{title: '#', key: 'rank', num: true}, {title: 'Artist', key: 'artist_name'},
    {title: 'Plays', key: 'plays', num: true}, {title: 'Tracks', key: 'tracks', num: true}], artists);

  const devices = d.devices;
  draw('chart-devices', 'doughnut', devices.map((r) => r.device_type),
       [{label: 'Plays', data: devices.map((r) => r.plays), backgroundColor: devices.map((_, i) => PALETTE[i % PALETTE.length])}],
       {interaction: {mode: 'nearest', intersect: true}, plugins: {legend: {position: 'right'},
        tooltip: {callbacks: {afterLabel: (ctx) => devices[ctx.dataIndex].pct.toFixed(2) + ' % of plays'}}}});
  fillTable('table-devices', [{title: 'Device', key: 'device_type'}, {title: 'Plays', key: 'plays', num: true},
    {title: 'Listeners', key: 'listeners', num: true}, {title: '%', key: 'pct', num: true, fmt: fmtFixed(2)}], devices);

  const r = d.range;
  $('#dash-status').textContent = (r ? 'Days ' + (r.start || '…') + ' to ' + (r.end || '…') : 'All days') +
    ' · from ' + (d.source === 'gold' ? 'gold' : 'gold and silver_plays (a date range)') +
    ' · ' + d.backend + ' warehouse · refreshed ' + new Date().toLocaleTimeString();
  renders++;
  document.body.dataset.renders = String(renders);
  document.body.dataset.version = d.warehouse_version;
}

async function load(force) {
  const q = rangeQuery();
  try {
    const d = await apiGet('/api/v1/ui/dashboard' + q);
    $('#dash-error').hidden = true;
    const key = d.warehouse_version + q;
    if (force || key !== shown) {
      render(d);
      shown = key;
    }
  } catch (e) {
    $('#dash-error').textContent = e.message;
    $('#dash-error').hidden = false;
    $('#dash-status').textContent = 'No data shown';
    document.body.dataset.error = String(e.status || 'network');
  }
}

function init() {
  const p = new URLSearchParams(location.search);
  for (const k of ['start', 'end']) if (DATE.test(p.get(k) || '')) $('#' + k).value = p.get(k);
  $('#range').addEventListener('submit', (ev) => {
    ev.preventDefault();
    history.replaceState(null, '', location.pathname + rangeQuery());
    load(true);
  });
  $('#range-clear').addEventListener('click', () => {
    $('#start').value = '';
    $('#end').value = '';
    history.replaceState(null, '', location.pathname);
    load(true);
  });
  load(true);
  setInterval(() => load(false), POLL_MS);
}

document.addEventListener('DOMContentLoaded', init);
