// Question sets: an admin builds a set (questions, choices, the right
// answers), publishes it, reads the results and grades text answers;
// everyone else answers the published sets and sees their score.
import { html, useState, useEffect, useRef } from './lib.js';
import * as api from './api.js';
import * as fmt from './fmt.js';
import { Field, Message, useForm, values, useLoad, Loading, Table } from './ui.js';
import { items } from './home.js';
import { useOrg } from './admin.js';

const KIND_LABEL = { single: 'Single choice', multiple: 'Multiple choice', text: 'Text answer' };
const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');

export function Questions({ user }) {
  return user.role === 'admin' ? html`<${AdminSets} user=${user} />` : html`<${TakeSets} />`;
}

// Takes the keyboard (and the eye) to a screen's heading when it opens.
function useFocus() {
  const ref = useRef(null);
  useEffect(() => { if (ref.current) ref.current.focus(); }, []);
  return ref;
}

/* ---- the admin's side ------------------------------------------------------ */

function AdminSets({ user }) {
  const [open, setOpen] = useState(null);
  const list = useLoad(() => api.get('/question-sets?limit=500'), [open]);
  if (open) return html`<${SetEditor} id=${open} user=${user} onClose=${() => setOpen(null)} />`;
  return html`<h1>Question sets</h1>
    <section class="card" aria-labelledby="qnew-h">
      <h2 id="qnew-h">New question set</h2>
      <${NewSet} onDone=${(s) => setOpen(s.id)} />
    </section>
    <section class="card" aria-labelledby="qlist-h">
      <h2 id="qlist-h">Sets</h2>
      <${Loading} state=${list}>${(l) => (items(l).length ? html`<${Table} label="Question sets">
        <thead><tr><th scope="col">Title</th><th scope="col">Questions</th><th scope="col">Points</th><th scope="col">Status</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
        <tbody>${items(l).map((s) => html`<tr data-set=${s.title}><th scope="row">${s.title}</th><td>${s.question_count}</td><td>${s.max_score}</td>
          <td><span class=${'badge ' + (s.published ? 'approved' : 'pending')}>${s.published ? 'published' : 'draft'}</span></td>
          <td><button type="button" aria-label=${'Open ' + s.title} onClick=${() => setOpen(s.id)}>Open</button></td></tr>`)}</tbody><//>`
        : html`<p class="muted">No question sets yet.</p>`)}<//>
    </section>`;
}

function NewSet({ onDone }) {
  const f = useForm();
  const submit = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => onDone(await api.post('/question-sets', {
      title: v.title, description: v.description, max_attempts: Number(v.max_attempts),
    })));
  };
  return html`<form onSubmit=${submit} novalidate>
    <${Field} label="Title" name="title" required errors=${f.errors} />
    <${Field} label="Description" name="description" type="textarea" rows="2" errors=${f.errors} />
    <${Field} label="Attempts allowed" name="max_attempts" type="number" min="1" max="100" defaultValue="1" errors=${f.errors} />
    <${Message} text=${f.message} />
    <button class="primary" disabled=${f.busy}>Create set</button>
  </form>`;
}

function SetEditor({ id, user, onClose }) {
  const set = useLoad(() => api.get('/question-sets/' + id), [id]);
  const heading = useFocus();
  const act = useForm();
  const publish = (s) => act.run(async () => { await api.patch('/question-sets/' + id, { published: !s.published }); set.reload(); });
  const remove = (q) => act.run(async () => { await api.del('/question-sets/' + id + '/questions/' + q.id); set.reload(); });
  return html`<p><button type="button" class="link" onClick=${onClose}>All question sets</button></p>
    <${Loading} state=${set}>${(s) => html`<h1 tabindex="-1" ref=${heading}>${s.title}</h1>
      <p class="row spread"><span><span class=${'badge ' + (s.published ? 'approved' : 'pending')}>${s.published ? 'published' : 'draft'}</span>
        ${' '}${plural(s.question_count, 'question')} · ${plural(s.max_score, 'point')} · ${plural(s.max_attempts, 'attempt')} allowed</span>
        <button type="button" class=${s.published ? '' : 'primary'} disabled=${act.busy} onClick=${() => publish(s)}>${s.published ? 'Unpublish' : 'Publish'}</button></p>
      ${s.description && html`<p class="muted">${s.description}</p>`}
      <${Message} text=${act.message} />
      <section class="card" aria-labelledby="qq-h"><h2 id="qq-h">Questions</h2>
        ${s.questions.length ? html`<ol class="questions">${s.questions.map((q, i) => html`<li data-question=${q.prompt}>
          <p><strong>${q.prompt}</strong> <span class="muted">${KIND_LABEL[q.kind]} · ${plural(q.points, 'point')}</span></p>
          ${q.choices.length > 0 && html`<ul>${q.choices.map((c, ci) => html`<li>${c.text}${(q.answer || []).includes(ci) ? html` <span class="badge approved">right</span>` : ''}</li>`)}</ul>`}
          <button type="button" aria-label=${'Delete question ' + (i + 1)} disabled=${act.busy} onClick=${() => remove(q)}>Delete</button></li>`)}</ol>`
          : html`<p class="muted">No questions yet.</p>`}
      </section>
      <section class="card" aria-labelledby="qadd-h"><h2 id="qadd-h">Add a question</h2>
        <${AddQuestion} setId=${id} onDone=${set.reload} /></section>
      <${Results} s=${s} user=${user} />`}<//>`;
}

