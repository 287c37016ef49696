// Integer matrix products: MatMulInteger and ConvInteger (int8/uint8 in, int32 out), plus the naive integer
// matmul / convolution kernel builders that QLinearMatMul and QLinearConv (ops/qlinear.ts) share. Products are
// exact in i32 and the accumulation wraps in 32 bits, as the spec allows.

import { broadcastShapes, broadcastStrides } from '../codegen/elementwise.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { DTYPE_SIZE, type DType } from '../src/ir/dtype.js';
import { numel, stridesOf, type Shape } from '../src/ir/graph.js';
import { convGeometry as sharedGeometry, readConvAttrs, type ConvAttrs, type ConvGeometry as SharedGeometry } from './conv-geometry.js';
import { int8ConvVariants, type IntConvOp, type QConvParams } from './conv-int8.js';
import { emitQMatMul, qmatmulScratch } from './matmul-int8.js';
import { defineOp, type EmitCtx, type InputInfo, type Operand, type TensorInfo } from './types.js';
import { INTERNAL_DOMAIN } from './internal-domain.js';

type Failer = { fail(message: string): never };
const INT8: DType[] = ['int8', 'uint8'];

// ---------------------------------------------------------------------------------------------------------------
// Matmul geometry (numpy.matmul rules) and per-row / per-column parameters (zero points, scales).

export interface MatMulGeometry {
  M: number; K: number; N: number;
  outShape: Shape;
  batchShape: Shape;
  /** Per output batch: element offsets into A and B. */
  batches: { a: number; b: number; index: number[] }[];
}

export function matmulGeometry(ctx: Failer, aShape: Shape, bShape: Shape): MatMulGeometry {
  if (!aShape.length || !bShape.length) ctx.fail('matmul inputs must have rank >= 1');
  const a = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const b = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const [M, K] = a.slice(-2);
  const [K2, N] = b.slice(-2);
  if (K !== K2) ctx.fail(`inner dimensions differ: [${aShape}] x [${bShape}]`);
  const aB = a.slice(0, -2), bB = b.slice(0, -2);
  const batchShape = broadcastShapes([aB, bB]);
  if (!batchShape) ctx.fail(`batch dimensions of [${aShape}] and [${bShape}] do not broadcast`);
  const outShape = [...batchShape!, ...(aShape.length > 1 ? [M] : []), ...(bShape.length > 1 ? [N] : [])];
  const sa = broadcastStrides(aB, batchShape!, M * K), sb = broadcastStrides(bB, batchShape!, K * N);
  const batches = batchIndices(batchShape!).map((index) => ({
    index, a: index.reduce((s, v, i) => s + v * sa[i], 0), b: index.reduce((s, v, i) => s + v * sb[i], 0),
  }));
  return { M, K, N, outShape, batchShape: batchShape!, batches };
}

function batchIndices(shape: Shape): number[][] {
  const out: number[][] = [];
  const n = numel(shape);
  const st = stridesOf(shape);
  for (let f = 0; f < n; f++) out.push(shape.map((d, i) => Math.floor(f / st[i]) % d));
  return out;
}

/** A zero point or scale read per row of A ('row'), per column of B ('col'), or as a scalar. */
export interface MatParam { op: Operand; side: 'row' | 'col'; stride: number; offsets: number[] }

export function matParam(ctx: Failer, op: Operand, side: 'row' | 'col', g: MatMulGeometry, what: string): MatParam {
  const target = [...g.batchShape, side === 'row' ? g.M : 1, side === 'row' ? 1 : g.N];
  let shape = op.shape;
  // A 1-D per-row vector of length M means [M, 1].
  if (side === 'row' && shape.length === 1 && numel(shape) !== 1) shape = [shape[0], 1];
  const b = broadcastShapes([shape, target]);
  if (!b || b.join() !== target.join()) ctx.fail(`${what} shape [${op.shape}] does not fit per-${side === 'row' ? 'row' : 'column'} layout [${target}]`);
  const size = DTYPE_SIZE[op.dtype];
  const st = broadcastStrides(shape, target, size);
  const r = target.length;
  return { op, side, stride: st[side === 'row' ? r - 2 : r - 1], offsets: g.batches.map((bt) => bt.index.reduce((s, v, i) => s + v * st[i], 0)) };
}

