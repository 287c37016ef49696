// Linear quantization: QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked scales; int8/uint8/
// int16/uint16/int32) and DynamicQuantizeLinear. Naive loops: one pass over x with the scale index computed per
// element from the quantization layout.

import { computeType, type Expr, type Kernel, type Local, type WType } from '../codegen/wasm.js';
import { roundToLanes, zpOffset } from '../codegen/qgemm.js';
import { DTYPE_SIZE, ONNX_DTYPE, type DType } from '../src/ir/dtype.js';
import { numel, type Shape } from '../src/ir/graph.js';
import { defineOp, type EmitCtx, type Operand } from './types.js';
import { emitDequantizeFast, emitQuantizeFast } from './quantize-fast.js';

type Failer = { fail(message: string): never };

/** Saturation range of each quantized type. */
export const QUANT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647],
};

/** How a scale/zero-point tensor maps onto x viewed as [outer, dim, inner]: element strides and block size. */
export interface QuantLayout {
  outer: number; dim: number; inner: number;
  block: number;
  /** Scale element strides for the outer index, the (blocked) axis index and the inner index. */
  strides: [number, number, number];
}

export function quantLayout(ctx: Failer, xShape: Shape, sShape: Shape, axisAttr: number, blockSize: number): QuantLayout {
  const r = xShape.length;
  const blocked = blockSize > 0 && sShape.length === r && r > 0;
  if (numel(sShape) === 1 && !blocked) return { outer: 1, dim: numel(xShape), inner: 1, block: 1, strides: [0, 0, 0] };
  const axis = axisAttr < 0 ? axisAttr + r : axisAttr;
  if (axis < 0 || axis >= r) ctx.fail(`axis ${axisAttr} is out of range for rank ${r}`);
  const outer = numel(xShape.slice(0, axis));
  const dim = xShape[axis];
  const inner = numel(xShape.slice(axis + 1));
  if (blockSize <= 0) {
    if (sShape.length !== 1 || sShape[0] !== dim) ctx.fail(`scale shape [${sShape}] must be a scalar or 1-D of length ${dim} (axis ${axis})`);
    return { outer, dim, inner, block: 1, strides: [0, 1, 0] };
  }
  const blocks = Math.ceil(dim / blockSize);
  const ok = sShape.length === r && sShape.every((d, i) => (i === axis ? d === blocks : d === xShape[i]));
  if (!ok) ctx.fail(`blocked scale shape [${sShape}] does not match x [${xShape}] with axis ${axis}, block_size ${blockSize}`);
  return { outer, dim, inner, block: blockSize, strides: [blocks * inner, inner, 1] };
}

const layoutKey = (l: QuantLayout) => `${l.outer}.${l.dim}.${l.inner}.${l.block}.${l.strides.join('.')}`;

/**
 * Loops over x as [outer, dim, inner]; body gets the flat element index and the scale element index (i32).
 */
function quantLoop(k: Kernel, l: QuantLayout, body: (e: Local, s: Local) => Expr[]): Expr {
  const e = k.local('i32');
  const s = k.local('i32');
  const [so, sa, si] = l.strides;
  return k.block([
    e.set(k.c32(0)),
    k.loop(0, l.outer, (o) => k.loop(0, l.dim, (a) => k.loop(0, l.inner, (j) => [
      s.set(k.i32.add(k.i32.add(k.i32.mul(o.get(), k.c32(so)), k.i32.mul(k.i32.div_u(a.get(), k.c32(l.block)), k.c32(sa))), k.i32.mul(j.get(), k.c32(si)))),
      ...body(e, s),
      e.set(k.i32.add(e.get(), k.c32(1))),
    ]))),
  ]);
}

const at = (k: Kernel, base: Local, index: Local, dt: DType) => k.i32.add(base.get(), k.i32.mul(index.get(), k.c32(DTYPE_SIZE[dt])));

/** Converts a loaded value (computeType(dt)) to f32 or f64. */
export function toFloat(k: Kernel, v: Expr, dt: DType, t: 'f32' | 'f64'): Expr {
  const ct = computeType(dt);
  if (ct === t) return v;
  if (t === 'f64') return ct === 'f32' ? k.f64.promote(v) : ct === 'i64' ? k.f64.convert_s.i64(v) : dt === 'uint32' ? k.f64.convert_u.i32(v) : k.f64.convert_s.i32(v);
  return ct === 'f64' ? k.f32.demote(v) : ct === 'i64' ? k.f32.convert_s.i64(v) : dt === 'uint32' ? k.f32.convert_u.i32(v) : k.f32.convert_s.i32(v);
}

