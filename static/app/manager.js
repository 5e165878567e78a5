// A manager's (and an admin's) day: the leave requests waiting for them and
// who of their people is in, late, absent or on leave today.
import { html } from './lib.js';
import * as api from './api.js';
import * as fmt from './fmt.js';
import { Field, Message, useForm, values, useLoad, Loading, Table } from './ui.js';
import { items } from './home.js';

export function Approvals({ user }) {
  const pending = useLoad(() => api.get('/leave/requests?status=pending&limit=200'), []);
  const daily = useLoad(() => api.get('/reports/daily'), []);
  return html`<h1>Approvals</h1>
    <section class="card" aria-labelledby="queue-h">
      <h2 id="queue-h">Leave waiting for you</h2>
      <${Loading} state=${pending}>${(p) => items(p).filter((r) => r.user_id !== user.id).length
        ? html`<ul class="requests">${items(p).filter((r) => r.user_id !== user.id).map((r) => html`<${Decide} r=${r} key=${r.id} onDone=${pending.reload} />`)}</ul>`
        : html`<p class="muted">Nothing waiting.</p>`}<//>
    </section>
    <section class="card" aria-labelledby="team-h">
      <h2 id="team-h">Today</h2>
      <${Loading} state=${daily}>${(d) => html`<${TeamToday} d=${d} />`}<//>
    </section>`;
}

function Decide({ r, onDone }) {
  const f = useForm();
  const submit = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    const decision = ev.submitter && ev.submitter.value === 'reject' ? 'reject' : 'approve';
    f.run(async () => {
      await api.post('/leave/requests/' + r.id + '/' + decision, v.comment ? { comment: v.comment } : {});
      onDone();
    });
  };
  return html`<li class="request decide" data-user=${r.user_name}>
    <form onSubmit=${submit} aria-label=${'Leave of ' + r.user_name} novalidate>
      <p><strong>${r.user_name}</strong>: ${r.type_name}, ${fmt.date(r.start_date)}${r.end_date !== r.start_date ? ' – ' + fmt.date(r.end_date) : ''}
        ${r.half_day ? ' (half day)' : ''} · ${r.days} day${r.days === 1 ? '' : 's'}</p>
      ${r.reason && html`<p class="muted">“${r.reason}”</p>`}
      <${Field} label="Comment" name="comment" errors=${f.errors} />
      <${Message} text=${f.message} />
      <div class="row">
        <button class="primary" value="approve" disabled=${f.busy}>Approve</button>
        <button class="danger" value="reject" disabled=${f.busy}>Reject</button>
      </div>
    </form>
  </li>`;
}

function TeamToday({ d }) {
  const tz = d.org && d.org.timezone;
  const s = d.summary || {};
  return html`<p>${fmt.date(d.date)} · ${fmt.tzNote(tz)}</p>
    <ul class="summary">
      <li>In now <strong>${s.in_now || 0}</strong></li><li>Present <strong>${s.present || 0}</strong></li>
      <li>Late <strong>${s.late || 0}</strong></li><li>Absent <strong>${s.absent || 0}</strong></li>
      <li>On leave <strong>${s.on_leave || 0}</strong></li>
    </ul>
    <${Table} label="Who is in today">
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">In</th><th scope="col">Out</th><th scope="col">Hours</th></tr></thead>
      <tbody>${(d.people || []).map((p) => html`<tr><th scope="row">${p.name}</th>
        <td><span class=${'badge st-' + (p.status || 'none')}>${p.in_now ? 'in now' : fmt.STATUS_LABEL[p.status] || '—'}</span></td>
        <td>${fmt.time(p.first_in, tz)}</td><td>${fmt.time(p.last_out, tz)}</td><td>${fmt.hours(p.worked_minutes)}</td></tr>`)}</tbody>
    <//>`;
}
