// The employee's home: today's state and the one big button, this month's
// calendar, leave balances, asking for leave and the requests made.
import { html, useState } from './lib.js';
import * as api from './api.js';
import * as fmt from './fmt.js';
import { Field, Message, useForm, values, useLoad, Loading, Table } from './ui.js';
import { CameraCapture } from './camera.js';

export const items = (x) => (Array.isArray(x) ? x : (x && x.items) || []);

export function Home({ user }) {
  const today = useLoad(() => api.get('/attendance/today'), []);
  const [tick, setTick] = useState(0);
  const changed = () => { today.reload(); setTick((t) => t + 1); };
  const tz = today.data && today.data.timezone;
  return html`<h1>Hello, ${user.name}</h1>
    <${Loading} state=${today}>${(t) => html`<${Today} t=${t} onChange=${changed} />`}<//>
    ${tz && html`<${Calendar} tz=${tz} tick=${tick} />`}
    ${tz && html`<${Leave} user=${user} tz=${tz} tick=${tick} onChange=${changed} />`}`;
}

function stateText(t) {
  const tz = t.timezone;
  if (t.state === 'in') return 'In since ' + fmt.time(t.since, tz);
  if (t.state === 'out') return 'Out since ' + fmt.time(t.last_out || t.since, tz);
  return 'Not in yet';
}