/** round-half-even(v) + zp, saturated to the range of qdt, as an i32 compute value. */
export function saturateRound(k: Kernel, v: Expr, zp: Expr | undefined, qdt: DType, t: 'f32' | 'f64'): Expr {
  const [lo, hi] = QUANT_RANGE[qdt]!;
  const ns = t === 'f32' ? k.f32 : k.f64;
  const c = (x: number) => (t === 'f32' ? k.cf32(x) : k.cf64(x));
  let r = ns.nearest(v);
  if (zp !== undefined) r = ns.add(r, t === 'f32' ? k.f32.convert_s.i32(zp) : k.f64.convert_s.i32(zp));
  const clamped = ns.min(ns.max(r, c(lo)), c(hi));
  return t === 'f32' ? k.i32.trunc_s_sat.f32(clamped) : k.i32.trunc_s_sat.f64(clamped);
}

/** Rounds an f32 value to a 16-bit float type's precision by a round trip through memory at addr. */
export function roundTo(k: Kernel, v: Expr, dt: DType, addr: number): Expr {
  if (dt !== 'float16' && dt !== 'bfloat16') return v;
  return k.block([k.store(dt, k.c32(addr), v), k.load(dt, k.c32(addr))], 'f32');
}

interface QAttrs { axis: number; blockSize: number; outputDtype: number; precision: number }
const qAttrs = (a: { int(n: string, d?: number): number }): QAttrs =>
  ({ axis: a.int('axis', 1), blockSize: a.int('block_size', 0), outputDtype: a.int('output_dtype', 0), precision: a.int('precision', 0) });

function dtypeAttr(ctx: Failer, code: number, what: string): DType | undefined {
  if (!code) return undefined;
  const dt = ONNX_DTYPE[code];
  if (!dt) ctx.fail(`${what} ${code} is not a supported type`);
  return dt;
}

/** numpy's result type of x / scale for the types QuantizeLinear allows. */
function divisionType(x: DType, s: DType): DType {
  if (x === s) return x === 'int32' ? 'float64' : x;
  if (x === 'int32' || s === 'int32') return 'float64';
  return 'float32';
}

/** One kernel over x (layout l) with x, scale, optional zero point and y pointers; body writes element e. */
function emitQuantKernel(
  ctx: EmitCtx<QAttrs>, key: string, l: QuantLayout,
  body: (k: Kernel, p: { x: Local; s: Local; zp?: Local; y: Local }, e: Local, si: Local) => Expr[],
): void {
  const [x, s, zp] = ctx.inputs as Operand[];
  const y = ctx.outputs[0];
  const params: WType[] = zp ? ['i32', 'i32', 'i32', 'i32'] : ['i32', 'i32', 'i32'];
  const fn = ctx.kernel(`${key}:${zp?.dtype ?? '-'}:${layoutKey(l)}`, params, (k) => {
    const [xp, sp] = k.params;
    const p = { x: xp, s: sp, zp: zp ? k.params[2] : undefined, y: k.params[params.length - 1] };
    return [quantLoop(k, l, (e, si) => body(k, p, e, si))];
  });
  ctx.call(fn, zp ? [x.ptr, s.ptr, zp.ptr, y.ptr] : [x.ptr, s.ptr, y.ptr]);
}

export const QuantizeLinear = defineOp<QAttrs>({
  op: 'QuantizeLinear', since: 10, dtypes: ['float32', 'float16', 'bfloat16', 'int32', 'int8', 'uint8', 'int16', 'uint16'],
  notes: 'per-tensor, per-axis and blocked; int8/uint8/int16/uint16 outputs (float8/4-bit types unsupported)',
  attrs: qAttrs,
  infer(ctx) {
    if (!ctx.inputs[0] || !ctx.inputs[1]) ctx.fail('needs x and y_scale');
    const [x, s, zp] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]];
    const out = zp?.dtype ?? dtypeAttr(ctx, ctx.attrs.outputDtype, 'output_dtype') ?? 'uint8';
    if (!QUANT_RANGE[out] || out === 'int32') ctx.fail(`quantizing to ${out} is not supported`);
    if (zp && ctx.attrs.outputDtype && dtypeAttr(ctx, ctx.attrs.outputDtype, 'output_dtype') !== zp.dtype) ctx.fail('output_dtype disagrees with y_zero_point');
    if (zp && zp.shape.join() !== s.shape.join() && numel(zp.shape) !== numel(s.shape)) ctx.fail('y_zero_point and y_scale shapes differ');
    quantLayout(ctx, x.shape, s.shape, ctx.attrs.axis, ctx.attrs.blockSize);
    return [{ dtype: out, shape: x.shape }];
  },
  scratch: () => 16,
  emit(ctx) {
    const [x, s, zp] = ctx.inputs as Operand[];
    const y = ctx.outputs[0];
    if (numel(x.shape) === 0) return;
    const l = quantLayout(ctx, x.shape, s.shape, ctx.attrs.axis, ctx.attrs.blockSize);
    const divDt = dtypeAttr(ctx, ctx.attrs.precision, 'precision') ?? divisionType(x.dtype, s.dtype);
    if (!ctx.attrs.blockSize && emitQuantizeFast(ctx, divDt)) return;
    const t: 'f32' | 'f64' = divDt === 'float64' ? 'f64' : 'f32';
    const tmp = ctx.scratch();
    emitQuantKernel(ctx, `qlin:${x.dtype}:${s.dtype}:${y.dtype}:${divDt}:${tmp}`, l, (k, p, e, si) => {
      const xv = roundTo(k, toFloat(k, k.load(x.dtype, at(k, p.x, e, x.dtype)), x.dtype, t), divDt, tmp);
      const sv = roundTo(k, toFloat(k, k.load(s.dtype, at(k, p.s, si, s.dtype)), s.dtype, t), divDt, tmp);
      const q = roundTo(k, t === 'f32' ? k.f32.div(xv, sv) : k.f64.div(xv, sv), divDt, tmp);
      const z = p.zp && k.load(zp!.dtype, at(k, p.zp, si, zp!.dtype));
      return [k.store(y.dtype, at(k, p.y, e, y.dtype), saturateRound(k, q, z, y.dtype, t))];
    });
  },
});

