// An admin's screens: people (and their faces), organisation settings,
// holidays, leave types, kiosks and the audit log.
import { html, useState, useEffect, useRef } from './lib.js';
import * as api from './api.js';
import * as fmt from './fmt.js';
import { Field, Message, useForm, values, useLoad, Loading, Table } from './ui.js';
import { items } from './home.js';
import { CameraCapture } from './camera.js';

const ROLES = ['admin', 'manager', 'employee', 'intern'];

export function useOrg(user) {
  return useLoad(() => api.get('/orgs/' + user.org_id), [user.org_id]);
}

/* ---- people ---------------------------------------------------------- */

export function People({ user }) {
  const org = useOrg(user);
  const tz = org.data ? org.data.timezone : 'UTC';
  const [query, setQuery] = useState({ q: '', role: '' });
  const [open, setOpen] = useState(null);
  const list = useLoad(() => api.get('/users?limit=500' + (query.q ? '&q=' + encodeURIComponent(query.q) : '') +
    (query.role ? '&role=' + query.role : '')), [query.q, query.role]);
  const all = useLoad(() => api.get('/users?limit=500'), [list.data]);
  const managers = items(all.data).filter((u) => (u.role === 'manager' || u.role === 'admin') && u.status === 'active');
  const search = (ev) => { ev.preventDefault(); const v = values(ev.target); setQuery({ q: v.q.trim(), role: v.role }); };
  const person = open && items(list.data).find((u) => u.id === open);
  return html`<h1>People</h1>
    <section class="card" aria-labelledby="add-h">
      <h2 id="add-h">Add a person</h2>
      <${AddPerson} managers=${managers} onDone=${list.reload} />
    </section>
    <section class="card" aria-labelledby="list-h">
      <h2 id="list-h">Everyone</h2>
      <form class="row" role="search" aria-label="Find people" onSubmit=${search}>
        <${Field} label="Search" name="q" type="search" />
        <${Field} label="Role" name="role" type="select">
          <option value="">All roles</option>${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}<//>
        <button>Search</button>
      </form>
      <${Loading} state=${list}>${(l) => html`<${Table} label="People">
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
        <tbody>${items(l).map((u) => html`<tr data-email=${u.email}>
          <th scope="row">${u.name}</th><td>${u.email}</td><td>${u.role}</td><td>${u.status}</td>
          <td><button type="button" aria-label=${'Manage ' + u.name} aria-expanded=${open === u.id ? 'true' : 'false'}
            onClick=${() => setOpen(open === u.id ? null : u.id)}>Manage</button></td></tr>`)}</tbody>
      <//>`}<//>
    </section>
    ${person && html`<${Person} key=${person.id} u=${person} me=${user} tz=${tz} managers=${managers} onChange=${list.reload} />`}`;
}

function AddPerson({ managers, onDone }) {
  const f = useForm();
  const [shown, setShown] = useState(null);
  const submit = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    f.run(async () => {
      const body = { email: v.email, name: v.name, role: v.role, send_credentials: v.send_credentials === 'on' };
      if (v.manager_id) body.manager_id = v.manager_id;
      const u = await api.post('/users', body);
      setShown(u.temporary_password
        ? { text: 'Temporary password for ' + u.email + ' (shown once): ', secret: u.temporary_password }
        : { text: 'The credentials were mailed to ' + u.email + '.' });
      form.reset();
      onDone();
    });
  };
  return html`<form onSubmit=${submit} novalidate>
    <div class="row">
      <${Field} label="Email" name="email" type="email" required errors=${f.errors} />
      <${Field} label="Name" name="name" required errors=${f.errors} />
    </div>
    <div class="row">
      <${Field} label="Role" name="role" type="select" errors=${f.errors}>
        ${ROLES.map((r) => html`<option value=${r} selected=${r === 'employee'}>${r}</option>`)}<//>
      <${Field} label="Manager" name="manager_id" type="select" errors=${f.errors}>
        <option value="">None</option>${managers.map((m) => html`<option value=${m.id}>${m.name}</option>`)}<//>
    </div>
    <${Field} label="Mail the credentials" name="send_credentials" type="checkbox" defaultChecked errors=${f.errors} />
    <${Message} text=${f.message} />
    ${shown && html`<p class="msg ok" role="status">${shown.text}${shown.secret && html`<code class="secret">${shown.secret}</code>`}</p>`}
    <button class="primary" disabled=${f.busy}>Add person</button>
  </form>`;
}

function Person({ u, me, tz, managers, onChange }) {
  const heading = useRef(null);
  // The panel opens below the list: take the keyboard (and the eye) there.
  useEffect(() => { heading.current.focus(); heading.current.scrollIntoView({ block: 'start' }); }, []);
  const f = useForm();
  const act = useForm();
  const save = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      await api.patch('/users/' + u.id, { role: v.role, manager_id: v.manager_id || null });
      f.setMessage('');
      onChange();
    });
  };
  const resend = () => act.run(async () => { await api.post('/users/' + u.id + '/credentials', {}); act.setMessage('New credentials were mailed to ' + u.email + '.'); });
  const disable = () => act.run(async () => { await api.del('/users/' + u.id); onChange(); });
  return html`<section class="card" aria-labelledby="person-h">
    <h2 id="person-h" tabindex="-1" ref=${heading}>${u.name} <span class="muted">${u.email}</span></h2>
    <form onSubmit=${save} novalidate aria-label=${'Edit ' + u.name}>
      <div class="row">
        <${Field} label="Role" name="role" type="select" errors=${f.errors}>
          ${ROLES.map((r) => html`<option value=${r} selected=${r === u.role}>${r}</option>`)}<//>
        <${Field} label="Manager" name="manager_id" type="select" errors=${f.errors}>
          <option value="">None</option>${managers.filter((m) => m.id !== u.id).map((m) => html`<option value=${m.id} selected=${m.id === u.manager_id}>${m.name}</option>`)}<//>
      </div>
      <${Message} text=${f.message} />
      <button class="primary" disabled=${f.busy}>Save</button>
    </form>
    <div class="row">
      <button type="button" disabled=${act.busy} onClick=${resend}>Resend credentials</button>
      ${u.status === 'active' && u.id !== me.id && html`<button type="button" class="danger" disabled=${act.busy} onClick=${disable}>Disable</button>`}
    </div>
    <p class=${act.message && act.message.startsWith('New') ? 'msg ok' : 'msg error'} role="status">${act.message}</p>
    <${Faces} u=${u} tz=${tz} />
  </section>`;
}

function Faces({ u, tz }) {
  const faces = useLoad(() => api.get('/users/' + u.id + '/faces'), [u.id]);
  const [camera, setCamera] = useState(false);
  const f = useForm();
  const enrol = async (blob) => {
    try {
      const r = await api.post('/users/' + u.id + '/faces', blob);
      faces.reload();
      return { ok: true, text: 'Face enrolled (quality ' + Number(r.quality).toFixed(2) + ').' };
    } catch (e) {
      if (e.code === 'no_face') return { ok: false, text: 'No face found: try again.' };
      if (e.code === 'multiple_faces') return { ok: false, text: 'More than one face: only the person, please.' };
      return { ok: false, text: e.message };
    }
  };
  const file = (ev) => {
    const file0 = ev.target.files && ev.target.files[0];
    if (!file0) return;
    f.run(async () => {
      const r = await enrol(file0);
      if (!r.ok) throw new Error(r.text);
      f.setMessage('');
      ev.target.value = '';
    });
  };
  const remove = (face) => f.run(async () => { await api.del('/users/' + u.id + '/faces/' + face.id); faces.reload(); });
  return html`<div class="faces">
    <h3>Faces</h3>
    <${Loading} state=${faces}>${(l) => items(l).length
      ? html`<ul class="face-list">${items(l).map((x, i) => html`<li>Face ${i + 1}: quality ${Number(x.quality).toFixed(2)}, ${fmt.dateTime(x.created_at, tz)} (${tz})
          <button type="button" aria-label=${'Delete face ' + (i + 1)} onClick=${() => remove(x)}>Delete</button></li>`)}</ul>`
      : html`<p class="muted">No face enrolled.</p>`}<//>
    <${Message} text=${f.message} />
    ${camera
      ? html`<${CameraCapture} label=${'Enrol the face of ' + u.name} action="Take photo and enrol" onPhoto=${enrol} onClose=${() => setCamera(false)} />`
      : html`<div class="row"><button type="button" onClick=${() => setCamera(true)}>Enrol from camera</button>
          <div class="field"><label for="enrol-file">Enrol from a photo</label>
          <input id="enrol-file" type="file" accept="image/*" onChange=${file} /></div></div>`}
  </div>`;
}

/* ---- organisation ------------------------------------------------------ */

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export function OrgSettings({ user }) {
  const org = useOrg(user);
  return html`<h1>Organisation</h1>
    <${Loading} state=${org}>${(o) => html`<${OrgForm} o=${o} onDone=${org.reload} />`}<//>`;
}

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch (e) { return []; }
}

