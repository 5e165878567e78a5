// The app's shell: who is signed in, the client-side routes, the main
// navigation. A kiosk device runs /kiosk, which needs no user at all.
import { html, render, useState, useEffect } from './lib.js';
import * as api from './api.js';
import { SignIn } from './auth.js';
import { Home } from './home.js';
import { Approvals } from './manager.js';
import { People, OrgSettings, Holidays, LeaveTypes, Kiosks, Audit } from './admin.js';
import { Sheet, Report } from './reports.js';
import { Kiosk } from './kiosk.js';
import { Questions } from './questions.js';

const ROUTES = [
  { path: '/', label: 'Home', view: Home, roles: ['admin', 'manager', 'employee', 'intern'] },
  { path: '/questions', label: 'Questions', view: Questions, roles: ['admin', 'manager', 'employee', 'intern'] },
  { path: '/approvals', label: 'Approvals', view: Approvals, roles: ['admin', 'manager'] },
  { path: '/people', label: 'People', view: People, roles: ['admin'] },
  { path: '/sheet', label: 'Sheet', view: Sheet, roles: ['admin'] },
  { path: '/report', label: 'Report', view: Report, roles: ['admin'] },
  { path: '/org', label: 'Organisation', view: OrgSettings, roles: ['admin'] },
  { path: '/holidays', label: 'Holidays', view: Holidays, roles: ['admin'] },
  { path: '/leave-types', label: 'Leave types', view: LeaveTypes, roles: ['admin'] },
  { path: '/kiosks', label: 'Kiosks', view: Kiosks, roles: ['admin'] },
  { path: '/audit', label: 'Audit log', view: Audit, roles: ['admin'] },
];

export function navigate(path) {
  history.pushState(null, '', path);
  dispatchEvent(new Event('rc-route'));
}

function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    addEventListener('rc-route', on);
    return () => { removeEventListener('popstate', on); removeEventListener('rc-route', on); };
  }, []);
  return path;
}

function Nav({ routes, path }) {
  const click = (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
  };
  return html`<nav aria-label="Main" onClick=${click}><ul>
    ${routes.map((r) => html`<li><a href=${r.path} aria-current=${r.path === path ? 'page' : undefined}>${r.label}</a></li>`)}
  </ul></nav>`;
}

function App() {
  const path = usePath();
  const [user, setUser] = useState(undefined); // undefined: still asking
  useEffect(() => {
    if (path === '/kiosk') return;
    api.setSignedOutHandler(() => setUser(null));
    // A reload: the refresh cookie (HttpOnly) brings a new access token.
    api.refresh().then(async (u) => {
      if (!api.signedIn()) { setUser(null); return; }
      try { setUser(u || await api.get('/me')); } catch (e) { setUser(null); }
    });
  }, [path === '/kiosk']);

  if (path === '/kiosk') return html`<${Kiosk} />`;
  if (user === undefined) return html`<main id="main"><p class="muted">Loading…</p></main>`;
  if (user === null || user.must_change_password) {
    return html`<header class="top"><span class="brand">rollcall</span></header>
      <main id="main"><${SignIn} onSignedIn=${setUser} /></main>`;
  }
  const routes = ROUTES.filter((r) => r.roles.includes(user.role));
  const route = routes.find((r) => r.path === path) || routes[0];
  const signOut = async () => {
    await api.logout();
    setUser(null);
    navigate('/');
  };
  if (!route) {
    return html`<header class="top"><span class="brand">rollcall</span>
      <button type="button" onClick=${signOut}>Sign out</button></header>
      <main id="main"><p>This account (${user.role}) has no screens in the app.</p></main>`;
  }
  const View = route.view;
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">rollcall</span>
      <span class="who">${user.name} <span class="muted">(${user.role})</span></span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <${Nav} routes=${routes} path=${route.path} />
    <main id="main" tabindex="-1"><${View} user=${user} key=${route.path} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
