// com.microsoft::QLinearGlobalAveragePool and QLinearAveragePool: the window sums are exact integer sums of
// (x - x_zero_point) (padding is a dequantized 0, i.e. the zero point), and the mean is requantized:
// y = saturate(round_half_even(f32(sum * x_scale / count) / y_scale) + y_zero_point), the float32 mean that
// DequantizeLinear -> AveragePool -> QuantizeLinear computes, correctly rounded. On simd the global pool sums a
// channel plane 16 bytes at a time (pairwise extending adds; channels last: 16 channels at a time), and the 2-D
// window pool does 16 interior columns at once for stride 1 (sums in i16 lanes); both requantize with the scalar
// path's f64 steps two lanes at a time, so both targets give the same bytes.

import { quantizeQuarters, quantizeScalar, widenBytes } from '../codegen/int8-lanes.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { numel } from '../src/ir/graph.js';
import type { OpCtx } from './move.js';
import { interiorColumns, poolGeometry, readPoolAttrs, tapRange, type PoolAttrs } from './pool.js';
import { qparam, qparamKey, type QParam } from './qparams.js';
import { defineOp, type EmitCtx, type InferCtx, type TensorInfo } from './types.js';

type Ctx<A> = OpCtx<A> | InferCtx<A>;

/** X, X_scale, X_zero_point, Y_scale, Y_zero_point. */
function params<A>(ctx: Ctx<A>): [QParam, QParam] {
  const x = ctx.inputs[0];
  if (!x) ctx.fail('needs X');
  return [qparam(ctx, 1, 2, x!.dtype, 'X'), qparam(ctx, 3, 4, x!.dtype, 'Y')];
}

/** The quantized mean of `count` values whose zero-point-corrected integer sum is `acc` (i32 expressions). */
function requantMean(k: Kernel, acc: Expr, count: Expr, px: QParam, py: QParam): Expr {
  const mean = k.f32.demote(k.f64.div(k.f64.mul(k.f64.convert_s.i32(acc), k.cf64(Math.fround(px.scale))), k.f64.convert_s.i32(count)));
  return quantizeScalar(k, k.f32.div(mean, k.cf32(py.scale)), py.zp, py.dtype);
}

