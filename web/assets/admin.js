// admin.js - Admin (ops and admins): variables, connections and the alerts'
// outbox, read from /api/v1/variables, /api/v1/connections and
// /api/v1/alerts. Secrets come masked ("***") from the API and a password
// never comes at all; every value is inserted as text.
'use strict';

const dash = (v) => (v == null || v === '' ? '–' : String(v));

// Fill `body` with rows(data), or one row saying why not.
async function fill(body, cols, load, rows, none) {
  try {
    const list = await load();
    body.replaceChildren();
    for (const r of list) body.append(rows(r));
    if (!list.length) body.append(h('tr', {}, h('td', {colspan: cols, class: 'muted', text: none})));
  } catch (e) {
    body.replaceChildren(h('tr', {}, h('td', {colspan: cols, class: 'muted', text: e.message})));
  }
}

document.addEventListener('DOMContentLoaded', () => {
  // The list has no values (Airflow's collection item): each is asked for.
  fill($('#variable-rows'), 3, async () => {
    const d = await apiGet('/api/v1/variables?limit=1000');
    return Promise.all(d.variables.map((v) => apiGet('/api/v1/variables/' + enc(v.key))));
  }, (v) => h('tr', {'data-key': v.key},
    h('td', {text: v.key}), h('td', {text: dash(v.value)}), h('td', {text: dash(v.description)})),
  'No variables.');
  fill($('#connection-rows'), 7, async () => (await apiGet('/api/v1/connections?limit=1000')).connections,
    (k) => h('tr', {'data-conn': k.connection_id},
      h('td', {text: k.connection_id}), h('td', {text: dash(k.conn_type)}), h('td', {text: dash(k.host)}),
      h('td', {text: dash(k.port)}), h('td', {text: dash(k.login)}), h('td', {text: dash(k.schema)}),
      h('td', {text: dash(k.description)})),
    'No connections.');
  fill($('#alert-rows'), 9, async () => (await apiGet('/api/v1/alerts?limit=500')).alerts,
    (a) => h('tr', {'data-alert': a.id, 'data-state': a.state},
      h('td', {text: fmtTime(a.created_at)}), h('td', {text: a.kind}), h('td', {text: a.dag_id}),
      h('td', {text: a.dag_run_id}),
      h('td', {text: a.task_id == null ? '–' : a.task_id + ' (try ' + a.try_number + ')'}),
      h('td', {text: a.connection ? a.target + ' (' + a.connection + ')' : a.target}),
      h('td', {text: a.state}), h('td', {text: a.attempts}), h('td', {text: dash(a.last_error)})),
    'No alerts.');
});
