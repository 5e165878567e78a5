// Signing in: the password form, the forced change of a temporary password
// (the server answers password_change_required), forgot / reset with the
// mailed code.
import { html, useState } from './lib.js';
import * as api from './api.js';
import { Field, Message, useForm, values } from './ui.js';

export function SignIn({ onSignedIn }) {
  const [mode, setMode] = useState('signin');
  const [pending, setPending] = useState(null); // {email, password} awaiting a change
  const [notice, setNotice] = useState('');

  if (mode === 'change') {
    return html`<${ChangePassword} pending=${pending} onDone=${onSignedIn} />`;
  }
  if (mode === 'forgot' || mode === 'reset') {
    return html`<${Forgot} mode=${mode} setMode=${setMode}
      onReset=${() => { setNotice('Your password was changed: sign in with the new one.'); setMode('signin'); }} />`;
  }
  return html`<${SignInForm} notice=${notice} onForgot=${() => setMode('forgot')}
    onChange=${(p) => { setPending(p); setMode('change'); }} onSignedIn=${onSignedIn} />`;
}

function SignInForm({ notice, onForgot, onChange, onSignedIn }) {
  const f = useForm();
  const submit = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      try {
        const user = await api.login(v.email, v.password);
        if (user && user.must_change_password) onChange({ email: v.email, password: v.password });
        else onSignedIn(user);
      } catch (e) {
        if (e.code === 'password_change_required') onChange({ email: v.email, password: v.password });
        else throw e;
      }
    });
  };
  return html`<section class="card narrow" aria-labelledby="signin-h">
    <h1 id="signin-h">Sign in to rollcall</h1>
    <${Message} text=${notice} kind="ok" />
    <form onSubmit=${submit} novalidate>
      <${Field} label="Email" name="email" type="email" autocomplete="username" required errors=${f.errors} />
      <${Field} label="Password" name="password" type="password" autocomplete="current-password" required errors=${f.errors} />
      <${Message} text=${f.message} />
      <button class="primary" disabled=${f.busy}>Sign in</button>
    </form>
    <p><button type="button" class="link" onClick=${onForgot}>Forgot password?</button></p>
  </section>`;
}

function ChangePassword({ pending, onDone }) {
  const f = useForm();
  const submit = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      if (v.new_password !== v.confirm) {
        const e = new api.ApiError(422, { errors: [{ field: 'confirm', message: 'the two passwords differ' }] });
        throw e;
      }
      await api.post('/auth/password/change', { current_password: pending.password, new_password: v.new_password });
      // A new password ends every session: sign in again with it.
      onDone(await api.login(pending.email, v.new_password));
    });
  };
  return html`<section class="card narrow" aria-labelledby="change-h">
    <h1 id="change-h">Choose your password</h1>
    <p>You signed in with a temporary password. Choose your own to go on.</p>
    <form onSubmit=${submit} novalidate>
      <${Field} label="New password" name="new_password" type="password" autocomplete="new-password" required errors=${f.errors} />
      <${Field} label="Repeat the new password" name="confirm" type="password" autocomplete="new-password" required errors=${f.errors} />
      <${Message} text=${f.message} />
      <button class="primary" disabled=${f.busy}>Save</button>
    </form>
  </section>`;
}

function Forgot({ mode, setMode, onReset }) {
  const f = useForm();
  const [email, setEmail] = useState('');
  const ask = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      await api.post('/auth/password/forgot', { email: v.email }, { anonymous: true });
      setEmail(v.email);
      setMode('reset');
    });
  };
  const reset = (ev) => {
    ev.preventDefault();
    const v = values(ev.target);
    f.run(async () => {
      await api.post('/auth/password/reset', { email: v.email, code: v.code, new_password: v.new_password }, { anonymous: true });
      onReset();
    });
  };
  if (mode === 'forgot') {
    return html`<section class="card narrow" aria-labelledby="forgot-h">
      <h1 id="forgot-h">Forgot your password?</h1>
      <p>We mail you a one-time code.</p>
      <form onSubmit=${ask} novalidate>
        <${Field} label="Email" name="email" type="email" autocomplete="username" required errors=${f.errors} />
        <${Message} text=${f.message} />
        <button class="primary" disabled=${f.busy}>Send the code</button>
      </form>
      <p><button type="button" class="link" onClick=${() => setMode('signin')}>Back to sign-in</button></p>
    </section>`;
  }
  return html`<section class="card narrow" aria-labelledby="reset-h">
    <h1 id="reset-h">Reset your password</h1>
    <p role="status">If an account exists for that address, a code is on its way.</p>
    <form onSubmit=${reset} novalidate>
      <${Field} label="Email" name="email" type="email" autocomplete="username" defaultValue=${email} required errors=${f.errors} />
      <${Field} label="Code" name="code" inputmode="numeric" autocomplete="one-time-code" required errors=${f.errors} />
      <${Field} label="New password" name="new_password" type="password" autocomplete="new-password" required errors=${f.errors} />
      <${Message} text=${f.message} />
      <button class="primary" disabled=${f.busy}>Reset password</button>
    </form>
    <p><button type="button" class="link" onClick=${() => setMode('signin')}>Back to sign-in</button></p>
  </section>`;
}