export const DequantizeLinear = defineOp<QAttrs>({
  op: 'DequantizeLinear', since: 10, dtypes: ['int8', 'uint8', 'int16', 'uint16', 'int32', 'float32', 'float16', 'bfloat16'],
  notes: 'per-tensor, per-axis and blocked; float8/4-bit inputs unsupported',
  attrs: qAttrs,
  infer(ctx) {
    if (!ctx.inputs[0] || !ctx.inputs[1]) ctx.fail('needs x and x_scale');
    const [x, s, zp] = [ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2]];
    if (!QUANT_RANGE[x.dtype]) ctx.fail(`dequantizing ${x.dtype} is not supported`);
    if (zp && zp.dtype !== x.dtype) ctx.fail('x_zero_point must have the type of x');
    const out = dtypeAttr(ctx, ctx.attrs.outputDtype, 'output_dtype') ?? s.dtype;
    if (out !== 'float32' && out !== 'float16' && out !== 'bfloat16') ctx.fail(`output type ${out} is not allowed`);
    quantLayout(ctx, x.shape, s.shape, ctx.attrs.axis, ctx.attrs.blockSize);
    return [{ dtype: out, shape: x.shape }];
  },
  emit(ctx) {
    const [x, s, zp] = ctx.inputs as Operand[];
    const y = ctx.outputs[0];
    if (numel(x.shape) === 0) return;
    const l = quantLayout(ctx, x.shape, s.shape, ctx.attrs.axis, ctx.attrs.blockSize);
    if (!ctx.attrs.blockSize && emitDequantizeFast(ctx)) return;
    // int32 differences may exceed f32's exact range: subtract in f64.
    const wide = x.dtype === 'int32';
    emitQuantKernel(ctx, `dqlin:${x.dtype}:${s.dtype}:${y.dtype}`, l, (k, p, e, si) => {
      const xv = k.load(x.dtype, at(k, p.x, e, x.dtype));
      const z = p.zp && k.load(zp!.dtype, at(k, p.zp, si, zp!.dtype));
      const diff = wide
        ? k.f32.demote(z ? k.f64.sub(k.f64.convert_s.i32(xv), k.f64.convert_s.i32(z)) : k.f64.convert_s.i32(xv))
        : k.f32.convert_s.i32(z ? k.i32.sub(xv, z) : xv);
      const sv = toFloat(k, k.load(s.dtype, at(k, p.s, si, s.dtype)), s.dtype, 'f32');
      return [k.store(y.dtype, at(k, p.y, e, y.dtype), k.f32.mul(diff, sv))];
    });
  },
});

