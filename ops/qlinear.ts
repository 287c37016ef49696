// Quantized linear algebra: QLinearMatMul and QLinearConv. With constant weights and float32 parameters (every
// quantized model's case, and what the QDQ lowering produces) they run on the int8 GEMM (conv-int8.ts,
// matmul-int8.ts); otherwise on the plain integer loops of ops/integer-ops.ts. Either way the result is requantized as round((acc [+ bias]) * (s_in * s_w / s_y)) + y_zero_point,
// saturated, with the scale product computed in the scales' precision (float16 scales round like float16) and
// the product acc * multiplier rounded to float32 before rounding to an integer (test/helpers/quant-reference.ts).

import type { Expr, Kernel } from '../codegen/wasm.js';
import type { DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import {
  convAttrs, convGeometry, convParam, emitIntConv, emitIntMatMul, matmulGeometry, matParam,
  type ConvAttrs, type ConvGeometry, type ConvParam, type MatParam,
} from './integer-ops.js';
import { roundTo, saturateRound, toFloat } from './quantize.js';
import { int8ConvVariants, type QConvParams } from './conv-int8.js';
import { emitQMatMul, qmatmulScratch } from './matmul-int8.js';
import { defineOp, type AttrReader, type EmitCtx, type InputInfo, type Operand, type TensorInfo } from './types.js';

/**
 * Clamp of the quantized output, in the output's integer domain: internal attributes that src/passes/lower-qdq.ts
 * sets when it folds a Relu or Clip between the op and its QuantizeLinear (never present in ONNX models).
 */
export const QCLAMP = { lo: '_qmin', hi: '_qmax', act: '_act' } as const;
/**
 * act: a Relu or Clip between two quantizations, fused after the requantization (codegen/qgemm.ts QAct) as
 * [final y_scale, final y_zero_point] or, for a LeakyRelu, [final y_scale, final y_zero_point, alpha] (the first
 * quantization is the op's own y_scale / y_zero_point; the activation's clamp is lo / hi).
 */
export interface QClamp { lo: number; hi: number; act: number[] }
export const readQClamp = (a: AttrReader): QClamp => ({ lo: a.int(QCLAMP.lo, -(2 ** 31)), hi: a.int(QCLAMP.hi, 2 ** 31 - 1), act: a.floats(QCLAMP.act, []) });

const isF32Const = (i: InputInfo | Operand | undefined) => !!i?.const && i.dtype === 'float32';
const isConst = (i: InputInfo | Operand | undefined) => !!i?.const;
const nums = (t: { data: ArrayLike<number | bigint> }) => Array.from(t.data as ArrayLike<number>, Number);

/** float32 (sIn * sW[i]) / sY for each weight scale, as the kernels and test/helpers/quant-reference.ts compute it. */
export function multipliers(sIn: number, sW: number[], sY: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.fround(sIn * sW[sW.length === 1 ? 0 : i]) / sY));
}

const INT8: DType[] = ['int8', 'uint8'];
const SCALES: DType[] = ['float32', 'float16', 'bfloat16'];

/** (sIn * sW / sY) in the scale type's precision, as f32. */
function multiplier(k: Kernel, sIn: Expr, sW: Expr, sY: Expr, dt: DType, tmp: number): Expr {
  const ld = (v: Expr) => toFloat(k, v, dt, 'f32');
  return roundTo(k, k.f32.div(roundTo(k, k.f32.mul(ld(sIn), ld(sW)), dt, tmp), ld(sY)), dt, tmp);
}

function requantize(k: Kernel, acc: Expr, mult: Expr, yzp: Expr, ydt: DType): Expr {
  return saturateRound(k, k.f32.mul(k.f32.convert_s.i32(acc), mult), yzp, ydt, 'f32');
}

