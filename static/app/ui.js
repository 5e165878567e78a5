// Form plumbing shared by every screen: a server problem goes next to the
// field it names (errors[].field), otherwise into the form's message; the
// inputs are uncontrolled, so nothing typed is lost on an error.
import { html, useState, useCallback, useEffect } from './lib.js';

// Problems without a field that still belong to one.
const CODE_FIELD = {
  leave_overlap: 'start_date',
  leave_balance_exceeded: 'type_id',
  invalid_credentials: 'password',
  weak_password: 'new_password',
};

export function useForm() {
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setErrors({});
    setMessage('');
    try {
      return await fn();
    } catch (e) {
      const byField = {};
      for (const fe of e.errors || []) if (fe.field) byField[fe.field] = fe.message;
      if (!Object.keys(byField).length && CODE_FIELD[e.code]) byField[CODE_FIELD[e.code]] = e.message;
      setErrors(byField);
      if (!Object.keys(byField).length) setMessage(e.message || String(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { errors, message, busy, run, setMessage };
}

export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) out[k] = v;
  return out;
}

let seq = 0;
export function Field({ label, name, type = 'text', errors = {}, hint, children, ...rest }) {
  const [id] = useState(() => 'f' + (++seq));
  const err = errors[name];
  const described = [err ? id + '-err' : '', hint ? id + '-hint' : ''].filter(Boolean).join(' ') || undefined;
  const control = type === 'textarea'
    ? html`<textarea id=${id} name=${name} aria-invalid=${err ? 'true' : undefined} aria-describedby=${described} ...${rest}></textarea>`
    : type === 'select'
      ? html`<select id=${id} name=${name} aria-invalid=${err ? 'true' : undefined} aria-describedby=${described} ...${rest}>${children}</select>`
      : html`<input id=${id} name=${name} type=${type} aria-invalid=${err ? 'true' : undefined} aria-describedby=${described} ...${rest} />`;
  if (type === 'checkbox') {
    return html`<div class="field check">${control}<label for=${id}>${label}</label>
      ${err && html`<p class="field-error" id=${id + '-err'}>${err}</p>`}</div>`;
  }
  return html`<div class="field"><label for=${id}>${label}</label>${control}
    ${hint && html`<p class="hint" id=${id + '-hint'}>${hint}</p>`}
    ${err && html`<p class="field-error" id=${id + '-err'}>${err}</p>`}</div>`;
}

export function Message({ text, kind = 'error' }) {
  if (!text) return null;
  return html`<p class=${'msg ' + kind} role=${kind === 'error' ? 'alert' : 'status'}>${text}</p>`;
}

// Loads a resource; reload() fetches again.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then((data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Loading({ state, children }) {
  if (state.error) return html`<${Message} text=${state.error.message} />`;
  if (!state.data) return html`<p class="muted">Loading…</p>`;
  return children(state.data);
}

export function Table({ label, children }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${label}><table>${children}</table></div>`;
}