export interface MatMulBody {
  /** Loads parameter i at the current row (its side 'row') or column ('col'). */
  param(i: number): Expr;
  acc: Local;
  m: Local; n: Local;
}

/**
 * Emits sum_k (A[m,k] - zpA) * (B[k,n] - zpB) for every batch, as one kernel called per batch.
 * params[0]/params[1] are A's and B's zero points when given (aZp/bZp say which); store() writes the result.
 */
export function emitIntMatMul(
  ctx: EmitCtx<unknown>, name: string, a: Operand, b: Operand, g: MatMulGeometry,
  params: MatParam[], zp: { a?: number; b?: number }, out: Operand,
  store: (k: Kernel, body: MatMulBody, yAddr: Expr) => Expr,
): void {
  const { M, K, N } = g;
  if (numel(g.outShape) === 0) return;
  const sa = DTYPE_SIZE[a.dtype], sb = DTYPE_SIZE[b.dtype], sy = DTYPE_SIZE[out.dtype];
  const key = `${name}:${a.dtype}:${b.dtype}:${out.dtype}:${M}.${K}.${N}:${params.map((p) => `${p.op.dtype}.${p.side}.${p.stride}`).join(',')}:${zp.a}.${zp.b}`;
  const fn = ctx.kernel(key, ['i32', 'i32', ...params.map(() => 'i32' as const), 'i32'], (k) => {
    const [ap, bp] = k.params;
    const pp = k.params.slice(2, 2 + params.length);
    const yp = k.params[2 + params.length];
    const acc = k.local('i32');
    return [k.loop(0, M, (m) => k.loop(0, N, (n) => {
      const param = (i: number) => k.load(params[i].op.dtype,
        k.i32.add(pp[i].get(), k.i32.mul((params[i].side === 'row' ? m : n).get(), k.c32(params[i].stride))));
      const body: MatMulBody = { param, acc, m, n };
      const av = (kk: Local) => k.load(a.dtype, k.i32.add(ap.get(), k.i32.mul(k.i32.add(k.i32.mul(m.get(), k.c32(K)), kk.get()), k.c32(sa))));
      const bv = (kk: Local) => k.load(b.dtype, k.i32.add(bp.get(), k.i32.mul(k.i32.add(k.i32.mul(kk.get(), k.c32(N)), n.get()), k.c32(sb))));
      return [
        acc.set(k.c32(0)),
        k.loop(0, K, (kk) => acc.set(k.i32.add(acc.get(), k.i32.mul(
          zp.a !== undefined ? k.i32.sub(av(kk), param(zp.a)) : av(kk),
          zp.b !== undefined ? k.i32.sub(bv(kk), param(zp.b)) : bv(kk))))),
        store(k, body, k.i32.add(yp.get(), k.i32.mul(k.i32.add(k.i32.mul(m.get(), k.c32(N)), n.get()), k.c32(sy)))),
      ];
    }))];
  });
  g.batches.forEach((bt, i) => {
    ctx.call(fn, [a.ptr + bt.a * sa, b.ptr + bt.b * sb, ...params.map((p) => p.op.ptr + p.offsets[i]), out.ptr + i * M * N * sy]);
  });
}