function checkTypes(ctx: { fail(m: string): never }, ins: (Operand | { dtype: DType } | undefined)[], zpOf: [number, number][], scales: number[]): void {
  for (const [q, z] of zpOf) {
    if (!ins[q] || !INT8.includes(ins[q]!.dtype)) ctx.fail(`input ${q} must be int8 or uint8`);
    if (!ins[z] || ins[z]!.dtype !== ins[q]!.dtype) ctx.fail(`input ${z} (zero point) must have the type of input ${q}`);
  }
  for (const s of scales) if (!ins[s] || !SCALES.includes(ins[s]!.dtype) || ins[s]!.dtype !== ins[scales[0]]!.dtype) ctx.fail('scales must be float tensors of one type');
}

export const QLinearMatMul = defineOp({
  op: 'QLinearMatMul', since: 10, dtypes: ['int8', 'uint8', 'float32', 'float16', 'bfloat16'],
  notes: 'per-tensor, per-row (a) and per-column (b) scales and zero points; float32 per-tensor activations run on the int8 GEMM',
  infer(ctx): TensorInfo[] {
    checkTypes(ctx, ctx.inputs, [[0, 2], [3, 5]], [1, 4, 6]);
    if (!ctx.inputs[7] || !INT8.includes(ctx.inputs[7].dtype)) ctx.fail('y_zero_point must be int8 or uint8');
    return [{ dtype: ctx.inputs[7]!.dtype, shape: matmulGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[3]!.shape).outShape }];
  },
  scratch(ctx) {
    const plan = fastQMatMul(ctx, ctx.inputs);
    return plan ? qmatmulScratch(plan.M, plan.K, plan.N, plan.rows, plan.runtimeB) : 16;
  },
  emit(ctx) {
    const [a, as, azp, b, bs, bzp, ys, yzp] = ctx.inputs as Operand[];
    const g = matmulGeometry(ctx, a.shape, b.shape);
    const plan = fastQMatMul(ctx, ctx.inputs);
    if (plan) {
      const bz = nums(bzp.const ?? { data: [0] });
      const bScales = nums(bs.const!);
      return emitQMatMul(ctx, {
        a, aZp: nums(azp.const!)[0], M: g.M, K: g.K, N: g.N, batches: plan.batches, aBatched: plan.aBatched,
        b: plan.runtimeB ? { op: b, zp: bz[0], batched: plan.bBatched } : { at: (kk, n) => Number(b.const!.data[kk * g.N + n]), signed: b.dtype === 'int8', zp: (n) => bz[bz.length === 1 ? 0 : n] },
        epilogue: { out: ctx.outputs[0].dtype as 'int8' | 'uint8', bias: 'none', scale: 'col', lo: -(2 ** 31), hi: 2 ** 31 - 1 },
        mult: multipliers(nums(as.const!)[0], bScales, nums(ys.const!)[0], g.N), yZp: nums(yzp.const!)[0],
      });
    }
    const params: MatParam[] = [
      matParam(ctx, azp, 'row', g, 'a_zero_point'), matParam(ctx, bzp, 'col', g, 'b_zero_point'),
      matParam(ctx, as, 'row', g, 'a_scale'), matParam(ctx, bs, 'col', g, 'b_scale'),
      matParam(ctx, ys, 'row', g, 'y_scale'), matParam(ctx, yzp, 'row', g, 'y_zero_point'),
    ];
    const y = ctx.outputs[0];
    const tmp = ctx.scratch();
    emitIntMatMul(ctx, `qlmatmul@${tmp}`, a, b, g, params, { a: 0, b: 1 }, y, (k, p, yAddr) =>
      k.store(y.dtype, yAddr, requantize(k, p.acc.get(), multiplier(k, p.param(2), p.param(3), p.param(4), as.dtype, tmp), p.param(5), y.dtype)));
  },
});

interface QMatMulPlan { M: number; K: number; N: number; rows: number; batches: number; aBatched: boolean; bBatched: boolean; runtimeB: boolean }

