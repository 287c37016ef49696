// Activation ranges from calibration data: the float model, compiled by onnx2wasm with the tensors to observe as
// extra outputs, runs on every feed; each observed tensor keeps its min/max and, for the percentile and entropy
// methods, a histogram over that range (a second pass over the feeds, as onnxruntime's calibrators do).

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const METHODS: CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

const BINS = 2048;
/** Percentile kept on each side (onnxruntime's default, 99.999). */
const PERCENTILE = 99.999;

export class TensorStats {
  min = Infinity;
  max = -Infinity;
  hist?: Float64Array;
  /** The histogram's range: [lo, hi], always holding 0. */
  lo = 0;
  hi = 0;

  observe(data: ArrayLike<number>): void {
    let mn = this.min, mx = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    this.min = mn;
    this.max = mx;
  }

  /** Second pass: the histogram of the non-zero values over the min/max range found by the first. */
  histogram(data: ArrayLike<number>): void {
    if (!this.hist) {
      this.hist = new Float64Array(BINS);
      this.lo = Math.min(this.min, 0);
      this.hi = Math.max(this.max, 0);
    }
    const h = this.hist, lo = this.lo, width = (this.hi - lo) / BINS;
    if (!(width > 0)) return;
    for (let i = 0; i < data.length; i++) {
      // Exact zeros (ReLU, padding) are exact in any range that holds 0: they would only bias the search.
      if (data[i] === 0) continue;
      const b = Math.floor((data[i] - lo) / width);
      h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
  }

  /** The float range to quantize, always holding 0 (so that 0 is exact, as padding and ReLU need). */
  range(method: CalibrationMethod): [number, number] {
    const lo = Math.min(this.min, 0), hi = Math.max(this.max, 0);
    if (method === 'minmax' || !this.hist || !(hi > lo)) return [lo, hi];
    return method === 'percentile' ? percentileRange(this.hist, lo, hi) : entropyRange(this.hist, lo, hi);
  }
}

/** The (100 - p)% and p% quantiles from the histogram. */
function percentileRange(h: Float64Array, lo: number, hi: number): [number, number] {
  const total = h.reduce((a, b) => a + b, 0);
  const tail = total * (1 - PERCENTILE / 100);
  const width = (hi - lo) / h.length;
  let a = 0, acc = 0;
  while (a < h.length - 1 && acc + h[a] <= tail) acc += h[a++];
  let b = h.length - 1;
  acc = 0;
  while (b > a && acc + h[b] <= tail) acc += h[b--];
  return [Math.min(lo + a * width, 0), Math.max(lo + (b + 1) * width, 0)];
}

/**
 * The clipping range with the least information loss (TensorRT's entropy calibration, made asymmetric): for each
 * candidate range, P is the histogram clipped to it (outliers added to the edge bins), Q the same bins quantized to
 * 256 levels and spread back; the candidate with the least KL(P || Q) wins. The upper end is searched first with
 * the lower end at the minimum, then the lower end with the upper end chosen.
 */
function entropyRange(h: Float64Array, lo: number, hi: number): [number, number] {
  const n = h.length, zero = Math.round((-lo / (hi - lo)) * n);
  const STEPS = 128;
  let a = 0, b = n;
  let best = Infinity;
  for (let k = 1; k <= STEPS; k++) {
    const end = zero + Math.round(((n - zero) * k) / STEPS);
    const kl = clippedDivergence(h, a, end);
    if (kl < best) { best = kl; b = end; }
  }
  best = Infinity;
  for (let k = 1; k <= STEPS && zero > 0; k++) {
    const start = zero - Math.round((zero * k) / STEPS);
    const kl = clippedDivergence(h, start, b);
    if (kl < best) { best = kl; a = start; }
  }
  const width = (hi - lo) / n;
  return [Math.min(0, lo + a * width), Math.max(0, lo + b * width)];
}

const LEVELS = 256;

/** KL(P || Q) for the clipping range of bins [a, b) (Infinity when it has fewer bins than int8 levels). */
function clippedDivergence(h: Float64Array, a: number, b: number): number {
  const bins = b - a;
  if (bins < LEVELS) return Infinity;
  const p = Float64Array.from(h.subarray(a, b));
  const q = new Float64Array(bins);
  for (let j = 0; j < LEVELS; j++) {
    const from = Math.floor((j * bins) / LEVELS), to = Math.floor(((j + 1) * bins) / LEVELS);
    let mass = 0, nonzero = 0;
    for (let i = from; i < to; i++) { mass += p[i]; if (p[i] > 0) nonzero++; }
    for (let i = from; i < to; i++) q[i] = p[i] > 0 ? mass / nonzero : 0;
  }
  for (let i = 0; i < a; i++) p[0] += h[i];
  for (let i = b; i < h.length; i++) p[bins - 1] += h[i];
  return divergence(p, q);
}

/** KL(P || Q) of two unnormalized histograms, Q smoothed where P has mass and Q has none. */
function divergence(p: Float64Array, q: Float64Array): number {
  const ps = p.reduce((x, y) => x + y, 0), qs = q.reduce((x, y) => x + y, 0);
  if (!(ps > 0) || !(qs > 0)) return Infinity;
  const eps = 1e-10;
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    const pi = p[i] / ps, qi = Math.max(q[i] / qs, eps);
    kl += pi * Math.log(pi / qi);
  }
  return kl;
}

/** Asymmetric int8 parameters for a float range holding 0 (onnxruntime's compute_scale_zp). */
export function activationParams([lo, hi]: [number, number]): { scale: number; zeroPoint: number } {
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}