function Today({ t, onChange }) {
  const f = useForm();
  const [camera, setCamera] = useState(false);
  const tz = t.timezone;
  const checkIn = t.state !== 'in';
  const press = () => {
    if (checkIn && t.face_required) { setCamera(true); return; }
    f.run(async () => {
      await api.post(checkIn ? '/attendance/check-in' : '/attendance/check-out', {});
      onChange();
    });
  };
  const photo = async (blob) => {
    try {
      const r = await api.post('/attendance/check-in', blob);
      setTimeout(() => { setCamera(false); onChange(); }, 1500);
      const sim = r.face && typeof r.face.similarity === 'number' ? ' (similarity ' + r.face.similarity.toFixed(2) + ')' : '';
      return { ok: true, text: 'Matched' + sim + ': in at ' + fmt.time(r.at, tz) };
    } catch (e) {
      if (e.code === 'face_mismatch') return { ok: false, text: 'Not matched: try again.' };
      if (e.code === 'no_face') return { ok: false, text: 'No face found in the photo: try again.' };
      if (e.code === 'already_checked_in') { onChange(); setCamera(false); }
      return { ok: false, text: e.message };
    }
  };
  return html`<section class="card today" aria-labelledby="today-h">
    <h2 id="today-h">Today, ${fmt.date(t.date)}</h2>
    <p class="state" data-state=${t.state}>${stateText(t)}</p>
    <p class="muted">
      ${t.first_in ? 'First in ' + fmt.time(t.first_in, tz) + ' · ' : ''}Worked ${fmt.hours(t.worked_minutes || 0)} h
      ${t.status ? ' · ' + fmt.STATUS_LABEL[t.status] : ''} · ${fmt.tzNote(tz)}</p>
    ${!camera && html`<button type="button" class=${'big ' + (checkIn ? 'in' : 'out')} disabled=${f.busy} onClick=${press}>${checkIn ? 'Check in' : 'Check out'}</button>`}
    ${camera && html`<${CameraCapture} label="Check in with your face" action="Take photo and check in" onPhoto=${photo} onClose=${() => setCamera(false)} />`}
    <${Message} text=${f.message} />
    ${t.events && t.events.length > 0 && html`<ul class="events" aria-label="Today's punches">
      ${t.events.map((e) => html`<li>${e.kind === 'in' ? 'In' : 'Out'} at ${fmt.time(e.at, tz)} <span class="muted">(${e.source})</span></li>`)}</ul>`}
  </section>`;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function Calendar({ tz, tick }) {
  const [month, setMonth] = useState(fmt.thisMonth(tz));
  const range = fmt.monthRange(month);
  const days = useLoad(() => api.get('/attendance/days?from=' + range.from + '&to=' + range.to), [month, tick]);
  const first = new Date(range.from + 'T00:00:00Z').getUTCDay(); // 0 Sunday
  const pad = (first + 6) % 7;
  return html`<section class="card" aria-labelledby="cal-h">
    <div class="row spread">
      <h2 id="cal-h">${fmt.monthName(month)}</h2>
      <div class="row">
        <button type="button" onClick=${() => setMonth(fmt.shiftMonth(month, -1))}>Previous month</button>
        <button type="button" onClick=${() => setMonth(fmt.shiftMonth(month, 1))}>Next month</button>
      </div>
    </div>
    <${Loading} state=${days}>${(d) => html`
      <div class="calendar" role="list" aria-label=${'Attendance in ' + fmt.monthName(month)}>
        ${WEEKDAYS.map((w) => html`<div class="wd" aria-hidden="true">${w}</div>`)}
        ${Array.from({ length: pad }, () => html`<div class="pad" aria-hidden="true"></div>`)}
        ${items(d).map((day) => html`<div role="listitem" class=${'day st-' + (day.status || 'none')} data-date=${day.date}
            aria-label=${fmt.date(day.date) + ': ' + (fmt.STATUS_LABEL[day.status] || 'to come') + (day.worked_minutes ? ', worked ' + fmt.hours(day.worked_minutes) + ' h' : '')}>
          <span class="n">${Number(day.date.slice(8))}</span>
          <span class="s" aria-hidden="true"><span class="long">${fmt.STATUS_LABEL[day.status] || ''}</span><span class="short">${fmt.STATUS_ABBR[day.status] || ''}</span></span>
          <span class="h">${day.worked_minutes ? fmt.hours(day.worked_minutes) : ''}</span>
        </div>`)}
      </div>`}<//>
    <${Legend} />
  </section>`;
}

export function Legend() {
  return html`<ul class="legend" aria-label="Colours">
    ${['present', 'late', 'absent', 'on_leave', 'half_day', 'holiday', 'weekend'].map((s) => html`<li><span class=${'sw st-' + s} aria-hidden="true">${fmt.STATUS_ABBR[s]}</span>${fmt.STATUS_LABEL[s]}</li>`)}
  </ul>`;
}

function Leave({ user, tz, tick, onChange }) {
  const year = fmt.today(tz).slice(0, 4);
  const types = useLoad(() => api.get('/leave/types'), []);
  const balances = useLoad(() => api.get('/leave/balances?year=' + year), [tick]);
  const requests = useLoad(() => api.get('/leave/requests?user_id=' + user.id + '&limit=100'), [tick]);
  return html`
    <section class="card" aria-labelledby="bal-h">
      <h2 id="bal-h">Leave balances ${year}</h2>
      <${Loading} state=${balances}>${(b) => html`<${Table} label="Leave balances">
        <thead><tr><th scope="col">Type</th><th scope="col">Allowed</th><th scope="col">Taken</th><th scope="col">Pending</th><th scope="col">Left</th></tr></thead>
        <tbody>${items(b).map((x) => html`<tr data-type=${x.name}><th scope="row">${x.name}</th><td>${x.allowed}</td><td>${x.taken}</td><td>${x.pending}</td><td class="left">${x.left}</td></tr>`)}</tbody>
      <//>`}<//>
    </section>
    <section class="card" aria-labelledby="req-h">
      <h2 id="req-h">Ask for leave</h2>
      <${Loading} state=${types}>${(t) => html`<${LeaveForm} types=${items(t)} onDone=${onChange} />`}<//>
    </section>
    <section class="card" aria-labelledby="mine-h">
      <h2 id="mine-h">My requests</h2>
      <${Loading} state=${requests}>${(r) => html`<${MyRequests} list=${items(r)} tz=${tz} onChange=${onChange} />`}<//>
    </section>`;
}

function LeaveForm({ types, onDone }) {
  const f = useForm();
  const submit = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    f.run(async () => {
      await api.post('/leave/requests', {
        type_id: v.type_id, start_date: v.start_date, end_date: v.end_date,
        half_day: v.half_day === 'on', reason: v.reason || undefined,
      });
      form.reset();
      f.setMessage('');
      onDone();
    });
  };
  return html`<form onSubmit=${submit} novalidate>
    <${Field} label="Type" name="type_id" type="select" errors=${f.errors}>
      ${types.map((t) => html`<option value=${t.id}>${t.name}</option>`)}<//>
    <div class="row">
      <${Field} label="Start date" name="start_date" type="date" required errors=${f.errors} />
      <${Field} label="End date" name="end_date" type="date" required errors=${f.errors} />
    </div>
    <${Field} label="Half day" name="half_day" type="checkbox" errors=${f.errors} />
    <${Field} label="Reason" name="reason" type="textarea" rows="2" errors=${f.errors} />
    <${Message} text=${f.message} />
    <button class="primary" disabled=${f.busy}>Request leave</button>
  </form>`;
}

function MyRequests({ list, tz, onChange }) {
  const f = useForm();
  const today = fmt.today(tz);
  if (!list.length) return html`<p class="muted">No requests yet.</p>`;
  const cancel = (r) => f.run(async () => { await api.post('/leave/requests/' + r.id + '/cancel', {}); onChange(); });
  return html`<${Message} text=${f.message} />
    <ul class="requests">${list.map((r) => html`<li class="request" data-status=${r.status}>
      <span><strong>${r.type_name}</strong> ${fmt.date(r.start_date)}${r.end_date !== r.start_date ? ' – ' + fmt.date(r.end_date) : ''}${r.half_day ? ' (half day)' : ''}</span>
      <span class=${'badge ' + r.status}>${r.status}</span>
      ${r.comment ? html`<span class="muted">“${r.comment}”</span>` : ''}
      ${(r.status === 'pending' || (r.status === 'approved' && r.start_date > today)) &&
        html`<button type="button" aria-label=${'Cancel ' + r.type_name + ' from ' + r.start_date} onClick=${() => cancel(r)}>Cancel</button>`}
    </li>`)}</ul>`;
}