export const DynamicQuantizeLinear = defineOp({
  op: 'DynamicQuantizeLinear', since: 11, dtypes: ['float32', 'uint8'],
  infer(ctx) {
    const x = ctx.inputs[0];
    if (x?.dtype !== 'float32') ctx.fail('x must be float32');
    return [{ dtype: 'uint8', shape: x!.shape }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }];
  },
  emit(ctx) {
    const x = ctx.inputs[0]!;
    const [y, ys, yzp] = ctx.outputs;
    const n = numel(x.shape);
    const fn = ctx.kernel(`dynq:${n}`, ['i32', 'i32', 'i32', 'i32'], (k) => {
      const [xp, yp, sp, zpp] = k.params;
      const lo = k.local('f32'), hi = k.local('f32'), scale = k.local('f32'), zp = k.local('i32');
      const xi = (i: Expr) => k.f32.load(0, 4, k.i32.add(xp.get(), k.i32.shl(i, k.c32(2))));
      // SIMD: min/max 4 lanes a step with pmin / pmax and a NaN flag (any NaN makes lo and hi NaN, as f32.min / max
      // do; the sign of a zero bound changes neither scale nor zero point), and 16 values a step quantized with
      // the exact magic-number rounding while the scale is finite and non-zero. Scalar loops finish the tail and
      // take the degenerate cases (scale 0, infinities).
      const v4 = k.simd ? n - (n % 4) : 0, v16 = k.simd ? n - (n % 16) : 0;
      const [loV, hiV, nanV, scaleV, zpV] = k.simd ? [0, 1, 2, 3, 4].map(() => k.local('v128')) : [];
      const lane = (v: Local, op: 'min' | 'max') => [1, 2, 3].reduce<Expr>((acc, l) => k.f32[op](acc, k.f32x4.extract_lane(v.get(), l)), k.f32x4.extract_lane(v.get(), 0));
      const xv = k.simd ? k.local('v128') : undefined;
      const minMax: Expr[] = v4 ? [
        loV.set(k.f32x4.splat(k.cf32(0))), hiV.set(k.f32x4.splat(k.cf32(0))), nanV.set(k.i32x4.splat(k.c32(0))),
        k.loop(0, v4, (i) => [
          xv!.set(k.v128.load(0, 4, k.i32.add(xp.get(), k.i32.shl(i.get(), k.c32(2))))),
          loV.set(k.f32x4.pmin(loV.get(), xv!.get())),
          hiV.set(k.f32x4.pmax(hiV.get(), xv!.get())),
          nanV.set(k.v128.or(nanV.get(), k.f32x4.ne(xv!.get(), xv!.get()))),
        ], 4),
        k.if(k.v128.any_true(nanV.get()), [lo.set(k.cf32(NaN)), hi.set(k.cf32(NaN))], [lo.set(lane(loV, 'min')), hi.set(lane(hiV, 'max'))]),
      ] : [];
      const q4 = (i: Local, off: number) => roundToLanes(k, k.f32x4.div(k.v128.load(off * 16, 4, k.i32.add(xp.get(), k.i32.shl(i.get(), k.c32(2)))), scaleV.get()), zpV.get());
      const scalarQuant = (from: number, to: number) => k.loop(from, to, (i) => k.i32.store8(0, 1, k.i32.add(yp.get(), i.get()),
        k.select(k.f32.eq(scale.get(), k.cf32(0)), k.c32(0), saturateRound(k, k.f32.div(xi(i.get()), scale.get()), zp.get(), 'uint8', 'f32'))));
      const quantize16: Expr[] = v16 ? [
        scaleV.set(k.f32x4.splat(scale.get())), zpV.set(zpOffset(k, zp.get())),
        k.if(k.i32.and(k.f32.ne(scale.get(), k.cf32(0)), k.f32.eq(k.f32.sub(scale.get(), scale.get()), k.cf32(0))),
          k.loop(0, v16, (i) => k.v128.store(0, 1, k.i32.add(yp.get(), i.get()),
            k.i8x16.narrow_i16x8_u(k.i16x8.narrow_i32x4_s(q4(i, 0), q4(i, 1)), k.i16x8.narrow_i32x4_s(q4(i, 2), q4(i, 3)))), 16),
          scalarQuant(0, v16)),
      ] : [];
      return [
        lo.set(k.cf32(0)), hi.set(k.cf32(0)),
        ...minMax,
        k.loop(v4, n, (i) => [lo.set(k.f32.min(lo.get(), xi(i.get()))), hi.set(k.f32.max(hi.get(), xi(i.get())))]),
        scale.set(k.f32.div(k.f32.sub(hi.get(), lo.get()), k.cf32(255))),
        // All-zero input: scale 0, zero point 0 (no division by zero).
        zp.set(k.select(k.f32.eq(scale.get(), k.cf32(0)), k.c32(0),
          k.i32.trunc_s_sat.f32(k.f32.nearest(k.f32.min(k.f32.max(k.f32.sub(k.cf32(0), k.f32.div(lo.get(), scale.get())), k.cf32(0)), k.cf32(255)))))),
        k.f32.store(0, 4, sp.get(), scale.get()),
        k.i32.store8(0, 1, zpp.get(), zp.get()),
        ...quantize16,
        scalarQuant(v16, n),
      ];
    });
    ctx.call(fn, [x.ptr, y.ptr, ys.ptr, yzp.ptr]);
  },
});
