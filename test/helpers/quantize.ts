// Helpers for the int8 quantization tests: onnxruntime-node at 'basic' (Q and DQ as the spec defines them) on the
// emitted QDQ model, output comparisons (cosine, max difference over the range, arg-max), seeded calibration feeds.

import * as ort from 'onnxruntime-node';
import type { TypedArray } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import type { Feed } from '../../src/index.js';
import { rng } from './oracle.js';

/** Runs a model with onnxruntime-node, graphOptimizationLevel 'basic': output name -> data. */
export async function runOrtBasic(model: Uint8Array, feed: Feed, shapes: Record<string, number[]>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'basic' });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, data] of Object.entries(feed)) feeds[name] = new ort.Tensor(data instanceof BigInt64Array ? 'int64' : 'float32', data as never, shapes[name]);
  const res = await session.run(feeds);
  const out: Record<string, Float32Array> = {};
  for (const name of session.outputNames) out[name] = res[name].data as Float32Array;
  await session.release();
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

/** max |a - e| / (max(e) - min(e)). */
export function relativeToRange(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let lo = Infinity, hi = -Infinity, diff = 0;
  for (let i = 0; i < e.length; i++) {
    lo = Math.min(lo, e[i]); hi = Math.max(hi, e[i]);
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
  }
  return diff / (hi - lo);
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** The reference input plus `count` seeded random inputs like it (floats in [-1, 1), token ids below the reference's largest + 1). */
export function seededCalibration(name: string, reference: Tensor, count = 8, seed = 9): Feed[] {
  const rand = rng(seed);
  const feeds: Feed[] = [{ [name]: reference.data as TypedArray }];
  for (let k = 0; k < count; k++) {
    if (reference.data instanceof BigInt64Array) {
      const top = Number(reference.data.reduce((m, v) => (v > m ? v : m), 0n)) + 1;
      feeds.push({ [name]: BigInt64Array.from(reference.data, () => BigInt(Math.floor(rand() * top))) });
    } else feeds.push({ [name]: Float32Array.from(reference.data as Float32Array, () => rand() * 2 - 1) });
  }
  return feeds;
}