export const MatMulInteger = defineOp({
  op: 'MatMulInteger', since: 10, dtypes: ['int8', 'uint8', 'int32'],
  notes: 'constant 2-D B runs on the int8 GEMM, with a_zero_point constant or computed at run time (DynamicQuantizeLinear)',
  infer(ctx) {
    const [a, b] = ctx.inputs;
    if (!a || !b || !INT8.includes(a.dtype) || !INT8.includes(b.dtype)) ctx.fail('A and B must be int8 or uint8');
    if (ctx.inputs[2] && ctx.inputs[2].dtype !== a!.dtype) ctx.fail('a_zero_point must have the type of A');
    if (ctx.inputs[3] && ctx.inputs[3].dtype !== b!.dtype) ctx.fail('b_zero_point must have the type of B');
    return [{ dtype: 'int32', shape: matmulGeometry(ctx, a!.shape, b!.shape).outShape }];
  },
  scratch(ctx) {
    const [a, b] = ctx.inputs;
    if (!fastMatMulInteger(ctx.inputs)) return 0;
    const g = matmulGeometry(ctx, a!.shape, b!.shape);
    return qmatmulScratch(g.M, g.K, g.N, g.batches.length * g.M, false);
  },
  emit(ctx) {
    const [a, b, azp, bzp] = ctx.inputs;
    const g = matmulGeometry(ctx, a!.shape, b!.shape);
    if (fastMatMulInteger(ctx.inputs)) {
      const bz = bzp ? Array.from(bzp.const!.data as ArrayLike<number>, Number) : [0];
      const bData = b!.const!.data as ArrayLike<number>;
      return emitQMatMul(ctx, {
        a: a!, aZp: !azp ? 0 : azp.const ? Number(azp.const.data[0]) : azp, M: g.M, K: g.K, N: g.N, batches: g.batches.length, aBatched: true,
        b: { at: (kk, n) => Number(bData[kk * g.N + n]), signed: b!.dtype === 'int8', zp: (n) => bz[bz.length === 1 ? 0 : n] },
        epilogue: { out: 'i32', bias: 'none', scale: 'col', lo: 0, hi: 0 }, yZp: 0,
      });
    }
    const params: MatParam[] = [];
    const zp: { a?: number; b?: number } = {};
    if (azp) zp.a = params.push(matParam(ctx, azp, 'row', g, 'a_zero_point')) - 1;
    if (bzp) zp.b = params.push(matParam(ctx, bzp, 'col', g, 'b_zero_point')) - 1;
    emitIntMatMul(ctx, 'matmulint', a!, b!, g, params, zp, ctx.outputs[0], (k, body, y) => k.i32.store(0, 4, y, body.acc.get()));
  },
});

/** Constant 2-D B (and zero points per tensor or per column), A of rank >= 2 with a per-tensor zero point. */
function fastMatMulInteger(ins: (Operand | InputInfo | undefined)[]): boolean {
  const [a, b, azp, bzp] = ins;
  if (!a || !b?.const || b.shape.length !== 2 || a.shape.length < 2) return false;
  if (azp && numel(azp.shape) !== 1) return false;
  return !bzp || (!!bzp.const && [1, b.shape[1]].includes(numel(bzp.shape)));
}

// ---------------------------------------------------------------------------------------------------------------
// Convolution geometry (auto_pad, pads, strides, dilations, group) and a naive integer convolution.

export type { ConvAttrs } from './conv-geometry.js';
export const convAttrs = readConvAttrs;

/** The integer kernels' view of a convolution: the float Conv's geometry (conv-geometry.ts) plus channel counts. */
export interface ConvGeometry {
  N: number; C: number; M: number; group: number;
  inSpatial: number[]; kSpatial: number[]; outSpatial: number[];
  strides: number[]; dilations: number[]; padBegin: number[];
  outShape: Shape;
  geo: SharedGeometry;
}

export function convGeometry(ctx: Failer, xShape: Shape, wShape: Shape, at: ConvAttrs): ConvGeometry {
  if (xShape.length < 3 || wShape.length !== xShape.length) ctx.fail(`x [${xShape}] and w [${wShape}] must have the same rank >= 3`);
  const [N, C] = xShape;
  const M = wShape[0];
  const group = at.group;
  if (group < 1 || C !== wShape[1] * group || M % group) ctx.fail(`channels do not match: x [${xShape}], w [${wShape}], group ${group}`);
  const geo = sharedGeometry(at, xShape.slice(2), wShape.slice(2), (m) => ctx.fail(m));
  return {
    N, C, M, group, inSpatial: geo.inSize, kSpatial: geo.kernel, outSpatial: geo.outSize, strides: geo.strides,
    dilations: geo.dilations, padBegin: geo.padBegin, outShape: [N, M, ...geo.outSize], geo,
  };
}

