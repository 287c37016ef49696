// The ONNX spec's quantized arithmetic, computed independently in the tests (float32 at every step, as
// DequantizeLinear -> float op -> QuantizeLinear runs), and the int8 differential check: our result on both
// targets within one unit of onnxruntime-node's (whose int8 kernels round differently on different CPUs) and of
// this reference.

import { expect } from 'vitest';
import type { DType, TypedArray } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import { expectClose, runOrt, runOurs, type Feeds, type Outputs } from './oracle.js';

export interface Q { scale: number; zp: number; dtype: 'int8' | 'uint8' }

const f = Math.fround;

export const deq = (v: number, q: Q) => f(f(v - q.zp) * f(q.scale));

export function quant(v: number, q: Q): number {
  const x = f(f(v) / f(q.scale));
  const fl = Math.floor(x);
  const r = x - fl < 0.5 ? fl : x - fl > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
  const lo = q.dtype === 'int8' ? -128 : 0;
  if (Number.isNaN(r)) return 0;
  return Math.min(Math.max(r + q.zp, lo), lo + 255);
}

/** Element index of `shape` broadcast into `outShape` for the flat output index i. */
export function broadcastIndex(i: number, shape: number[], outShape: number[]): number {
  let idx = 0, stride = 1, rest = i;
  const coords = outShape.map(() => 0);
  for (let d = outShape.length - 1; d >= 0; d--) { coords[d] = rest % outShape[d]; rest = Math.floor(rest / outShape[d]); }
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = d + outShape.length - shape.length;
    if (shape[d] !== 1) idx += coords[od] * stride;
    stride *= shape[d];
  }
  return idx;
}

export function int8Tensor(dtype: DType, shape: number[], rand: () => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.floor(rand() * 256) - (dtype === 'int8' ? 128 : 0);
  return { dtype, shape, data };
}

export const scalarF32 = (v: number): Tensor => ({ dtype: 'float32', shape: [], data: Float32Array.of(v) });
export const scalarQ = (dtype: 'int8' | 'uint8', v: number): Tensor => ({ dtype, shape: [], data: dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v) });

export interface Int8Stats { elements: number; offFromOrt: number; offFromSpec: number }

function countOff(a: TypedArray, e: TypedArray): number {
  let n = 0;
  for (let i = 0; i < e.length; i++) if (Number(a[i]) !== Number(e[i])) n++;
  return n;
}

/**
 * Compiles `spec` for both targets and runs it on `feeds`: every output within one unit of onnxruntime-node's and
 * of `reference` (the spec arithmetic); with `exact`, equal to the reference; the two targets' bytes equal. Returns
 * how many elements differed.
 * `oracleSpec` is an equivalent model for onnxruntime where it cannot run `spec` itself.
 */
export async function checkInt8(spec: ModelSpec, feeds: Feeds, reference: Outputs, exact = false, oracleSpec = spec): Promise<Int8Stats> {
  const model = encodeModel(spec);
  const ort = await runOrt(encodeModel(oracleSpec), feeds);
  const stats: Int8Stats = { elements: 0, offFromOrt: 0, offFromSpec: 0 };
  let simd: Outputs | undefined;
  for (const target of ['simd', 'scalar'] as const) {
    const ours = await runOurs(model, feeds, { target });
    // both targets compute the same integers
    if (simd) for (const name of Object.keys(reference)) expect(Array.from(ours[name].data), `${name}: scalar vs simd`).toEqual(Array.from(simd[name].data));
    simd = ours;
    expectClose(ours, ort, 0, 1);
    expectClose(ours, reference, 0, exact ? 0 : 1);
    for (const [name, r] of Object.entries(reference)) {
      expect(ours[name].data.constructor, `output ${name} type`).toBe(ort[name].data.constructor);
      stats.elements += r.data.length;
      stats.offFromOrt += countOff(ours[name].data, ort[name].data);
      stats.offFromSpec += countOff(ours[name].data, r.data);
    }
  }
  return stats;
}