function OrgForm({ o, onDone }) {
  const f = useForm();
  const [saved, setSaved] = useState('');
  const submit = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    const weekend = [...form.querySelectorAll('input[name=weekend]:checked')].map((x) => Number(x.value));
    setSaved('');
    f.run(async () => {
      const body = {
        name: v.name, timezone: v.timezone, workday_start: v.workday_start, workday_end: v.workday_end,
        late_after_minutes: Number(v.late_after_minutes), weekend_days: weekend,
        signup_domains: v.signup_domains.split(/[\s,]+/).filter(Boolean),
        face_required: v.face_required === 'on',
      };
      if (v.face_threshold !== '') body.face_threshold = Number(v.face_threshold);
      await api.patch('/orgs/' + o.id, body);
      setSaved('Saved.');
      onDone();
    });
  };
  const tzs = zones();
  return html`<form class="card" onSubmit=${submit} novalidate aria-label="Organisation settings">
    <${Field} label="Name" name="name" defaultValue=${o.name} required errors=${f.errors} />
    <${Field} label="Time zone" name="timezone" defaultValue=${o.timezone} list="tz-list" errors=${f.errors} />
    <datalist id="tz-list">${tzs.map((z) => html`<option value=${z}></option>`)}</datalist>
    <div class="row">
      <${Field} label="Workday start" name="workday_start" type="time" defaultValue=${o.workday_start} errors=${f.errors} />
      <${Field} label="Workday end" name="workday_end" type="time" defaultValue=${o.workday_end} errors=${f.errors} />
      <${Field} label="Late after (minutes)" name="late_after_minutes" type="number" min="0" defaultValue=${o.late_after_minutes} errors=${f.errors} />
    </div>
    <fieldset><legend>Weekend days</legend>
      ${DAYS.map((d, i) => html`<span class="check"><input type="checkbox" id=${'wd' + i} name="weekend" value=${i + 1} defaultChecked=${(o.weekend_days || []).includes(i + 1)} /><label for=${'wd' + i}>${d}</label></span>`)}
      ${f.errors.weekend_days && html`<p class="field-error">${f.errors.weekend_days}</p>`}
    </fieldset>
    <${Field} label="Sign-up domains" name="signup_domains" defaultValue=${(o.signup_domains || []).join(', ')} hint="Comma separated, e.g. example.com" errors=${f.errors} />
    <${Field} label="Face required to check in" name="face_required" type="checkbox" defaultChecked=${o.face_required} errors=${f.errors} />
    <${Field} label="Face threshold" name="face_threshold" type="number" step="0.01" min="0" max="1" defaultValue=${o.face_threshold ?? ''} errors=${f.errors} />
    <${Message} text=${f.message} />
    <${Message} text=${saved} kind="ok" />
    <button class="primary" disabled=${f.busy}>Save</button>
  </form>`;
}

