// The oracle for the C++ face nets: face-api itself (npm @vladmandic/face-api,
// its bundled TensorFlow.js on the pure-JS cpu backend; no native add-on, no
// download), on the same weights and pixels.
//
//   node face_oracle.mjs JOB.json
//
// JOB: {"models": "<face-api>/model", "items": [{"image": "a.ppm",
//        "box": [x, y, w, h] | null, "chip": "a-chip.ppm" | null}, ...]}
// Prints, per item: face-api's tiny detector at 320 (score > 0.5) on the
// image, its 68 landmarks on the crop of `box` (image pixels: the crop's
// floored origin added, as the C++ side does), and the raw 128-d descriptor
// of the chip. Images are binary PPM (P6), which needs no decoder here.
// face-api is found beside the models (<package>/model/..), or at
// ROLLCALL_FACE_API_DIR.
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
import { pathToFileURL } from 'url';
import util from 'util';

globalThis.require = createRequire(import.meta.url);

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const pkg = process.env.ROLLCALL_FACE_API_DIR || path.resolve(job.models, '..');
// The bundle stubs Node's `util` as an empty object, yet its Node platform
// does `new this.util.TextEncoder()` while the module loads, and uses
// util.TextDecoder and util.types later. Lend TextEncoder through
// Object.prototype for the import only, then fill the stub itself.
Object.prototype.TextEncoder = util.TextEncoder; // eslint-disable-line no-extend-native
let faceapi;
try {
  faceapi = await import(pathToFileURL(path.join(pkg, 'dist', 'face-api.esm.js')).href);
} finally {
  delete Object.prototype.TextEncoder;
}
const { tf } = faceapi;
Object.assign(tf.env().platform.util, { TextEncoder: util.TextEncoder, TextDecoder: util.TextDecoder, types: util.types });
await tf.setBackend('cpu');
await tf.ready();

function loadNet(net, name) {
  const manifest = JSON.parse(fs.readFileSync(path.join(job.models, `${name}-weights_manifest.json`), 'utf8'));
  const map = {};
  for (const group of manifest) {
    const bufs = group.paths.map((p) => fs.readFileSync(path.join(job.models, p)));
    const all = Buffer.concat(bufs);
    const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
    Object.assign(map, tf.io.decodeWeights(ab, group.weights));
  }
  net.loadFromWeightMap(map);
}

// Binary PPM: "P6", width, height, maxval, one whitespace, RGB bytes.
function readPpm(file) {
  const buf = fs.readFileSync(file);
  const fields = [];
  let i = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(buf[i]))) i++;
    if (buf[i] === 0x23) { while (buf[i] !== 0x0a) i++; continue; }
    let s = '';
    while (!/\s/.test(String.fromCharCode(buf[i]))) s += String.fromCharCode(buf[i++]);
    fields.push(s);
  }
  i++;
  const [magic, w, h, max] = [fields[0], Number(fields[1]), Number(fields[2]), Number(fields[3])];
  if (magic !== 'P6' || max !== 255) throw new Error(`${file}: not an 8-bit P6 PPM`);
  const data = new Int32Array(buf.subarray(i, i + w * h * 3));
  return tf.tensor3d(data, [h, w, 3], 'int32');
}

loadNet(faceapi.nets.tinyFaceDetector, 'tiny_face_detector_model');
loadNet(faceapi.nets.faceLandmark68Net, 'face_landmark_68_model');
loadNet(faceapi.nets.faceRecognitionNet, 'face_recognition_model');

const out = [];
for (const item of job.items) {
  const res = {};
  if (item.image) {
    const img = readPpm(item.image);
    const [h, w] = img.shape;
    const dets = await faceapi.nets.tinyFaceDetector.locateFaces(img,
      new faceapi.TinyFaceDetectorOptions({ inputSize: 320, scoreThreshold: 0.5 }));
    res.detections = dets.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height], score: d.score }));
    if (item.box) {
      const rect = new faceapi.Rect(...item.box);
      const crop = rect.clipAtImageBorders(w, h);
      const [face] = await faceapi.extractFaceTensors(img, [rect]);
      const lm = await faceapi.nets.faceLandmark68Net.detectLandmarks(face);
      res.landmarks68 = lm.positions.map((p) => [p.x + crop.x, p.y + crop.y]);
      face.dispose();
    }
    img.dispose();
  }
  if (item.chip) {
    const chip = readPpm(item.chip);
    res.descriptor = Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(chip));
    chip.dispose();
  }
  out.push(res);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