/** requantMean's f32 mean for four i32 lanes (sums over count lanes, an f64x2 splat): the same f64 steps, two lanes at a time. */
function meanLanes(k: Kernel, q: Expr, xScale: number, count: Local): Expr {
  const l = k.local('v128');
  const half = (v: Expr) => k.f32x4.demote_f64x2_zero(k.f64x2.div(k.f64x2.mul(k.f64x2.convert_low_i32x4_s(v), k.f64x2.splat(k.cf64(Math.fround(xScale)))), count.get()));
  const high = () => k.i8x16.shuffle(l.get(), l.get(), [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  return k.block([l.set(q), k.i8x16.shuffle(half(l.get()), half(high()), [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23])], 'v128');
}

// --- QLinearGlobalAveragePool ---

interface GlobalAttrs { channelsLast: boolean }

function globalLayout(ctx: Ctx<GlobalAttrs>) {
  const x = ctx.inputs[0]!;
  const r = x.shape.length;
  if (r < 3) ctx.fail(`X of rank ${r} has no spatial dims`);
  const last = ctx.attrs.channelsLast;
  const C = last ? x.shape[r - 1] : x.shape[1];
  const spatial = last ? x.shape.slice(1, r - 1) : x.shape.slice(2);
  const outShape = x.shape.map((d, i) => (last ? (i === 0 || i === r - 1 ? d : 1) : (i < 2 ? d : 1)));
  return { N: x.shape[0], C, size: numel(spatial), outShape };
}

/** Sum of `n` bytes at p (i32): 16 at a time with pairwise extending adds on simd, then the tail. */
function sumBytes(k: Kernel, p: Local, n: number, signed: boolean, acc: Local): Expr[] {
  const stmts: Expr[] = [acc.set(k.c32(0))];
  const vecEnd = k.simd ? n - (n % 16) : 0;
  if (vecEnd) {
    const vacc = k.local('v128');
    const pair8 = signed ? k.i16x8.extadd_pairwise_i8x16_s : k.i16x8.extadd_pairwise_i8x16_u;
    stmts.push(
      vacc.set(k.i32x4.splat(k.c32(0))),
      k.loop(0, vecEnd, (i) => vacc.set(k.i32x4.add(vacc.get(), k.i32x4.extadd_pairwise_i16x8_s(pair8(k.v128.load(0, 1, k.i32.add(p.get(), i.get())))))), 16),
      acc.set([0, 1, 2, 3].map((l) => k.i32x4.extract_lane(vacc.get(), l)).reduce((a, b) => k.i32.add(a, b))),
    );
  }
  if (vecEnd < n) {
    stmts.push(k.loop(vecEnd, n, (i) => acc.set(k.i32.add(acc.get(), signed ? k.i32.load8_s(0, 1, k.i32.add(p.get(), i.get())) : k.i32.load8_u(0, 1, k.i32.add(p.get(), i.get()))))));
  }
  return stmts;
}

export const QLinearGlobalAveragePool = defineOp<GlobalAttrs>({
  op: 'QLinearGlobalAveragePool', domain: 'com.microsoft', since: 1, dtypes: ['int8', 'uint8'],
  notes: 'channels_last 0 and 1; per-tensor constant scales and zero points; exact integer sums, the mean requantized; simd: 16 bytes per step',
  attrs: (a) => ({ channelsLast: a.int('channels_last', 0) !== 0 }),
  constInputs: [1, 2, 3, 4],
  infer(ctx): TensorInfo[] {
    params(ctx);
    return [{ dtype: ctx.inputs[0]!.dtype, shape: globalLayout(ctx).outShape }];
  },
  emit(ctx) {
    const [px, py] = params(ctx);
    const { N, C, size } = globalLayout(ctx);
    if (!N || !C) return;
    const last = ctx.attrs.channelsLast;
    const signed = px.dtype === 'int8';
    const fn = ctx.kernel(`qgap:${N}:${C}:${size}:${last}:${qparamKey(px)}:${qparamKey(py)}`, ['i32', 'i32'], (k) => {
      const [x, y] = k.params;
      const acc = k.local('i32');
      // an empty plane averages to a dequantized 0 over a count of 1 (no division by zero)
      const store = (at: Expr) => k.store(py.dtype, at, requantMean(k, k.i32.sub(acc.get(), k.c32(size * px.zp)), k.c32(Math.max(size, 1)), px, py));
      if (!last) {
        return k.loop(0, N * C, (plane) => [
          ...sumBytes(k, x, size, signed, acc),
          store(k.i32.add(y.get(), plane.get())),
          x.set(k.i32.add(x.get(), k.c32(size))),
        ]);
      }
      // channels last: per image and channel, a strided sum over the spatial positions; on simd 16 channels at
      // once in four i32x4 sums, requantized with the scalar path's f64 steps
      const p = k.local('i32');
      const c16 = k.simd ? C - (C % 16) : 0;
      const sixteen = (n: Local, c: Local): Expr[] => {
        const vsum = [0, 1, 2, 3].map(() => k.local('v128'));
        const cnt = k.local('v128');
        return [
          ...vsum.map((v) => v.set(k.i32x4.splat(k.c32(0)))),
          p.set(k.i32.add(x.get(), k.i32.add(k.i32.mul(n.get(), k.c32(size * C)), c.get()))),
          k.loop(0, size, () => {
            const q = widenBytes(k, k.v128.load(0, 1, p.get()), px.dtype);
            return [...vsum.map((v, i) => v.set(k.i32x4.add(v.get(), q[i]))), p.set(k.i32.add(p.get(), k.c32(C)))];
          }),
          cnt.set(k.f64x2.splat(k.cf64(Math.max(size, 1)))),
          k.v128.store(0, 1, k.i32.add(y.get(), k.i32.add(k.i32.mul(n.get(), k.c32(C)), c.get())), quantizeQuarters(k,
            vsum.map((v) => k.f32x4.div(meanLanes(k, k.i32x4.sub(v.get(), k.i32x4.splat(k.c32(size * px.zp))), px.scale, cnt), k.f32x4.splat(k.cf32(py.scale)))), py.zp, py.dtype, true)),
        ];
      };
      return k.loop(0, N, (n) => [
        k.loop(0, c16, (c) => sixteen(n, c), 16),
        k.loop(c16, C, (c) => [
          acc.set(k.c32(0)),
          p.set(k.i32.add(x.get(), k.i32.add(k.i32.mul(n.get(), k.c32(size * C)), c.get()))),
          k.loop(0, size, () => [
            acc.set(k.i32.add(acc.get(), k.load(px.dtype, p.get()))),
            p.set(k.i32.add(p.get(), k.c32(C))),
          ]),
          store(k.i32.add(y.get(), k.i32.add(k.i32.mul(n.get(), k.c32(C)), c.get()))),
        ]),
      ]);
    });
    ctx.call(fn, [ctx.inputs[0]!.ptr, ctx.outputs[0].ptr]);
  },
});

// --- QLinearAveragePool ---

type AvgAttrs = PoolAttrs & { channelsLast: boolean };

export const QLinearAveragePool = defineOp<AvgAttrs>({
  op: 'QLinearAveragePool', domain: 'com.microsoft', since: 1, dtypes: ['int8', 'uint8'],
  notes: 'NCHW (channels_last 0), 1-D/2-D/3-D windows with kernel_shape, strides, pads, auto_pad, count_include_pad, ceil_mode; per-tensor constant scales and zero points; simd: 16 columns at once for stride 1',
  attrs: (a) => ({ ...readPoolAttrs(a), channelsLast: a.int('channels_last', 0) !== 0 }),
  constInputs: [1, 2, 3, 4],
  infer(ctx): TensorInfo[] {
    params(ctx);
    if (ctx.attrs.channelsLast) ctx.fail('channels_last=1 is not supported (only NCHW)');
    if (ctx.attrs.dilations) ctx.fail('dilations is not an attribute of QLinearAveragePool');
    const x = ctx.inputs[0]!;
    const g = poolGeometry(ctx, ctx.attrs, x.shape);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...g.outDims] }];
  },
  emit(ctx) {
    const [px, py] = params(ctx);
    const x = ctx.inputs[0]!, y = ctx.outputs[0];
    if (!numel(y.shape)) return;
    const g = poolGeometry(ctx, ctx.attrs, x.shape);
    const at = ctx.attrs;
    const key = `qavgpool:${JSON.stringify(g)}:${at.countIncludePad}:${qparamKey(px)}:${qparamKey(py)}`;
    const fn = ctx.kernel(key, ['i32', 'i32'], (k) => emitWindowAverage(k, g, at.countIncludePad, px, py));
    ctx.call(fn, [x.ptr, y.ptr]);
  },
});