/* ---- holidays, leave types ---------------------------------------------- */

export function Holidays({ user }) {
  const year = new Date().getUTCFullYear();
  const list = useLoad(() => api.get('/orgs/' + user.org_id + '/holidays'), []);
  const f = useForm();
  const add = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    f.run(async () => { await api.post('/orgs/' + user.org_id + '/holidays', { date: v.date, name: v.name }); form.reset(); list.reload(); });
  };
  const remove = (h) => f.run(async () => { await api.del('/orgs/' + user.org_id + '/holidays/' + h.date); list.reload(); });
  return html`<h1>Holidays</h1>
    <section class="card" aria-labelledby="hadd-h"><h2 id="hadd-h">Add a holiday</h2>
      <form onSubmit=${add} novalidate><div class="row">
        <${Field} label="Date" name="date" type="date" min=${year - 1 + '-01-01'} required errors=${f.errors} />
        <${Field} label="Name" name="name" required errors=${f.errors} /></div>
        <${Message} text=${f.message} />
        <button class="primary" disabled=${f.busy}>Add holiday</button></form></section>
    <section class="card" aria-labelledby="hlist-h"><h2 id="hlist-h">Holidays</h2>
      <${Loading} state=${list}>${(l) => items(l).length ? html`<ul class="plain">${items(l).map((h) => html`<li>${fmt.date(h.date)}: ${h.name}
        <button type="button" aria-label=${'Delete holiday ' + h.name} onClick=${() => remove(h)}>Delete</button></li>`)}</ul>` : html`<p class="muted">No holidays.</p>`}<//>
    </section>`;
}