/**
 * The int8 GEMM applies: float32 constant scales, per-tensor activation parameters (b's per column when b is
 * constant), rank >= 2, and batches that are either whole or broadcast (not interleaved).
 */
function fastQMatMul(ctx: { fail(m: string): never }, ins: (InputInfo | Operand | undefined)[]): QMatMulPlan | undefined {
  const [a, as, azp, b, bs, bzp, ys, yzp] = ins;
  if (!a || !b || a.shape.length < 2 || b.shape.length < 2) return undefined;
  if (![as, bs, ys].every(isF32Const) || ![azp, yzp].every(isConst) || (bzp && !isConst(bzp))) return undefined;
  if ([as, azp, ys, yzp].some((t) => numel(t!.shape) !== 1)) return undefined;
  const g = matmulGeometry(ctx, a.shape, b.shape);
  const runtimeB = !b.const;
  if (runtimeB && (numel(bs!.shape) !== 1 || (bzp && numel(bzp.shape) !== 1))) return undefined;
  if (!runtimeB && (b.shape.length !== 2 || ![1, g.N].includes(numel(bs!.shape)) || (bzp && ![1, g.N].includes(numel(bzp.shape))))) return undefined;
  const aBatched = g.batches.some((t) => t.a !== 0), bBatched = g.batches.some((t) => t.b !== 0);
  if (aBatched && g.batches.some((t, i) => t.a !== i * g.M * g.K)) return undefined;
  if (bBatched && g.batches.some((t, i) => t.b !== i * g.K * g.N)) return undefined;
  const batches = g.batches.length;
  return { M: g.M, K: g.K, N: g.N, rows: runtimeB ? g.M : batches * g.M, batches, aBatched: aBatched || (!runtimeB && batches > 1), bBatched, runtimeB };
}

export const QLinearConv = defineOp<ConvAttrs & QClamp>({
  op: 'QLinearConv', since: 10, dtypes: ['int8', 'uint8', 'int32', 'float32'],
  notes: 'per-tensor or per-output-channel weight scales and zero points; constant weights and float32 scales run on the int8 GEMM (i32x4.dot_i16x8_s), the int8 depthwise kernel or, for 3x3 stride-1 layers on simd, an int8 Winograd F(2x2, 3x3) exact in integers',
  attrs: (a) => ({ ...convAttrs(a), ...readQClamp(a) }),
  infer(ctx): TensorInfo[] {
    checkTypes(ctx, ctx.inputs, [[0, 2], [3, 5]], [1, 4, 6]);
    if (!ctx.inputs[7] || !INT8.includes(ctx.inputs[7].dtype)) ctx.fail('y_zero_point must be int8 or uint8');
    const bias = ctx.inputs[8];
    const g = convGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[3]!.shape, ctx.attrs);
    if (bias && (bias.dtype !== 'int32' || numel(bias.shape) !== g.M)) ctx.fail(`B must be int32 of length ${g.M}`);
    return [{ dtype: ctx.inputs[7]!.dtype, shape: g.outShape }];
  },
  variants: [
    ...int8ConvVariants<ConvAttrs & QClamp>({
      shape: (ctx) => { const g = convGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[3]!.shape, ctx.attrs); return { geo: g.geo, cin: g.C, cout: g.M, group: g.group }; },
      fast: (ctx) => fastQConv(ctx.inputs),
      params: (ctx) => qconvParams(ctx, convGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[3]!.shape, ctx.attrs)),
    }),
    {
      // run-time weights or parameters, float16 scales
      name: 'integer-loop',
      applies: () => true,
      scratch: () => 16,
      emit(ctx) {
        const [x, xs, xzp, w, ws, wzp, ys, yzp, bias] = ctx.inputs as (Operand | undefined)[] as Operand[];
        const g = convGeometry(ctx, x.shape, w.shape, ctx.attrs);
        if (ctx.attrs.lo > -129 || ctx.attrs.hi < 256 || ctx.attrs.act.length) ctx.fail('internal: a fused clamp on a QLinearConv with run-time parameters');
        const params: ConvParam[] = [
          convParam(ctx, xzp, g.M, 'x_zero_point', false), convParam(ctx, wzp, g.M, 'w_zero_point', true),
          convParam(ctx, xs, g.M, 'x_scale', false), convParam(ctx, ws, g.M, 'w_scale', true),
          convParam(ctx, ys, g.M, 'y_scale', false), convParam(ctx, yzp, g.M, 'y_zero_point', false),
        ];
        if (bias) params.push({ op: bias, stride: 4 });
        const y = ctx.outputs[0];
        const tmp = ctx.scratch();
        emitIntConv(ctx, `qlconv@${tmp}`, x, w, g, params, { x: 0, w: 1 }, y, (k, acc, p, yAddr) => {
          const total = bias ? k.i32.add(acc.get(), p(6)) : acc.get();
          return k.store(y.dtype, yAddr, requantize(k, total, multiplier(k, p(2), p(3), p(4), xs.dtype, tmp), p(5), y.dtype));
        });
      },
    },
  ],
});

