// audit.js - the audit log page (admins): the newest 500 entries of
// /api/v1/eventLogs, newest first, every value inserted as text.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const body = $('#audit-rows');
  try {
    const first = await apiGet('/api/v1/eventLogs?limit=1');
    const offset = Math.max(0, first.total_entries - 500);
    const d = await apiGet('/api/v1/eventLogs?limit=500&offset=' + offset);
    body.replaceChildren();
    for (const e of d.event_logs.reverse()) {
      const object = [e.dag_id, e.run_id, e.task_id, e.object].filter((x) => x != null).join(' ');
      body.append(h('tr', {'data-outcome': e.outcome},
        h('td', {text: fmtTime(e.when)}), h('td', {text: e.owner || '–'}),
        h('td', {text: e.client}), h('td', {text: e.event}), h('td', {text: object}),
        h('td', {text: e.outcome + (e.extra ? ': ' + e.extra : '')})));
    }
    if (!d.event_logs.length) body.append(h('tr', {}, h('td', {colspan: 6, class: 'muted', text: 'No entries.'})));
  } catch (e) {
    body.replaceChildren(h('tr', {}, h('td', {colspan: 6, class: 'muted', text: e.message})));
  }
});