function AddQuestion({ setId, onDone }) {
  const f = useForm();
  const [kind, setKind] = useState('single');
  const [n, setN] = useState(2);
  const submit = (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const v = values(form);
    const body = { kind, prompt: v.prompt, points: Number(v.points) };
    if (kind !== 'text') {
      body.choices = [...Array(n).keys()].map((i) => v['choices[' + i + ']']);
      body.answer = [...form.querySelectorAll('input[name=right]:checked')].map((x) => Number(x.value));
    }
    f.run(async () => {
      await api.post('/question-sets/' + setId + '/questions', body);
      form.reset();
      form.querySelector('[name=kind]').value = kind; // the next one is often of the same kind
      setN(2);
      onDone();
    });
  };
  return html`<form onSubmit=${submit} novalidate aria-label="Add a question">
    <${Field} label="Prompt" name="prompt" type="textarea" rows="2" required errors=${f.errors} />
    <div class="row">
      <${Field} label="Kind" name="kind" type="select" value=${kind} onChange=${(e) => setKind(e.target.value)} errors=${f.errors}>
        ${Object.keys(KIND_LABEL).map((k) => html`<option value=${k}>${KIND_LABEL[k]}</option>`)}<//>
      <${Field} label="Points" name="points" type="number" min="0" max="1000" defaultValue="1" errors=${f.errors} />
    </div>
    ${kind !== 'text' && html`<fieldset><legend>Choices and the right ${kind === 'single' ? 'one' : 'ones'}</legend>
      ${[...Array(n).keys()].map((i) => html`<div class="row choice" key=${i}>
        <${Field} label=${'Choice ' + (i + 1)} name=${'choices[' + i + ']'} errors=${f.errors} />
        <span class="check"><input type=${kind === 'single' ? 'radio' : 'checkbox'} id=${'right' + i} name="right" value=${i} />
          <label for=${'right' + i}>${'Choice ' + (i + 1) + ' is right'}</label></span></div>`)}
      ${(f.errors.choices || f.errors.answer) && html`<p class="field-error" role="alert">${f.errors.choices || f.errors.answer}</p>`}
      <button type="button" disabled=${n >= 50} onClick=${() => setN(n + 1)}>Add choice</button>
    </fieldset>`}
    <${Message} text=${f.message} />
    <button class="primary" disabled=${f.busy}>Add question</button>
  </form>`;
}