/** Constant weights, zero points and bias, float32 scales: the int8 GEMM / depthwise path. */
function fastQConv(ins: (InputInfo | Operand | undefined)[]): boolean {
  const [x, xs, xzp, w, ws, wzp, ys, yzp, bias] = ins;
  return !!x && x.shape.length >= 3 && [xs, ws, ys].every(isF32Const) && [xzp, w, wzp, yzp].every(isConst) && (!bias || isConst(bias)) &&
    numel(xs!.shape) === 1 && numel(ys!.shape) === 1 && numel(xzp!.shape) === 1 && numel(yzp!.shape) === 1;
}

function qconvParams(ctx: EmitCtx<ConvAttrs & QClamp>, g: ConvGeometry): QConvParams {
  const [x, xs, xzp, w, ws, wzp, ys, yzp, bias] = ctx.inputs as Operand[];
  const wz = nums(wzp.const!), out = ctx.outputs[0].dtype as 'int8' | 'uint8', act = ctx.attrs.act;
  return {
    x, geo: g.geo, batch: g.N, cin: g.C, cout: g.M, group: g.group,
    w: w.const!.data as ArrayLike<number>, wSigned: w.dtype === 'int8', wZp: (m) => wz[wz.length === 1 ? 0 : m],
    xZp: nums(xzp.const!)[0],
    bias: bias ? Int32Array.from(nums(bias.const!)) : undefined,
    epilogue: { out, bias: bias ? 'row' : 'none', scale: 'row', lo: ctx.attrs.lo, hi: ctx.attrs.hi },
    mult: multipliers(nums(xs.const!)[0], nums(ws.const!), nums(ys.const!)[0], g.M),
    yZp: nums(yzp.const!)[0],
    act: act.length >= 2 ? { s1: nums(ys.const!)[0], s2: act[0], z2: act[1], alpha: act[2] } : undefined,
  };
}


interface QGemmAttrs { transA: number; transB: number; alpha: number }

/**
 * com.microsoft QGemm (onnxruntime's quantized Gemm; also what src/passes/lower-qdq.ts makes of a QDQ Gemm):
 * Y = alpha * a_scale * b_scale * (A - a_zp)(op(B) - b_zp) + C. With y_scale and y_zero_point the result is
 * requantized (C int32, in the accumulator's scale); without them it is float32 (C float32). Supported: transA = 0,
 * alpha = 1, constant B with per-tensor or per-output-column parameters. Runs on the int8 GEMM.
 */