/** Per-output-channel (stride > 0) or scalar (stride 0) parameter of a convolution. */
export interface ConvParam { op: Operand; stride: number }

export function convParam(ctx: Failer, op: Operand, M: number, what: string, perChannel: boolean): ConvParam {
  const n = numel(op.shape);
  if (n === 1) return { op, stride: 0 };
  if (!perChannel || op.shape.length !== 1 || n !== M) ctx.fail(`${what} must be a scalar${perChannel ? ` or 1-D of length ${M}` : ''}`);
  return { op, stride: DTYPE_SIZE[op.dtype] };
}

/**
 * A naive integer convolution: acc = sum (x - xZp) * (w - wZp[oc]) over the receptive field (padding contributes 0),
 * then store(k, acc, param, yAddr) per output element. params[zp.x] / params[zp.w] are the zero points.
 */
export function emitIntConv(
  ctx: EmitCtx<unknown>, name: string, x: Operand, w: Operand, g: ConvGeometry, params: ConvParam[],
  zp: { x?: number; w?: number }, out: Operand,
  store: (k: Kernel, acc: Local, param: (i: number) => Expr, yAddr: Expr) => Expr,
): void {
  if (numel(g.outShape) === 0) return;
  const r = g.inSpatial.length;
  const inSize = numel(g.inSpatial), kSize = numel(g.kSpatial), outSize = numel(g.outSpatial);
  const cg = g.C / g.group, mg = g.M / g.group;
  const sx = DTYPE_SIZE[x.dtype], sw = DTYPE_SIZE[w.dtype], sy = DTYPE_SIZE[out.dtype];
  const inStr = stridesOf(g.inSpatial), kStr = stridesOf(g.kSpatial), outStr = stridesOf(g.outSpatial);
  const key = `${name}:${x.dtype}:${w.dtype}:${out.dtype}:${g.N}.${g.C}.${g.M}.${g.group}:${g.inSpatial}:${g.kSpatial}:${g.outSpatial}:` +
    `${g.strides}:${g.dilations}:${g.padBegin}:${params.map((p) => `${p.op.dtype}.${p.stride}`).join(',')}:${zp.x}.${zp.w}`;
  const fn = ctx.kernel(key, ['i32', 'i32', ...params.map(() => 'i32' as const), 'i32'], (k) => {
    const [xp, wp] = k.params;
    const pp = k.params.slice(2, 2 + params.length);
    const yp = k.params[2 + params.length];
    const acc = k.local('i32');
    const oc = k.local('i32');
    const od = Array.from({ length: r }, () => k.local('i32'));
    const kd = Array.from({ length: r }, () => k.local('i32'));
    const id = Array.from({ length: r }, () => k.local('i32'));
    const param = (i: number) => k.load(params[i].op.dtype, k.i32.add(pp[i].get(), k.i32.mul(oc.get(), k.c32(params[i].stride))));
    const sum = (terms: Expr[]) => terms.reduce((s, t) => k.i32.add(s, t));
    return [k.loop(0, g.N, (n) => k.for(oc, 0, g.M, 1, () => {
      // Output positions, then channels of the group and kernel taps; out-of-range taps are skipped.
      const tapLoops = (d: number, ic: Local): Expr => {
        if (d === r) {
          const xAddr = k.i32.add(xp.get(), k.i32.mul(k.i32.add(
            k.i32.mul(k.i32.add(k.i32.mul(n.get(), k.c32(g.C)), k.i32.add(k.i32.mul(k.i32.div_u(oc.get(), k.c32(mg)), k.c32(cg)), ic.get())), k.c32(inSize)),
            sum(id.map((v, i) => k.i32.mul(v.get(), k.c32(inStr[i]))))), k.c32(sx)));
          const wAddr = k.i32.add(wp.get(), k.i32.mul(k.i32.add(k.i32.mul(k.i32.add(k.i32.mul(oc.get(), k.c32(cg)), ic.get()), k.c32(kSize)),
            sum(kd.map((v, i) => k.i32.mul(v.get(), k.c32(kStr[i]))))), k.c32(sw)));
          const xv = zp.x !== undefined ? k.i32.sub(k.load(x.dtype, xAddr), param(zp.x)) : k.load(x.dtype, xAddr);
          const wv = zp.w !== undefined ? k.i32.sub(k.load(w.dtype, wAddr), param(zp.w)) : k.load(w.dtype, wAddr);
          return acc.set(k.i32.add(acc.get(), k.i32.mul(xv, wv)));
        }
        return k.for(kd[d], 0, g.kSpatial[d], 1, () => [
          id[d].set(k.i32.add(k.i32.mul(od[d].get(), k.c32(g.strides[d])), k.i32.sub(k.i32.mul(kd[d].get(), k.c32(g.dilations[d])), k.c32(g.padBegin[d])))),
          k.if(k.i32.lt_u(id[d].get(), k.c32(g.inSpatial[d])), tapLoops(d + 1, ic)),
        ]);
      };
      const outLoops = (d: number): Expr => {
        if (d === r) {
          const yAddr = k.i32.add(yp.get(), k.i32.mul(k.i32.add(k.i32.mul(k.i32.add(k.i32.mul(n.get(), k.c32(g.M)), oc.get()), k.c32(outSize)),
            sum(od.map((v, i) => k.i32.mul(v.get(), k.c32(outStr[i]))))), k.c32(sy)));
          return k.block([acc.set(k.c32(0)), k.loop(0, cg, (ic) => tapLoops(0, ic)), store(k, acc, param, yAddr)]);
        }
        return k.for(od[d], 0, g.outSpatial[d], 1, () => outLoops(d + 1));
      };
      return outLoops(0);
    }))];
  });
  ctx.call(fn, [x.ptr, w.ptr, ...params.map((p) => p.op.ptr), out.ptr]);
}