function Results({ s, user }) {
  const org = useOrg(user);
  const tz = org.data ? org.data.timezone : 'UTC';
  const [tick, setTick] = useState(0);
  const res = useLoad(() => api.get('/question-sets/' + s.id + '/results'), [s.id, tick]);
  const subs = useLoad(() => api.get('/question-sets/' + s.id + '/submissions?limit=500'), [s.id, tick]);
  const f = useForm();
  const csv = () => f.run(() => api.download('/question-sets/' + s.id + '/results?format=csv', 'results-' + s.id + '.csv'));
  const pending = items(subs.data).filter((x) => x.pending_review);
  return html`<section class="card" aria-labelledby="qres-h"><h2 id="qres-h">Results</h2>
    <p class="muted">${fmt.tzNote(tz)}</p>
    <${Loading} state=${res}>${(r) => (r.rows.length ? html`<${Table} label="Results">
      <thead><tr><th scope="col">Person</th><th scope="col">Attempts</th><th scope="col">Best score</th><th scope="col">Last submitted</th><th scope="col">Review</th></tr></thead>
      <tbody>${r.rows.map((x) => html`<tr data-email=${x.email}><th scope="row">${x.name}</th><td>${x.attempts}</td>
        <td class="best">${x.best_score} / ${x.max_score}</td><td>${fmt.dateTime(x.last_submitted_at, tz)}</td>
        <td>${x.pending_review ? 'waiting' : 'done'}</td></tr>`)}</tbody><//>`
      : html`<p class="muted">Nobody has answered yet.</p>`)}<//>
    <${Message} text=${f.message} />
    <p><button type="button" disabled=${f.busy} onClick=${csv}>Download CSV</button></p>
    ${pending.length > 0 && html`<h3>Waiting for review</h3>
      ${pending.map((x) => html`<${Grade} key=${x.id} s=${s} sub=${x} onDone=${() => setTick(tick + 1)} />`)}`}
  </section>`;
}

// The text answers of one submission that wait for points.
function Grade({ s, sub, onDone }) {
  const f = useForm();
  const open = sub.answers.filter((a) => a.points === null);
  const prompt = (qid) => (s.questions.find((q) => q.id === qid) || {}).prompt || 'Question';
  const submit = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      await api.patch('/question-sets/' + s.id + '/submissions/' + sub.id, {
        grades: open.map((a) => ({ question_id: a.question_id, points: Number(v[a.question_id]) })),
      });
      onDone();
    });
  };
  return html`<form class="grade" onSubmit=${submit} novalidate aria-label=${'Grade ' + sub.user_name + ', attempt ' + sub.attempt}>
    <p><strong>${sub.user_name}</strong>, attempt ${sub.attempt}: ${sub.score} / ${sub.max_score} so far</p>
    ${open.map((a, i) => html`<blockquote>${a.text}</blockquote>
      <${Field} label=${'Points for “' + prompt(a.question_id) + '” (0 to ' + a.max_points + ')'} name=${a.question_id}
        type="number" min="0" max=${a.max_points} required errors=${{ [a.question_id]: f.errors['grades[' + i + '].points'] }} />`)}
    <${Message} text=${f.message} />
    <button class="primary" disabled=${f.busy}>Save</button>
  </form>`;
}

/* ---- everyone else: answering ---------------------------------------------- */

function TakeSets() {
  const [open, setOpen] = useState(null);
  const list = useLoad(() => api.get('/question-sets?limit=500'), [open]);
  if (open) return html`<${TakeSet} id=${open} onClose=${() => setOpen(null)} />`;
  return html`<h1>Question sets</h1>
    <${Loading} state=${list}>${(l) => (items(l).length ? html`<ul class="plain sets">${items(l).map((s) => {
      const left = s.max_attempts - s.my_attempts;
      return html`<li class="card" data-set=${s.title}><div>
        <h2>${s.title}</h2>
        ${s.description && html`<p class="muted">${s.description}</p>`}
        <p>${plural(s.question_count, 'question')} · ${plural(s.max_score, 'point')}
          ${s.my_best_score !== null && html` · <span class="best">your best score: ${s.my_best_score} / ${s.max_score}</span>`}</p>
        <p class="muted">${left > 0 ? plural(left, 'attempt') + ' left' : 'No attempts left'}</p>
        ${left > 0 && html`<button type="button" class="primary" aria-label=${'Answer ' + s.title} onClick=${() => setOpen(s.id)}>Answer</button>`}
      </div></li>`;
    })}</ul>` : html`<p class="muted">No question sets to answer.</p>`)}<//>`;
}

