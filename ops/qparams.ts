// Per-tensor quantization parameters of the com.microsoft QLinear* operators and the internal int8 ops: a constant
// float32 scale and an optional constant zero point of the quantized tensor's type, plus the float32 arithmetic of
// the ONNX spec (DequantizeLinear, QuantizeLinear) evaluated at compile time.

import type { DType } from '../src/ir/dtype.js';
import { numel, tensorNumbers } from '../src/ir/graph.js';
import type { InferCtx } from './types.js';
import type { OpCtx } from './move.js';
import { QUANT_RANGE } from './quantize.js';

export const INT8_TYPES: readonly DType[] = ['int8', 'uint8'];

/** A quantized tensor's per-tensor parameters: value = (q - zp) * scale. */
export interface QParam { scale: number; zp: number; dtype: DType }

/** The single value of constant input i (a scalar or one-element tensor), or a clear error. */
function scalarConst(ctx: OpCtx<unknown> | InferCtx<unknown>, i: number, what: string): { value: number; dtype: DType } {
  const info = ctx.inputs[i];
  if (!info) ctx.fail(`input ${i} (${what}) is missing`);
  const t = 'constInput' in ctx ? ctx.constInput(i, what) : info!.const;
  if (!t) ctx.fail(`input ${i} (${what}) must be a constant`);
  if (numel(t!.shape) !== 1) ctx.fail(`${what} must hold one value (per-tensor quantization), not shape [${t!.shape}]`);
  return { value: tensorNumbers(t!)[0], dtype: t!.dtype };
}

/**
 * Scale (input scaleIdx, float32) and zero point (input zpIdx, optional: 0 when omitted) of a quantized tensor of
 * type `dtype`; `what` names the tensor in errors.
 */
export function qparam(ctx: OpCtx<unknown> | InferCtx<unknown>, scaleIdx: number, zpIdx: number | undefined, dtype: DType, what: string): QParam {
  if (!INT8_TYPES.includes(dtype)) ctx.fail(`${what} must be int8 or uint8, not ${dtype}`);
  const s = scalarConst(ctx, scaleIdx, `${what}_scale`);
  if (s.dtype !== 'float32') ctx.fail(`${what}_scale must be float32, not ${s.dtype}`);
  if (!(s.value > 0) || !Number.isFinite(s.value)) ctx.fail(`${what}_scale must be a positive finite number, not ${s.value}`);
  let zp = 0;
  if (zpIdx !== undefined && ctx.inputs[zpIdx]) {
    const z = scalarConst(ctx, zpIdx, `${what}_zero_point`);
    if (z.dtype !== dtype) ctx.fail(`${what}_zero_point must be ${dtype} like ${what}, not ${z.dtype}`);
    zp = z.value;
  }
  return { scale: s.value, zp, dtype };
}

export const sameQParam = (a: QParam, b: QParam) => a.scale === b.scale && a.zp === b.zp && a.dtype === b.dtype;
export const qparamKey = (p: QParam) => `${p.dtype}:${p.scale}:${p.zp}`;

/** DequantizeLinear of one value in float32: (q - zp) * scale. */
export const dequantize = (q: number, p: QParam) => Math.fround((q - p.zp) * Math.fround(p.scale));

/** Round half to even (what wasm's nearest does). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** QuantizeLinear of one float32 value: saturate(round_half_even(v / scale) + zp); NaN gives 0, as the kernels do. */
export function quantize(v: number, p: QParam): number {
  const q = roundHalfEven(Math.fround(Math.fround(v) / Math.fround(p.scale))) + p.zp;
  if (Number.isNaN(q)) return 0;
  const [lo, hi] = QUANT_RANGE[p.dtype]!;
  return Math.min(Math.max(q, lo), hi);
}