export const ConvInteger = defineOp<ConvAttrs>({
  op: 'ConvInteger', since: 10, dtypes: ['int8', 'uint8', 'int32'],
  notes: 'constant weights run on the int8 GEMM / depthwise / Winograd kernels, with x_zero_point constant or computed at run time (DynamicQuantizeLinear)',
  attrs: convAttrs,
  infer(ctx): TensorInfo[] {
    const [x, w] = ctx.inputs;
    if (!x || !w || !INT8.includes(x.dtype) || !INT8.includes(w.dtype)) ctx.fail('x and w must be int8 or uint8');
    return [{ dtype: 'int32', shape: convGeometry(ctx, x!.shape, w!.shape, ctx.attrs).outShape }];
  },
  variants: [
    ...int8ConvVariants(convIntegerOp<ConvAttrs>(() => ({ epilogue: { out: 'i32', bias: 'none', scale: 'row', lo: 0, hi: 0 } }))),
    {
      // run-time weights
      name: 'integer-loop',
      applies: () => true,
      emit(ctx) {
        const [x, w, xzp, wzp] = ctx.inputs;
        const g = convGeometry(ctx, x!.shape, w!.shape, ctx.attrs);
        const params: ConvParam[] = [];
        const zp: { x?: number; w?: number } = {};
        if (xzp) zp.x = params.push(convParam(ctx, xzp, g.M, 'x_zero_point', false)) - 1;
        if (wzp) zp.w = params.push(convParam(ctx, wzp, g.M, 'w_zero_point', true)) - 1;
        emitIntConv(ctx, 'convint', x!, w!, g, params, zp, ctx.outputs[0], (k, acc, _p, y) => k.i32.store(0, 4, y, acc.get()));
      },
    },
  ],
});

/**
 * ConvInteger's inputs (x, w, x_zero_point, w_zero_point) on the int8 kernels; `finish` gives the epilogue (and
 * what else differs between ConvInteger and ConvIntegerScaled).
 */
