// The camera: getUserMedia into a <video>, a frame grabbed into a canvas as
// a JPEG. Where there is no camera (or it is refused) a file input with
// capture="user" takes a photo instead.
import { html, useEffect, useRef, useState } from './lib.js';

export function useCamera(active) {
  const video = useRef(null);
  const [state, setState] = useState('starting'); // starting | live | none
  useEffect(() => {
    if (!active) return undefined;
    let stream = null;
    let live = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { setState('none'); return undefined; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 640 } }, audio: false })
      .then((s) => {
        if (!live) { s.getTracks().forEach((t) => t.stop()); return; }
        stream = s;
        if (video.current) { video.current.srcObject = s; video.current.play().catch(() => {}); }
        setState('live');
      }, () => live && setState('none'));
    return () => { live = false; if (stream) stream.getTracks().forEach((t) => t.stop()); };
  }, [active]);
  return { video, state };
}

// The current frame as a JPEG blob (null when the video has no frame yet).
export function grab(videoEl, canvasEl) {
  return new Promise((resolve) => {
    const w = videoEl.videoWidth;
    const h = videoEl.videoHeight;
    if (!w || !h) { resolve(null); return; }
    const c = canvasEl || document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d').drawImage(videoEl, 0, 0, w, h);
    c.toBlob((b) => resolve(b), 'image/jpeg', 0.9);
  });
}

// Take a photo, send it with onPhoto(blob) → message, show the answer.
export function CameraCapture({ label, action, onPhoto, onClose }) {
  const { video, state } = useCamera(true);
  const canvas = useRef(null);
  const [shot, setShot] = useState(false);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState(null);
  const send = async (blob) => {
    setBusy(true);
    setAnswer(null);
    try {
      setAnswer(await onPhoto(blob));
    } finally {
      setBusy(false);
    }
  };
  const take = async () => {
    const blob = await grab(video.current, canvas.current);
    if (!blob) { setAnswer({ ok: false, text: 'The camera has no picture yet: try again.' }); return; }
    setShot(true);
    await send(blob);
  };
  const file = (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (f) send(f);
  };
  return html`<div class="camera" role="group" aria-label=${label}>
    ${state !== 'none' && html`<div class="frames">
      <video ref=${video} class=${shot ? 'hidden' : ''} autoplay muted playsinline aria-label="Camera preview"></video>
      <canvas ref=${canvas} class=${shot ? '' : 'hidden'} role="img" aria-label="The photo taken"></canvas>
    </div>`}
    ${state === 'none' && html`<div class="field"><label for="cam-file">Photo of the face</label>
      <input id="cam-file" type="file" accept="image/*" capture="user" onChange=${file} /></div>`}
    ${answer && html`<p class=${'msg ' + (answer.ok ? 'ok' : 'error')} role=${answer.ok ? 'status' : 'alert'}>${answer.text}</p>`}
    <div class="row">
      ${state !== 'none' && !shot && html`<button type="button" class="primary" disabled=${busy || state !== 'live'} onClick=${take}>${action}</button>`}
      ${shot && html`<button type="button" disabled=${busy} onClick=${() => { setShot(false); setAnswer(null); }}>Try again</button>`}
      ${state !== 'none' && html`<details class="alt"><summary>Use a photo file instead</summary>
        <div class="field"><label for="cam-file2">Photo of the face</label>
        <input id="cam-file2" type="file" accept="image/*" capture="user" onChange=${file} /></div></details>`}
      <button type="button" onClick=${onClose}>Close</button>
    </div>
  </div>`;
}