export const QGemm = defineOp<QGemmAttrs>({
  op: 'QGemm', domain: 'com.microsoft', since: 1, dtypes: ['int8', 'uint8', 'int32', 'float32'],
  notes: 'transA = 0, alpha = 1, constant B; quantized or float32 output; runs on the int8 GEMM',
  attrs: (a) => ({ transA: a.int('transA', 0), transB: a.int('transB', 0), alpha: a.float('alpha', 1) }),
  infer(ctx): TensorInfo[] {
    const [a, as, azp, b, bs, bzp, c, ys, yzp] = ctx.inputs;
    if (ctx.attrs.transA !== 0 || ctx.attrs.alpha !== 1) ctx.fail('only transA = 0 and alpha = 1 are supported');
    if (!a || !b || a.shape.length !== 2 || b.shape.length !== 2) ctx.fail('A and B must be 2-D');
    const quantOut = !!ys;
    if (quantOut && (!yzp || !isConst(yzp))) ctx.fail('y_zero_point must be a constant when y_scale is given');
    if (!b!.const || ![as, bs, ...(quantOut ? [ys] : [])].every(isF32Const) || !isConst(azp) || (bzp && !isConst(bzp))) {
      ctx.fail('B, the scales and zero points must be constants (float32 scales)');
    }
    if (c && (!isConst(c) || c.dtype !== (quantOut ? 'int32' : 'float32'))) ctx.fail(`C must be a constant ${quantOut ? 'int32' : 'float32'} tensor`);
    const [M, K] = a!.shape;
    const [K2, N] = ctx.attrs.transB ? [b!.shape[1], b!.shape[0]] : b!.shape;
    if (K !== K2) ctx.fail(`inner dimensions differ: [${a!.shape}] x [${b!.shape}]${ctx.attrs.transB ? ' (transposed)' : ''}`);
    if (numel(as!.shape) !== 1 || numel(azp!.shape) !== 1 || (ys && numel(ys.shape) !== 1) || ![1, N].includes(numel(bs!.shape))) ctx.fail('a and y parameters must be per tensor, b per tensor or per column');
    if (c && numel(c.shape) !== N && numel(c.shape) !== 1) ctx.fail(`C must have ${N} elements`);
    return [{ dtype: quantOut ? yzp!.dtype : 'float32', shape: [M, N] }];
  },
  scratch(ctx) {
    const [M, K] = ctx.inputs[0]!.shape;
    return qmatmulScratch(M, K, 0, M, false);
  },
  emit(ctx) {
    const [a, as, azp, b, bs, bzp, c, ys, yzp] = ctx.inputs as Operand[];
    const [M, K] = a.shape;
    const N = ctx.attrs.transB ? b.shape[0] : b.shape[1];
    const bz = bzp ? nums(bzp.const!) : [0];
    const bData = b.const!.data;
    const cv = c ? nums(c.const!) : undefined;
    const out = ctx.outputs[0].dtype as 'int8' | 'uint8' | 'float32';
    const sa = nums(as.const!)[0], sb = nums(bs.const!);
    emitQMatMul(ctx, {
      a, aZp: nums(azp.const!)[0], M, K, N, batches: 1, aBatched: false,
      b: { at: ctx.attrs.transB ? (kk, n) => Number(bData[n * K + kk]) : (kk, n) => Number(bData[kk * N + n]), signed: b.dtype === 'int8', zp: (n) => bz[bz.length === 1 ? 0 : n] },
      bias: !cv ? undefined : out === 'float32' ? Float32Array.from({ length: N }, (_, n) => cv[cv.length === 1 ? 0 : n]) : Int32Array.from({ length: N }, (_, n) => cv[cv.length === 1 ? 0 : n]),
      epilogue: { out: out === 'float32' ? 'f32' : out, bias: cv ? 'col' : 'none', scale: 'col', lo: -(2 ** 31), hi: 2 ** 31 - 1 },
      mult: out === 'float32' ? Float32Array.from({ length: N }, (_, n) => Math.fround(sa * sb[sb.length === 1 ? 0 : n])) : multipliers(sa, sb, nums(ys.const!)[0], N),
      yZp: out === 'float32' ? 0 : nums(yzp.const!)[0],
    });
  },
});