function convIntegerOp<A extends ConvAttrs>(finish: (ctx: EmitCtx<A>) => Pick<QConvParams, 'epilogue'> & Partial<QConvParams>): IntConvOp<A> {
  return {
    shape: (ctx) => { const g = convGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, ctx.attrs); return { geo: g.geo, cin: g.C, cout: g.M, group: g.group }; },
    fast: (ctx) => fastConvInteger(ctx.inputs, convGeometry(ctx, ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, ctx.attrs)),
    params(ctx) {
      const [x, w, xzp, wzp] = ctx.inputs;
      const g = convGeometry(ctx, x!.shape, w!.shape, ctx.attrs);
      const wz = wzp ? Array.from(wzp.const!.data as ArrayLike<number>, Number) : [0];
      return {
        x: x!, geo: g.geo, batch: g.N, cin: g.C, cout: g.M, group: g.group,
        w: w!.const!.data as ArrayLike<number>, wSigned: w!.dtype === 'int8', wZp: (m) => wz[wz.length === 1 ? 0 : m],
        xZp: !xzp ? 0 : xzp.const ? Number(xzp.const.data[0]) : xzp, yZp: 0,
        ...finish(ctx),
      };
    },
  };
}

/**
 * Constant weights (and weight zero points): the int8 GEMM. A run-time x_zero_point (DynamicQuantizeLinear's)
 * is read by the kernel; with padding that needs the 2-D im2col, which takes the padding value at run time.
 */
function fastConvInteger(ins: (Operand | InputInfo | undefined)[], g: ConvGeometry): boolean {
  const [, w, xzp, wzp] = ins;
  if (!w?.const || (wzp && !wzp.const) || (xzp && numel(xzp.shape) !== 1)) return false;
  return !xzp || !!xzp.const || g.inSpatial.length === 2;
}

interface ScaledAttrs extends ConvAttrs { relu: number }

/**
 * quantize_dynamic's ConvInteger -> Cast -> Mul(scale) -> Add(bias) [-> Relu] as one node (src/passes/
 * fuse-integer-scale.ts builds it): the int8 GEMM's float epilogue computes relu(f32(acc) * scale + bias) with the
 * same float32 operations, instead of materializing the i32 accumulators and four float passes. Inputs: x, w,
 * x_zero_point, w_zero_point as ConvInteger's, then the float32 scalar scale (usually computed at run time) and
 * an optional constant float32 bias of one value per output channel.
 */
export const ConvIntegerScaled = defineOp<ScaledAttrs>({
  op: 'ConvIntegerScaled', domain: INTERNAL_DOMAIN, since: 1, dtypes: ['int8', 'uint8', 'float32'],
  notes: 'internal (made from quantize_dynamic\'s ConvInteger -> Cast -> Mul -> Add -> Relu): the int8 GEMM with a float epilogue',
  attrs: (a) => ({ ...convAttrs(a), relu: a.int('relu', 0) }),
  infer(ctx): TensorInfo[] {
    const [x, w, , , scale, bias] = ctx.inputs;
    if (!x || !w || !INT8.includes(x.dtype) || !INT8.includes(w.dtype)) ctx.fail('x and w must be int8 or uint8');
    const g = convGeometry(ctx, x!.shape, w!.shape, ctx.attrs);
    if (!scale || scale.dtype !== 'float32' || numel(scale.shape) !== 1) ctx.fail('scale must be a float32 scalar');
    if (bias && (bias.dtype !== 'float32' || !bias.const || numel(bias.shape) !== g.M)) ctx.fail(`bias must be ${g.M} constant float32 values`);
    return [{ dtype: 'float32', shape: g.outShape }];
  },
  variants: [
    ...int8ConvVariants(convIntegerOp<ScaledAttrs>((ctx) => {
      const [, , , , scale, bias] = ctx.inputs;
      return {
        epilogue: { out: 'f32', bias: bias ? 'row' : 'none', scale: 'row', lo: 0, hi: 0, relu: ctx.attrs.relu !== 0 },
        scaleOperand: scale!, fbias: bias ? Float32Array.from(bias.const!.data as ArrayLike<number>) : undefined,
      };
    })),
    {
      name: 'unsupported',
      applies: () => true,
      emit(ctx) { ctx.fail('internal: ConvIntegerScaled is only made for constant weights (the int8 GEMM)'); },
    },
  ],
});
