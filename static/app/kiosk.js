// Kiosk mode: a paired device at the door. The token comes once in the
// pairing link (/kiosk#token=...), is kept in this device's localStorage
// (so a reload stays paired) and is never sent anywhere but this origin.
// The camera runs; at most one punch attempt every 2 s.
import { html, useEffect, useRef, useState } from './lib.js';
import * as fmt from './fmt.js';
import { useCamera, grab } from './camera.js';

const KEY = 'rollcall.kiosk.token';
const PUNCH_EVERY_MS = 2000;
const SHOW_MS = 4000;
const MAX_BACKOFF_MS = 30000;
const REPUNCH_MS = 60000;

function pairFromLink() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', '/kiosk');
  }
  return localStorage.getItem(KEY);
}

async function kioskFetch(token, method, path, body) {
  const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  if (body) headers['Content-Type'] = body.type || 'image/jpeg';
  const res = await fetch('/api/v1' + path, { method, headers, body, credentials: 'omit' });
  let json = null;
  try { json = await res.json(); } catch (e) { /* empty */ }
  return { status: res.status, json };
}

export function Kiosk() {
  const [token, setToken] = useState(() => pairFromLink());
  const [me, setMe] = useState(null);
  const [offline, setOffline] = useState('');
  const [unpaired, setUnpaired] = useState(false);
  useEffect(() => { document.title = 'rollcall kiosk'; }, []);

  // Who this kiosk is; retried with backoff while the network is down.
  useEffect(() => {
    if (!token) return undefined;
    let stop = false;
    let delay = 1000;
    let timer = null;
    const ask = async () => {
      try {
        const r = await kioskFetch(token, 'GET', '/kiosk/me');
        if (stop) return;
        if (r.status === 401 || r.status === 403) { setUnpaired(true); return; }
        if (r.status !== 200) throw new Error('status ' + r.status);
        setOffline('');
        setMe(r.json);
      } catch (e) {
        if (stop) return;
        setOffline('Offline: retrying in ' + Math.round(delay / 1000) + ' s');
        timer = setTimeout(ask, delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    };
    ask();
    return () => { stop = true; clearTimeout(timer); };
  }, [token]);

  if (!token || unpaired) {
    return html`<main class="kiosk" id="main"><h1>rollcall kiosk</h1>
      <p>${unpaired ? 'This kiosk is no longer paired (it was deleted).' : 'This device is not paired.'}</p>
      <p>An admin creates a kiosk under Kiosks and opens its pairing link on this device.</p>
      ${unpaired && html`<button type="button" onClick=${() => { localStorage.removeItem(KEY); setToken(null); setUnpaired(false); }}>Forget this pairing</button>`}
    </main>`;
  }
  return html`<${KioskScreen} token=${token} me=${me} offline=${offline} setOffline=${setOffline} onUnpaired=${() => setUnpaired(true)} />`;
}

function Clock({ tz }) {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => { const t = setInterval(() => setNow(new Date()), 1000); return () => clearInterval(t); }, []);
  return html`<p class="clock" aria-live="off">${fmt.time(now.toISOString(), tz)}</p>
    <p class="clock-tz">${fmt.date(fmt.today(tz))} · ${tz}</p>`;
}

function KioskScreen({ token, me, offline, setOffline, onUnpaired }) {
  const { video, state } = useCamera(true);
  const [banner, setBanner] = useState({ kind: '', text: '' });
  const tz = me && me.org ? me.org.timezone : 'UTC';
  const tzRef = useRef(tz);
  tzRef.current = tz;

  useEffect(() => {
    if (state !== 'live') return undefined;
    let stop = false;
    let timer = null;
    let backoff = PUNCH_EVERY_MS;
    let clearBanner = null;
    const show = (kind, text) => {
      setBanner({ kind, text });
      clearTimeout(clearBanner);
      clearBanner = setTimeout(() => setBanner({ kind: '', text: '' }), SHOW_MS);
    };
    // identify first, punch only a person not punched in the last minute:
    // someone who lingers in front of the camera is not toggled in and out.
    const recent = new Map();
    const tick = async () => {
      let wait = PUNCH_EVERY_MS;
      try {
        const blob = await grab(video.current);
        if (blob && !stop) {
          const who = await kioskFetch(token, 'POST', '/faces/identify', blob);
          backoff = PUNCH_EVERY_MS;
          setOffline('');
          const best = who.status === 200 && who.json.matches && who.json.matches[0];
          if (who.status === 401) { onUnpaired(); return; }
          if (who.status === 429 || who.status === 503) wait = 5000;
          else if (who.status === 200 && !best) show('unknown', 'Not recognised');
          else if (best && !(Date.now() - (recent.get(best.user_id) || 0) < REPUNCH_MS)) {
            const r = await kioskFetch(token, 'POST', '/kiosk/punch', blob);
            if (r.status === 201) {
              recent.set(r.json.user_id, Date.now());
              const name = r.json.name || r.json.user_name || '';
              const at = fmt.time(r.json.at, tzRef.current);
              if (r.json.kind === 'in') show('in', 'Welcome' + (name ? ', ' + name : '') + ' — in at ' + at);
              else show('out', 'Goodbye' + (name ? ', ' + name : '') + ' — out at ' + at);
            } else if (r.status === 404) {
              show('unknown', 'Not recognised');
            }
          }
          // 422 (no face in view): nothing to say.
        }
      } catch (e) {
        // The network dropped: retry with backoff and say so.
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        wait = backoff;
        setOffline('Offline: retrying in ' + Math.round(wait / 1000) + ' s');
      }
      if (!stop) timer = setTimeout(tick, wait);
    };
    timer = setTimeout(tick, 500);
    return () => { stop = true; clearTimeout(timer); clearTimeout(clearBanner); };
  }, [state, token]);

  return html`<main class="kiosk" id="main">
    <h1 class="org">${me ? me.org.name : 'rollcall'}${me && html`<span class="sr"> kiosk ${me.name}</span>`}</h1>
    <${Clock} tz=${tz} />
    <p class=${'banner ' + banner.kind} role="status" aria-live="assertive">${banner.text}</p>
    ${state === 'none'
      ? html`<p>No camera: this kiosk needs one (allow the camera and reload).</p>`
      : html`<video ref=${video} autoplay muted playsinline aria-label="Camera"></video>`}
    <p class="net" role="status">${offline}</p>
    <p class="muted">Look at the camera to check in or out.</p>
    ${document.fullscreenEnabled && !document.fullscreenElement &&
      html`<button type="button" onClick=${() => document.documentElement.requestFullscreen().catch(() => {})}>Full screen</button>`}
  </main>`;
}
