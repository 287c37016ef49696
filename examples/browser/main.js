// The page: a drawing pad whose RGBA pixels (ImageData) are the model's input; the module crops nothing, shrinks
// 256x256 to 16x16 and scales to 0..1 itself (--image-input), so this file only draws and shows the result.
import model from '../digits_cnn.onnx';

const labels = document.querySelector('.labels');
labels.replaceChildren(...[...Array(10).keys()].map((d) => Object.assign(document.createElement('span'), { textContent: d })));
const pad = document.getElementById('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true });
const chart = document.getElementById('chart');
const bars = [...Array(10)].map((_, d) => chart.appendChild(Object.assign(document.createElement('div'), { className: 'bar', title: String(d) })));
const prediction = document.getElementById('prediction');
const confidence = document.getElementById('confidence');
const [input] = model.inputs;
const [output] = model.outputs;
document.getElementById('status').textContent =
  `model: ${input.name} ${input.dtype}[${input.shape.join('×')}] → ${output.name} [${output.shape.join('×')}], ${model.manifest.target}`;

// A soft round brush, added on ('lighter'): a stroke saturates to white along its middle with soft edges (like
// the model's training images), and going over a spot again makes it brighter.
const RADIUS = 18;
const brush = document.createElement('canvas');
brush.width = brush.height = RADIUS * 2;
const b = brush.getContext('2d');
const gradient = b.createRadialGradient(RADIUS, RADIUS, 0, RADIUS, RADIUS, RADIUS);
gradient.addColorStop(0, 'rgba(255,255,255,0.25)');
gradient.addColorStop(0.5, 'rgba(255,255,255,0.18)');
gradient.addColorStop(1, 'rgba(255,255,255,0)');
b.fillStyle = gradient;
b.fillRect(0, 0, RADIUS * 2, RADIUS * 2);

function clear() {
  ctx.globalCompositeOperation = 'source-over';
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  prediction.textContent = '';
  prediction.dataset.class = '';
  confidence.textContent = 'draw a digit 0–9';
  bars.forEach((bar) => { bar.style.height = '2px'; bar.classList.remove('top'); });
}

function dab(x, y) {
  ctx.globalCompositeOperation = 'lighter';
  ctx.drawImage(brush, x - RADIUS, y - RADIUS);
}

let last = null;
const at = (e) => {
  const r = pad.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * pad.width) / r.width, y: ((e.clientY - r.top) * pad.height) / r.height };
};
pad.addEventListener('pointerdown', (e) => {
  pad.setPointerCapture(e.pointerId);
  last = at(e);
  dab(last.x, last.y);
  schedule();
});
pad.addEventListener('pointermove', (e) => {
  if (!last) return;
  const p = at(e);
  // Dabs every 3 px along the segment, so that fast strokes have no gaps.
  const steps = Math.max(1, Math.ceil(Math.hypot(p.x - last.x, p.y - last.y) / 3));
  for (let i = 1; i <= steps; i++) dab(last.x + ((p.x - last.x) * i) / steps, last.y + ((p.y - last.y) * i) / steps);
  last = p;
  schedule();
});
const end = () => { last = null; predict(); };
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);
document.getElementById('clear').addEventListener('click', clear);

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; predict(); });
}

function predict() {
  const logits = model.run({ [input.name]: ctx.getImageData(0, 0, pad.width, pad.height) })[output.name].data;
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, v) => a + v, 0);
  const probs = exps.map((v) => v / sum);
  const best = probs.indexOf(Math.max(...probs));
  prediction.textContent = String(best);
  prediction.dataset.class = String(best);
  confidence.textContent = `${(probs[best] * 100).toFixed(1)}% sure`;
  bars.forEach((bar, d) => {
    bar.style.height = `${Math.max(2, Math.round(probs[d] * 180))}px`;
    bar.classList.toggle('top', d === best);
  });
}

clear();
document.body.dataset.ready = 'true';
