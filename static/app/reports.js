// The monthly attendance sheet (people × days, coloured by status, totals)
// and the monthly report, each with a month picker and "Download CSV".
import { html, useState, useEffect } from './lib.js';
import * as api from './api.js';
import * as fmt from './fmt.js';
import { Message, useForm, useLoad, Loading, Table } from './ui.js';
import { Legend } from './home.js';

const ABBR = fmt.STATUS_ABBR;

function MonthPicker({ month, setMonth, onDownload, busy }) {
  if (!month) return null;
  return html`<div class="row picker">
    <button type="button" onClick=${() => setMonth(fmt.shiftMonth(month, -1))}>Previous month</button>
    <div class="field"><label for="month">Month</label>
      <input id="month" type="month" value=${month} onChange=${(e) => e.target.value && setMonth(e.target.value)} /></div>
    <button type="button" onClick=${() => setMonth(fmt.shiftMonth(month, 1))}>Next month</button>
    <button type="button" class="primary" disabled=${busy} onClick=${onDownload}>Download CSV</button>
  </div>`;
}

// ?month=YYYY-MM, else this month in the organisation's zone (not the
// browser's: near midnight they are different months).
function useMonth(user) {
  const asked = new URLSearchParams(location.search).get('month');
  const [month, setMonth] = useState(asked);
  useEffect(() => {
    if (month) return;
    api.get('/orgs/' + user.org_id).then((o) => setMonth(fmt.thisMonth(o.timezone)),
      () => setMonth(fmt.thisMonth('UTC')));
  }, []);
  return [month, setMonth];
}

export function Sheet({ user }) {
  const [month, setMonth] = useMonth(user);
  const sheet = useLoad(() => (month ? api.get('/reports/sheet?month=' + month) : new Promise(() => {})), [month]);
  const f = useForm();
  const csv = () => f.run(() => api.download('/reports/sheet?month=' + month + '&format=csv', 'rollcall-sheet-' + month + '.csv'));
  return html`<h1>Attendance sheet</h1>
    <${MonthPicker} month=${month} setMonth=${setMonth} onDownload=${csv} busy=${f.busy} />
    <${Message} text=${f.message} />
    <${Loading} state=${sheet}>${(s) => html`<h2>${s.org && s.org.name}: ${fmt.monthName(s.month)}</h2>
      <p class="muted">Dates in ${s.timezone}</p>
      <${Table} label=${'Attendance sheet ' + fmt.monthName(s.month)}>
        <thead><tr><th scope="col" class="name">Person</th>
          ${s.days.map((d) => html`<th scope="col" class="d"><span class="sr">${fmt.date(d)}</span><span aria-hidden="true">${Number(d.slice(8))}<br />${fmt.date(d, { weekday: 'narrow' })}</span></th>`)}
          <th scope="col">Present</th><th scope="col">Late</th><th scope="col">Absent</th><th scope="col">On leave</th><th scope="col">Half day</th><th scope="col">Hours</th></tr></thead>
        <tbody>${s.rows.map((r) => html`<tr data-email=${r.email}><th scope="row" class="name">${r.name}</th>
          ${r.statuses.map((st, i) => html`<td class=${'c st-' + (st || 'none')} title=${st ? fmt.STATUS_LABEL[st] + (r.worked_minutes[i] ? ' ' + fmt.hours(r.worked_minutes[i]) + ' h' : '') : ''}>
            <span aria-hidden="true">${st ? ABBR[st] : ''}</span><span class="sr">${st ? fmt.STATUS_LABEL[st] : 'to come'}</span></td>`)}
          <td>${r.totals.present}</td><td>${r.totals.late}</td><td>${r.totals.absent}</td><td>${r.totals.on_leave}</td><td>${r.totals.half_day}</td>
          <td>${fmt.hours(r.totals.worked_minutes)}</td></tr>`)}</tbody>
      <//>
      <${Legend} />`}<//>`;
}

export function Report({ user }) {
  const [month, setMonth] = useMonth(user);
  const report = useLoad(() => (month ? api.get('/reports/monthly?month=' + month) : new Promise(() => {})), [month]);
  const f = useForm();
  const csv = () => f.run(() => api.download('/reports/monthly?month=' + month + '&format=csv', 'rollcall-report-' + month + '.csv'));
  return html`<h1>Monthly report</h1>
    <${MonthPicker} month=${month} setMonth=${setMonth} onDownload=${csv} busy=${f.busy} />
    <${Message} text=${f.message} />
    <${Loading} state=${report}>${(r) => html`<h2>${r.org && r.org.name}: ${fmt.monthName(r.month)}</h2>
      <p class="muted">${r.working_days} working days · dates in ${r.org && r.org.timezone}</p>
      <${Table} label=${'Monthly report ' + fmt.monthName(r.month)}>
        <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Present</th><th scope="col">Late</th><th scope="col">Absent</th>
          <th scope="col">Leave</th><th scope="col">Holiday</th><th scope="col">Hours</th></tr></thead>
        <tbody>${r.rows.map((x) => html`<tr data-email=${x.email}><th scope="row">${x.name}</th><td>${x.role}</td><td>${x.present}</td><td>${x.late}</td>
          <td>${x.absent}</td><td>${x.leave}</td><td>${x.holiday}</td><td>${fmt.hours(x.worked_minutes)}</td></tr>`)}</tbody>
      <//>`}<//>`;
}