function TakeSet({ id, onClose }) {
  const set = useLoad(() => api.get('/question-sets/' + id), [id]);
  const [result, setResult] = useState(null);
  const f = useForm();
  const heading = useFocus();
  const submit = (s) => (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const answers = [];
    for (const q of s.questions) {
      if (q.kind === 'text') {
        const text = form.querySelector('[name="' + q.id + '"]').value;
        if (text.trim()) answers.push({ question_id: q.id, text });
      } else {
        const picked = [...form.querySelectorAll('input[name="' + q.id + '"]:checked')].map((x) => x.value);
        if (picked.length) answers.push({ question_id: q.id, choice_ids: picked });
      }
    }
    f.run(async () => setResult(await api.post('/question-sets/' + id + '/submissions', { answers })));
  };
  if (result) return html`<${Score} sub=${result} s=${set.data} onClose=${onClose} />`;
  return html`<p><button type="button" class="link" onClick=${onClose}>All question sets</button></p>
    <${Loading} state=${set}>${(s) => html`<h1 tabindex="-1" ref=${heading}>${s.title}</h1>
      ${s.description && html`<p class="muted">${s.description}</p>`}
      <form class="card answer" onSubmit=${submit(s)} novalidate aria-label=${'Answers to ' + s.title}>
        ${s.questions.map((q, i) => (q.kind === 'text'
    ? html`<${Field} label=${(i + 1) + '. ' + q.prompt + ' (' + plural(q.points, 'point') + ')'} name=${q.id} type="textarea" rows="3" />`
    : html`<fieldset><legend>${(i + 1) + '. ' + q.prompt + ' (' + plural(q.points, 'point') + ')'}</legend>
            ${q.kind === 'multiple' && html`<p class="hint">Pick every right one.</p>`}
            ${q.choices.map((c) => html`<span class="check choice"><input type=${q.kind === 'single' ? 'radio' : 'checkbox'} id=${'c' + c.id} name=${q.id} value=${c.id} />
              <label for=${'c' + c.id}>${c.text}</label></span>`)}</fieldset>`))}
        <${Message} text=${f.message} />
        <button class="primary" disabled=${f.busy}>Submit answers</button>
      </form>`}<//>`;
}

function Score({ sub, s, onClose }) {
  const heading = useFocus();
  const prompt = (qid) => ((s && s.questions.find((q) => q.id === qid)) || {}).prompt || 'Question';
  return html`<h1 tabindex="-1" ref=${heading}>${s ? s.title : 'Submitted'}</h1>
    <section class="card" aria-labelledby="score-h">
      <h2 id="score-h">Your score</h2>
      <p class="score" role="status">You scored ${sub.score} of ${sub.max_score} points.</p>
      ${sub.pending_review && html`<p class="muted">A text answer waits for review: your score can still go up.</p>`}
      <ul class="plain">${sub.answers.map((a) => html`<li>${prompt(a.question_id)} — ${a.points === null ? 'waiting for review' : a.points + ' / ' + a.max_points}</li>`)}</ul>
      <p><button type="button" onClick=${onClose}>Back to question sets</button></p>
    </section>`;
}