export function LeaveTypes() {
  const list = useLoad(() => api.get('/leave/types'), []);
  const f = useForm();
  const add = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    f.run(async () => {
      await api.post('/leave/types', { name: v.name, days_per_year: Number(v.days_per_year), paid: v.paid === 'on' });
      form.reset();
      list.reload();
    });
  };
  return html`<h1>Leave types</h1>
    <section class="card" aria-labelledby="ladd-h"><h2 id="ladd-h">Add a leave type</h2>
      <form onSubmit=${add} novalidate><div class="row">
        <${Field} label="Name" name="name" required errors=${f.errors} />
        <${Field} label="Days per year" name="days_per_year" type="number" step="0.5" min="0" required errors=${f.errors} /></div>
        <${Field} label="Paid" name="paid" type="checkbox" defaultChecked errors=${f.errors} />
        <${Message} text=${f.message} />
        <button class="primary" disabled=${f.busy}>Add leave type</button></form></section>
    <section class="card" aria-labelledby="llist-h"><h2 id="llist-h">Leave types</h2>
      <${Loading} state=${list}>${(l) => html`<${Table} label="Leave types">
        <thead><tr><th scope="col">Name</th><th scope="col">Days per year</th><th scope="col">Paid</th></tr></thead>
        <tbody>${items(l).map((t) => html`<tr><th scope="row">${t.name}</th><td>${t.days_per_year}</td><td>${t.paid ? 'yes' : 'no'}</td></tr>`)}</tbody><//>`}<//>
    </section>`;
}

/* ---- kiosks -------------------------------------------------------------- */

export function Kiosks({ user }) {
  const org = useOrg(user);
  const tz = org.data ? org.data.timezone : 'UTC';
  const list = useLoad(() => api.get('/kiosks'), []);
  const f = useForm();
  const [made, setMade] = useState(null);
  const add = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    f.run(async () => { const k = await api.post('/kiosks', { name: v.name }); setMade(k); form.reset(); list.reload(); });
  };
  const remove = (k) => f.run(async () => { await api.del('/kiosks/' + k.id); list.reload(); });
  const link = made && location.origin + '/kiosk#token=' + encodeURIComponent(made.token);
  return html`<h1>Kiosks</h1>
    <section class="card" aria-labelledby="kadd-h"><h2 id="kadd-h">Add a kiosk</h2>
      <form onSubmit=${add} novalidate>
        <${Field} label="Name" name="name" required errors=${f.errors} />
        <${Message} text=${f.message} />
        <button class="primary" disabled=${f.busy}>Create kiosk</button></form>
      ${made && html`<div class="msg ok" role="status"><p>Kiosk “${made.name}” created. Open this link on the device to pair it
        (shown once; anyone with it can punch for your people):</p>
        <p><a class="secret" href=${link} data-testid="pair-link">${link}</a></p></div>`}
    </section>
    <section class="card" aria-labelledby="klist-h"><h2 id="klist-h">Kiosks</h2>
      <p class="muted">${fmt.tzNote(tz)}</p>
      <${Loading} state=${list}>${(l) => items(l).length ? html`<${Table} label="Kiosks">
        <thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
        <tbody>${items(l).map((k) => html`<tr><th scope="row">${k.name}</th><td>${fmt.dateTime(k.created_at, tz)}</td>
          <td>${k.last_used_at ? fmt.dateTime(k.last_used_at, tz) : 'never'}</td>
          <td><button type="button" aria-label=${'Delete kiosk ' + k.name} onClick=${() => remove(k)}>Delete</button></td></tr>`)}</tbody><//>`
        : html`<p class="muted">No kiosks yet.</p>`}<//>
    </section>`;
}

/* ---- audit log ------------------------------------------------------------ */

export function Audit({ user }) {
  const org = useOrg(user);
  const [range, setRange] = useState({ from: '', to: '', cursor: '' });
  const list = useLoad(() => api.get('/audit?limit=100' + (range.from ? '&from=' + range.from : '') +
    (range.to ? '&to=' + range.to : '') + (range.cursor ? '&cursor=' + encodeURIComponent(range.cursor) : '')), [range]);
  const tz = org.data && org.data.timezone;
  const show = (ev) => { ev.preventDefault(); const v = values(ev.target); setRange({ from: v.from, to: v.to, cursor: '' }); };
  return html`<h1>Audit log</h1>
    <form class="row card" onSubmit=${show} aria-label="Time range">
      <${Field} label="From" name="from" type="date" />
      <${Field} label="To" name="to" type="date" />
      <button>Show</button>
    </form>
    <p class="muted">${fmt.tzNote(tz)}</p>
    <${Loading} state=${list}>${(l) => html`<${Table} label="Audit log">
      <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Detail</th></tr></thead>
      <tbody>${items(l).map((a) => html`<tr><td>${fmt.dateTime(a.at, tz)}</td><td>${a.action}</td>
        <td class="detail">${a.detail && Object.keys(a.detail).length ? JSON.stringify(a.detail) : ''}</td></tr>`)}</tbody><//>
      ${l.next_cursor && html`<button type="button" onClick=${() => setRange({ ...range, cursor: l.next_cursor })}>Older entries</button>`}`}<//>`;
}
