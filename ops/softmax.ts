// Softmax, LogSoftmax, Hardmax. From opset 13 they work along one axis (default -1); before, the input is
// coerced to 2-D at `axis` (default 1) and the op runs along the flattened second dim.
// Rows along the axis are independent: max, then sum of exp(x - max), then the outputs. For float32 on the simd
// target every pass runs 4 lanes at a time along a contiguous row (16 in four chains for the max, 8 in two for the
// exp), or across 4 adjacent rows when the axis is not the innermost dim; exp(x - max) <= 1 takes Softmax's own
// exp (codegen/exp-below-max.ts), cheaper than the math library's.

import { simdExpBelowMax } from '../codegen/exp-below-max.js';
import { computeType, type Expr, type Kernel, type Local } from '../codegen/wasm.js';
import { DTYPE_SIZE, FLOATS, type DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import { add, extremeValue, foldLanes, mathFn, mathFnF32x4, maxOf, normalizeAxis, splitAt, sub } from './reduce-kernel.js';
import { defineOp, type EmitCtx, type OpDef } from './types.js';

type Kind = 'softmax' | 'logsoftmax' | 'hardmax';

/** [rows before the axis, axis length, elements after] under the opset's axis rule. */
function layout(ctx: { opset: number; fail(m: string): never; attrs: { axis: number } }, shape: number[]): [number, number, number] {
  const axis = normalizeAxis(ctx as never, ctx.attrs.axis, shape.length);
  if (ctx.opset >= 13) return splitAt(shape, axis);
  const outer = numel(shape.slice(0, axis));
  return [outer, numel(shape.slice(axis)), 1];
}

function softmaxOp(op: string, kind: Kind, since: number, until?: number): OpDef<{ axis: number }> {
  return defineOp({
    op, since, until, dtypes: FLOATS, inPlace: true,
    attrs: (a) => ({ axis: a.int('axis', since >= 13 ? -1 : 1) }),
    infer(ctx) {
      const x = ctx.inputs[0]!;
      if (!FLOATS.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported (float types only)`);
      layout(ctx, x.shape);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    emit(ctx) {
      const x = ctx.inputs[0]!;
      const [outer, n, inner] = layout(ctx, x.shape);
      if (!outer || !n || !inner) return;
      ctx.call(softmaxKernel(ctx, kind, x.dtype, outer, n, inner), [x.ptr, ctx.outputs[0].ptr]);
    },
  });
}

export function softmaxKernel(ctx: EmitCtx<unknown>, kind: Kind, dt: DType, outer: number, n: number, inner: number): string {
  const vecRows = ctx.target === 'simd' && dt === 'float32' && inner >= 4 && inner % 4 === 0;
  const vecAlong = ctx.target === 'simd' && dt === 'float32' && inner === 1 && n >= 8;
  const key = `${kind}:${dt}:${outer}x${n}x${inner}:${vecRows}:${vecAlong}`;
  return ctx.kernel(key, ['i32', 'i32'], (k) => {
    const [x, y] = k.params;
    const esz = DTYPE_SIZE[dt];
    if (vecRows) return vectorRows(k, kind, x, y, outer, n, inner);
    const row = (xp: Local, yp: Local) => (vecAlong ? vectorRow(k, kind, xp, yp, n) : scalarRow(k, kind, dt, xp, yp, n, inner * esz));
    const xr = k.local('i32'), yr = k.local('i32');
    return k.loop(0, outer * inner, (i) => [
      // row start for flat (o, j): o*n*inner + j with i = o*inner + j
      xr.set(k.i32.add(x.get(), k.i32.mul(k.i32.add(k.i32.mul(k.i32.div_u(i.get(), k.c32(inner)), k.c32((n - 1) * inner)), i.get()), k.c32(esz)))),
      yr.set(k.i32.add(y.get(), k.i32.sub(xr.get(), x.get()))),
      ...row(xr, yr),
    ]);
  });
}

/** One row of n elements at byte stride `step`, any float dtype, scalar code. */
function scalarRow(k: Kernel, kind: Kind, dt: DType, xr: Local, yr: Local, n: number, step: number): Expr[] {
  const t = computeType(dt) as 'f32' | 'f64';
  const m = k.local(t), s = k.local(t), e = k.local(t), best = k.local('i32');
  const at = (base: Local, j: Local) => k.i32.add(base.get(), k.i32.mul(j.get(), k.c32(step)));
  const xj = (j: Local) => k.load(dt, at(xr, j));
  const stmts: Expr[] = [m.set(extremeValue(k, dt, true)), best.set(k.c32(0))];
  if (kind === 'hardmax') {
    // first index of the max (a NaN never wins)
    stmts.push(k.loop(0, n, (j) => k.if(t === 'f32' ? k.f32.gt(xj(j), m.get()) : k.f64.gt(xj(j), m.get()), [m.set(xj(j)), best.set(j.get())])));
    stmts.push(k.loop(0, n, (j) => k.store(dt, at(yr, j), k.select(k.i32.eq(j.get(), best.get()), k.const(t, 1), k.const(t, 0)))));
    return stmts;
  }
  stmts.push(k.loop(0, n, (j) => m.set(maxOf(k, dt, m.get(), xj(j)))));
  // Storing exp in y and scaling after is exact only when y holds the compute type.
  const storeExp = kind === 'softmax' && (dt === 'float32' || dt === 'float64');
  stmts.push(s.set(k.const(t, 0)), k.loop(0, n, (j) => [
    e.set(mathFn(k, 'exp', t, sub(k, t, xj(j), m.get()))),
    s.set(add(k, t, s.get(), e.get())),
    storeExp ? k.store(dt, at(yr, j), e.get()) : k.nop(),
  ]));
  if (kind === 'softmax') {
    const inv = k.local(t);
    stmts.push(inv.set(t === 'f32' ? k.f32.div(k.cf32(1), s.get()) : k.f64.div(k.cf64(1), s.get())));
    const value = (j: Local) => (storeExp ? k.load(dt, at(yr, j)) : mathFn(k, 'exp', t, sub(k, t, xj(j), m.get())));
    stmts.push(k.loop(0, n, (j) => k.store(dt, at(yr, j), t === 'f32' ? k.f32.mul(value(j), inv.get()) : k.f64.mul(value(j), inv.get()))));
  } else {
    // x - (max + log(sum))
    stmts.push(s.set(add(k, t, m.get(), mathFn(k, 'log', t, s.get()))));
    stmts.push(k.loop(0, n, (j) => k.store(dt, at(yr, j), sub(k, t, xj(j), s.get()))));
  }
  return stmts;
}

/**
 * One contiguous float32 row (n >= 8): the max 16 lanes at a time in four chains (pmax: a NaN x is skipped, but it still makes
 * its row NaN through exp), exp(x - max) <= 1 and its sum 4 lanes at a time, then the scaling.
 */
function vectorRow(k: Kernel, kind: Kind, xr: Local, yr: Local, n: number): Expr[] {
  if (kind === 'hardmax') return scalarRow(k, kind, 'float32', xr, yr, n, 4);
  const n4 = n - (n % 4), n8 = n - (n % 8), n16 = n - (n % 16);
  const vm = k.local('v128'), vm2 = k.local('v128'), vs = k.local('v128'), ve = k.local('v128');
  const vm3 = k.local('v128'), vm4 = k.local('v128');
  const m = k.local('f32'), s = k.local('f32'), e = k.local('f32');
  const vx = (j: Local, off = 0) => k.v128.load(off, 4, k.i32.add(xr.get(), k.i32.shl(j.get(), k.c32(2))));
  const sx = (j: Local) => k.f32.load(0, 4, k.i32.add(xr.get(), k.i32.shl(j.get(), k.c32(2))));
  const yAt = (j: Local) => k.i32.add(yr.get(), k.i32.shl(j.get(), k.c32(2)));
  const pmax = (acc: Local, x: Expr) => acc.set(k.f32x4.pmax(acc.get(), x));
  const stmts: Expr[] = [
    ...[vm, vm2, vm3, vm4].map((a) => a.set(k.f32x4.splat(k.cf32(-Infinity)))),
    // four independent chains
    k.loop(0, n16, (j) => [pmax(vm, vx(j)), pmax(vm2, vx(j, 16)), pmax(vm3, vx(j, 32)), pmax(vm4, vx(j, 48))], 16),
    k.loop(n16, n4, (j) => pmax(vm, vx(j)), 4),
    pmax(vm, vm3.get()), pmax(vm2, vm4.get()), pmax(vm, vm2.get()),
    m.set(foldLanes(k, vm, k.cf32(-Infinity), (a, b) => k.f32.max(a, b))),
    k.loop(n4, n, (j) => m.set(k.f32.max(m.get(), sx(j)))),
    vm.set(k.f32x4.splat(m.get())),
    vs.set(k.f32x4.splat(k.cf32(0))),
    s.set(k.cf32(0)),
  ];
  const store = kind === 'softmax';
  // exp of 4 lanes: two per step in the 8-lane part, so that two long dependency chains interleave
  const exp4 = (j: Local, off: number, sum: Local): Expr[] => [
    ve.set(simdExpBelowMax(k, k.f32x4.sub(vx(j, off), vm.get()))),
    sum.set(k.f32x4.add(sum.get(), ve.get())),
    store ? k.v128.store(off, 4, yAt(j), ve.get()) : k.nop(),
  ];
  stmts.push(
    vm2.set(k.f32x4.splat(k.cf32(0))),
    k.loop(0, n8, (j) => [...exp4(j, 0, vs), ...exp4(j, 16, vm2)], 8),
    k.loop(n8, n4, (j) => exp4(j, 0, vs), 4),
    vs.set(k.f32x4.add(vs.get(), vm2.get())),
    k.loop(n4, n, (j) => [
      e.set(mathFn(k, 'exp', 'f32', k.f32.sub(sx(j), m.get()))),
      s.set(k.f32.add(s.get(), e.get())),
      store ? k.f32.store(0, 4, yAt(j), e.get()) : k.nop(),
    ]),
    s.set(foldLanes(k, vs, s.get(), (a, b) => k.f32.add(a, b))),
  );
  if (kind === 'softmax') {
    stmts.push(
      s.set(k.f32.div(k.cf32(1), s.get())),
      vs.set(k.f32x4.splat(s.get())),
      k.loop(0, n8, (j) => [0, 16].map((o) => k.v128.store(o, 4, yAt(j), k.f32x4.mul(k.v128.load(o, 4, yAt(j)), vs.get()))), 8),
      k.loop(n8, n4, (j) => k.v128.store(0, 4, yAt(j), k.f32x4.mul(k.v128.load(0, 4, yAt(j)), vs.get())), 4),
      k.loop(n4, n, (j) => k.f32.store(0, 4, yAt(j), k.f32.mul(k.f32.load(0, 4, yAt(j)), s.get()))),
    );
  } else {
    stmts.push(
      s.set(k.f32.add(m.get(), mathFn(k, 'log', 'f32', s.get()))),
      vs.set(k.f32x4.splat(s.get())),
      k.loop(0, n4, (j) => k.v128.store(0, 4, yAt(j), k.f32x4.sub(vx(j), vs.get())), 4),
      k.loop(n4, n, (j) => k.f32.store(0, 4, yAt(j), k.f32.sub(sx(j), s.get()))),
    );
  }
  return stmts;
}

/** float32, axis not innermost, inner % 4 == 0: 4 adjacent rows per step, all in lanes. */
function vectorRows(k: Kernel, kind: Kind, x: Local, y: Local, outer: number, n: number, inner: number): Expr[] {
  const step = inner * 4;
  const xr = k.local('i32'), yr = k.local('i32');
  const vm = k.local('v128'), vs = k.local('v128'), vb = k.local('v128'), v = k.local('v128');
  const xAt = (j: Local) => k.v128.load(0, 4, k.i32.add(xr.get(), k.i32.mul(j.get(), k.c32(step))));
  const yAt = (j: Local) => k.i32.add(yr.get(), k.i32.mul(j.get(), k.c32(step)));
  const body: Expr[] = [vm.set(k.f32x4.splat(k.cf32(-Infinity)))];
  if (kind === 'hardmax') {
    // vb: index of the first max per lane, as f32
    body.push(vb.set(k.f32x4.splat(k.cf32(0))),
      k.loop(0, n, (j) => [
        v.set(xAt(j)),
        vs.set(k.f32x4.gt(v.get(), vm.get())),
        vm.set(k.v128.bitselect(v.get(), vm.get(), vs.get())),
        vb.set(k.v128.bitselect(k.f32x4.splat(k.f32.convert_u.i32(j.get())), vb.get(), vs.get())),
      ]),
      k.loop(0, n, (j) => k.v128.store(0, 4, yAt(j), k.v128.and(k.f32x4.eq(vb.get(), k.f32x4.splat(k.f32.convert_u.i32(j.get()))), k.f32x4.splat(k.cf32(1))))));
  } else {
    body.push(k.loop(0, n, (j) => vm.set(k.f32x4.pmax(vm.get(), xAt(j)))), vs.set(k.f32x4.splat(k.cf32(0))));
    if (kind === 'softmax') {
      body.push(
        k.loop(0, n, (j) => [v.set(simdExpBelowMax(k, k.f32x4.sub(xAt(j), vm.get()))), vs.set(k.f32x4.add(vs.get(), v.get())), k.v128.store(0, 4, yAt(j), v.get())]),
        vs.set(k.f32x4.div(k.f32x4.splat(k.cf32(1)), vs.get())),
        k.loop(0, n, (j) => k.v128.store(0, 4, yAt(j), k.f32x4.mul(k.v128.load(0, 4, yAt(j)), vs.get()))),
      );
    } else {
      body.push(
        k.loop(0, n, (j) => vs.set(k.f32x4.add(vs.get(), simdExpBelowMax(k, k.f32x4.sub(xAt(j), vm.get()))))),
        vs.set(k.f32x4.add(vm.get(), mathFnF32x4(k, 'log', vs.get()))),
        k.loop(0, n, (j) => k.v128.store(0, 4, yAt(j), k.f32x4.sub(xAt(j), vs.get()))),
      );
    }
  }
  return [
    k.loop(0, outer, (o) => k.loop(0, inner, (c) => [
      xr.set(k.i32.add(x.get(), k.i32.mul(k.i32.add(k.i32.mul(o.get(), k.c32(n * inner)), c.get()), k.c32(4)))),
      yr.set(k.i32.add(y.get(), k.i32.sub(xr.get(), x.get()))),
      ...body,
    ], 4)),
  ];
}

export const Softmax1 = softmaxOp('Softmax', 'softmax', 1, 12);
export const Softmax13 = softmaxOp('Softmax', 'softmax', 13);
export const LogSoftmax1 = softmaxOp('LogSoftmax', 'logsoftmax', 1, 12);
export const LogSoftmax13 = softmaxOp('LogSoftmax', 'logsoftmax', 13);
export const Hardmax1 = softmaxOp('Hardmax', 'hardmax', 1, 12);
export const Hardmax13 = softmaxOp('Hardmax', 'hardmax', 13);