/** The window loop: per plane and output position, the in-range taps summed, the mean requantized. */
function emitWindowAverage(k: Kernel, g: ReturnType<typeof poolGeometry>, countPad: boolean, px: QParam, py: QParam): Expr {
  const [x, y] = k.params;
  const D = g.inDims.length;
  const inStrides = g.inDims.map((_, i) => numel(g.inDims.slice(i + 1)));
  const planeIn = numel(g.inDims);
  const xPlane = k.local('i32');
  const o = g.outDims.map(() => k.local('i32'));
  const lo = o.map(() => k.local('i32')), hi = o.map(() => k.local('i32')), cnt = o.map(() => k.local('i32'));
  const tap = o.map(() => k.local('i32'));
  const acc = k.local('i32'), pos = k.local('i32'), countSafe = k.local('i32');
  /** y = the requantized mean of acc over `valid` taps inside the input and `count` counted; y advances. */
  const store = (valid: Expr, count: Expr): Expr[] => [
    // a window with no tap inside (possible with ceil_mode) averages to a dequantized 0
    countSafe.set(count),
    countSafe.set(k.select(countSafe.get(), countSafe.get(), k.c32(1))),
    k.store(py.dtype, y.get(), requantMean(k, k.i32.sub(acc.get(), k.i32.mul(valid, k.c32(px.zp))), countSafe.get(), px, py)),
    y.set(k.i32.add(y.get(), k.c32(1))),
  ];
  const one = (): Expr[] => {
    // element offset of the tap: sum over dims of (o_i * s_i - pb_i + t_i) * stride_i
    const posOf = () => g.inDims.map((_, i) =>
      k.i32.mul(k.i32.add(k.i32.sub(k.i32.mul(o[i].get(), k.c32(g.strides[i])), k.c32(g.padBegin[i])), k.i32.mul(tap[i].get(), k.c32(g.dilations[i]))), k.c32(inStrides[i])))
      .reduce((a, b) => k.i32.add(a, b));
    const taps = (i: number): Expr => (i === D
      ? k.block([pos.set(posOf()), acc.set(k.i32.add(acc.get(), k.load(px.dtype, k.i32.add(xPlane.get(), pos.get()))))])
      : k.dynFor(tap[i], lo[i].get(), hi[i].get(), 1, () => [taps(i + 1)]));
    const valid = lo.map((l, i) => k.i32.sub(hi[i].get(), l.get())).reduce((a, b) => k.i32.mul(a, b));
    const count = cnt.map((c) => c.get()).reduce((a, b) => k.i32.mul(a, b));
    return [acc.set(k.c32(0)), taps(0), ...store(valid, count)];
  };
  // 2-D: the columns whose windows lie inside the row take static tap offsets and no column range
  const [oxLo, oxHi] = D === 2 ? interiorColumns(g) : [0, 0];
  const interior = (): Expr => {
    const rowPtr = k.local('i32');
    const [W, KW, sx, dx] = [g.inDims[1], g.kernel[1], g.strides[1], g.dilations[1]];
    const rowOf = (ky: Local) => k.i32.add(xPlane.get(), k.i32.add(
      k.i32.mul(k.i32.add(k.i32.sub(k.i32.mul(o[0].get(), k.c32(g.strides[0])), k.c32(g.padBegin[0])), k.i32.mul(ky.get(), k.c32(g.dilations[0]))), k.c32(W)),
      k.i32.sub(k.i32.mul(o[1].get(), k.c32(sx)), k.c32(g.padBegin[1]))));
    const valid = () => k.i32.mul(k.i32.sub(hi[0].get(), lo[0].get()), k.c32(KW));
    const count = () => k.i32.mul(cnt[0].get(), k.c32(KW));
    // simd: 16 columns at a time (stride 1), the sums in i16 lanes (at most 255 taps cannot overflow them)
    const n16 = k.simd && sx === 1 && g.kernel[0] * KW <= 255 ? oxLo + Math.floor((oxHi - oxLo) / 16) * 16 : oxLo;
    const vector = (): Expr[] => {
      const signed = px.dtype === 'int8';
      const [sumLo, sumHi, v] = [k.local('v128'), k.local('v128'), k.local('v128')];
      const widen16 = signed ? [k.i16x8.extend_low_i8x16_s, k.i16x8.extend_high_i8x16_s] : [k.i16x8.extend_low_i8x16_u, k.i16x8.extend_high_i8x16_u];
      const widen32 = signed ? [k.i32x4.extend_low_i16x8_s, k.i32x4.extend_high_i16x8_s] : [k.i32x4.extend_low_i16x8_u, k.i32x4.extend_high_i16x8_u];
      const corr = k.local('v128'), cntv = k.local('v128');
      const quarters = [sumLo, sumLo, sumHi, sumHi].map((h, i) => k.i32x4.sub(widen32[i % 2](h.get()), corr.get()));
      return [
        sumLo.set(k.i16x8.splat(k.c32(0))), sumHi.set(k.i16x8.splat(k.c32(0))),
        k.dynFor(tap[0], lo[0].get(), hi[0].get(), 1, () => [
          rowPtr.set(rowOf(tap[0])),
          ...Array.from({ length: KW }, (_, kx) => [
            v.set(k.v128.load(kx * dx, 1, rowPtr.get())),
            sumLo.set(k.i16x8.add(sumLo.get(), widen16[0](v.get()))),
            sumHi.set(k.i16x8.add(sumHi.get(), widen16[1](v.get()))),
          ]).flat(),
        ]),
        corr.set(k.i32x4.splat(k.i32.mul(valid(), k.c32(px.zp)))),
        countSafe.set(count()),
        cntv.set(k.f64x2.splat(k.f64.convert_s.i32(k.select(countSafe.get(), countSafe.get(), k.c32(1))))),
        k.v128.store(0, 1, y.get(), quantizeQuarters(k, quarters.map((q) => k.f32x4.div(meanLanes(k, q, px.scale, cntv), k.f32x4.splat(k.cf32(py.scale)))), py.zp, py.dtype, true)),
        y.set(k.i32.add(y.get(), k.c32(16))),
      ];
    };
    return k.block([
      k.for(o[1], oxLo, n16, 16, vector),
      k.for(o[1], n16, oxHi, 1, () => [
        acc.set(k.c32(0)),
        k.dynFor(tap[0], lo[0].get(), hi[0].get(), 1, () => [
          rowPtr.set(rowOf(tap[0])),
          ...Array.from({ length: KW }, (_, kx) => acc.set(k.i32.add(acc.get(), k.load(px.dtype, rowPtr.get(), kx * dx)))),
        ]),
        ...store(valid(), count()),
      ]),
    ]);
  };
  const outLoops = (i: number): Expr => {
    if (i === D) return k.block(one());
    const inner = () => [...tapRange(k, g, i, o[i], countPad, lo[i], hi[i], cnt[i]), outLoops(i + 1)];
    if (D === 2 && i === 1) return k.block([k.for(o[1], 0, oxLo, 1, inner), interior(), k.for(o[1], oxHi, g.outDims[1], 1, inner)]);
    return k.for(o[i], 0, g.outDims[i], 1, inner);
  };
  return k.loop(0, g.planes, (p) => [
    xPlane.set(k.i32.add(x.get(), k.i32.mul(p.get(), k.c32(planeIn)))),
    outLoops(0),
  ]);
}
