// Unique: the distinct elements (or slices along `axis`) in first-occurrence order or sorted, with the index of
// each one's first occurrence, the inverse map and the counts. The number of distinct values is known only at run
// time: Y, indices and counts are planned for every element being distinct and the kernel writes the actual dims.
// O(n^2) comparisons, no allocation: the slices seen so far are kept as indices in scratch memory.

import { NUMERIC, DTYPE_SIZE } from '../src/ir/dtype.js';
import { numel, type Shape } from '../src/ir/graph.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { normalizeAxis } from './reduce-kernel.js';
import { defineOp, type BaseCtx, type TensorInfo } from './types.js';

interface UniqueAttrs { axis?: number; sorted: boolean }

function geometry(ctx: BaseCtx<UniqueAttrs>, shape: Shape) {
  if (ctx.attrs.axis === undefined) return { outer: 1, n: numel(shape), inner: 1, axis: undefined };
  const axis = normalizeAxis(ctx, ctx.attrs.axis, shape.length);
  return { outer: numel(shape.slice(0, axis)), n: shape[axis], inner: numel(shape.slice(axis + 1)), axis };
}

export const Unique = defineOp<UniqueAttrs>({
  op: 'Unique', since: 11, dtypes: NUMERIC,
  notes: 'data-dependent: Y, indices and counts have a length only known at run time (planned for all elements distinct); graph outputs only',
  attrs: (a) => ({ axis: a.has('axis') ? a.int('axis') : undefined, sorted: a.int('sorted', 1) !== 0 }),
  infer(ctx) {
    const x = ctx.inputs[0]!;
    if (!NUMERIC.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported`);
    const { n, axis } = geometry(ctx, x.shape);
    const y: TensorInfo = axis === undefined ? { dtype: x.dtype, shape: [n], dynamic: 0, zeroTail: true } : { dtype: x.dtype, shape: x.shape, dynamic: axis, zeroTail: axis === 0 };
    const perDistinct: TensorInfo = { dtype: 'int64', shape: [n], dynamic: 0, zeroTail: true };
    return [y, perDistinct, { dtype: 'int64', shape: [n] }, perDistinct];
  },
  // four int32 arrays of n: see the kernel
  scratch: (ctx) => 16 * geometry(ctx, ctx.inputs[0]!.shape).n,
  emit(ctx) {
    const x = ctx.inputs[0]!;
    const { outer, n, inner, axis } = geometry(ctx, x.shape);
    if (!n) return;
    const dt = x.dtype, esz = DTYPE_SIZE[dt], t = computeType(dt);
    const present = [0, 1, 2, 3].map((i) => !!ctx.node.outputs[i]);
    const key = `unique:${dt}:${outer}x${n}x${inner}:${ctx.attrs.sorted}:${axis}:${present.join('')}`;
    const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [xp, yp, ip, vp, cp, yd, id, cd, scratch] = k.params;
      const { i32 } = k;
      const u = k.local('i32'), found = k.local('i32'), q = k.local('i32'), p = k.local('i32'), v = k.local('i32');
      const arr = (which: number, i: Expr) => i32.add(scratch.get(), i32.shl(i32.add(k.c32(which * n), i), k.c32(2)));
      const get = (which: number, i: Expr) => i32.load(0, 4, arr(which, i));
      const set = (which: number, i: Expr, value: Expr) => i32.store(0, 4, arr(which, i), value);
      // per distinct slice: first occurrence, count, output order; per element: its distinct slice
      const FIRST = 0, COUNT = 1, ORDER = 2, GROUP = 3;
      const cmp = compareFn(k, key, dt, t, outer, n, inner, esz);
      const compare = (a: Expr, b: Expr) => k.call(cmp, [xp.get(), a, b], 'i32');
      const at64 = (base: Expr, i: Expr) => i32.add(base, i32.shl(i, k.c32(3)));
      const found1 = k.w.nextLabel('uq_found'), scan = k.w.nextLabel('uq_scan');
      const sortDone = k.w.nextLabel('uq_sorted'), shift = k.w.nextLabel('uq_shift');
      return [
        u.set(k.c32(0)),
        k.loop(0, n, (i) => [
          // found = the distinct slice equal to slice i, or a new one
          found.set(k.c32(0)),
          k.m.block(found1, [k.m.loop(scan, k.block([
            k.m.br(found1, i32.ge_s(found.get(), u.get())),
            k.m.br(found1, i32.eqz(compare(get(FIRST, found.get()), i.get()))),
            found.set(i32.add(found.get(), k.c32(1))),
            k.m.br(scan),
          ]))]),
          k.if(i32.eq(found.get(), u.get()), [set(FIRST, u.get(), i.get()), set(COUNT, u.get(), k.c32(0)), u.set(i32.add(u.get(), k.c32(1)))]),
          set(COUNT, found.get(), i32.add(get(COUNT, found.get()), k.c32(1))),
          set(GROUP, i.get(), found.get()), // the inverse map, by first-occurrence number for now
        ]),
        k.dynLoop(k.c32(0), u.get(), (j) => set(ORDER, j.get(), j.get())),
        ctx.attrs.sorted
          // insertion sort of the distinct slices (stable: equal never happens among distinct ones)
          ? k.dynLoop(k.c32(1), u.get(), (j) => [
            v.set(get(ORDER, j.get())),
            p.set(j.get()),
            k.m.block(sortDone, [k.m.loop(shift, k.block([
              k.m.br(sortDone, i32.le_s(p.get(), k.c32(0))),
              k.m.br(sortDone, i32.le_s(compare(get(FIRST, get(ORDER, i32.sub(p.get(), k.c32(1)))), get(FIRST, v.get())), k.c32(0))),
              set(ORDER, p.get(), get(ORDER, i32.sub(p.get(), k.c32(1)))),
              p.set(i32.sub(p.get(), k.c32(1))),
              k.m.br(shift),
            ]))]),
            set(ORDER, p.get(), v.get()),
          ])
          : k.nop(),
        // inverse_indices: position in the output of each element's distinct slice
        k.loop(0, n, (i) => present[2] ? k.i64.store(0, 8, at64(vp.get(), i.get()), k.c64(0)) : k.nop()),
        k.dynLoop(k.c32(0), u.get(), (j) => [
          q.set(get(ORDER, j.get())),
          k.loop(0, n, (i) => present[2]
            ? k.if(i32.eq(get(GROUP, i.get()), q.get()), k.i64.store(0, 8, at64(vp.get(), i.get()), k.i64.extend_u(j.get())))
            : k.nop()),
          present[1] ? k.i64.store(0, 8, at64(ip.get(), j.get()), k.i64.extend_u(get(FIRST, q.get()))) : k.nop(),
          present[3] ? k.i64.store(0, 8, at64(cp.get(), j.get()), k.i64.extend_u(get(COUNT, q.get()))) : k.nop(),
          present[0] ? k.loop(0, outer, (o) => k.copy(
            i32.add(yp.get(), i32.mul(i32.add(i32.mul(o.get(), u.get()), j.get()), k.c32(inner * esz))),
            i32.add(xp.get(), i32.mul(i32.add(i32.mul(o.get(), k.c32(n)), get(FIRST, q.get())), k.c32(inner * esz))),
            inner * esz)) : k.nop(),
        ]),
        // rows past the count are zeroed where the run-time axis is the first (see src/passes/bounded.ts)
        k.dynLoop(u.get(), k.c32(n), (j) => [
          present[0] && outer === 1 ? k.fill(i32.add(yp.get(), i32.mul(j.get(), k.c32(inner * esz))), 0, inner * esz) : k.nop(),
          present[1] ? k.i64.store(0, 8, at64(ip.get(), j.get()), k.c64(0)) : k.nop(),
          present[3] ? k.i64.store(0, 8, at64(cp.get(), j.get()), k.c64(0)) : k.nop(),
        ]),
        ...(present[0] ? (axis === undefined ? [i32.store(0, 4, yd.get(), u.get())] : x.shape.map((d, a) => i32.store(4 * a, 4, yd.get(), a === axis ? u.get() : k.c32(d)))) : []),
        present[1] ? i32.store(0, 4, id.get(), u.get()) : k.nop(),
        present[3] ? i32.store(0, 4, cd.get(), u.get()) : k.nop(),
      ];
    });
    const out = (i: number) => (present[i] ? ctx.outputs[i].ptr : 0);
    const dimsOf = (i: number) => (present[i] && i !== 2 ? ctx.dims(i) : 0);
    ctx.call(fn, [x.ptr, out(0), out(1), out(2), out(3), dimsOf(0), dimsOf(1), dimsOf(3), ctx.scratch()]);
  },
});

/** cmp(x, a, b): -1, 0 or 1 comparing slices a and b lexicographically (outer, then inner order). */
function compareFn(k: Kernel, key: string, dt: Parameters<Kernel['load']>[0], t: string, outer: number, n: number, inner: number, esz: number): string {
  const name = `${key}:cmp`;
  k.w.addFunction(name, ['i32', 'i32', 'i32'], 'i32', (c) => {
    const [xp, a, b] = c.params;
    const va = c.local(t as never), vb = c.local(t as never);
    const lt = (l: Expr, r: Expr) => (t === 'f32' ? c.f32.lt(l, r) : t === 'f64' ? c.f64.lt(l, r) : t === 'i64' ? (dt === 'uint64' ? c.i64.lt_u(l, r) : c.i64.lt_s(l, r)) : dt === 'uint32' ? c.i32.lt_u(l, r) : c.i32.lt_s(l, r));
    const addr = (s: Expr, o: Expr, e: Expr) => c.i32.add(xp.get(), c.i32.mul(c.i32.add(c.i32.mul(c.i32.add(c.i32.mul(o, c.c32(n)), s), c.c32(inner)), e), c.c32(esz)));
    return [
      c.loop(0, outer, (o) => c.loop(0, inner, (e) => [
        va.set(c.load(dt, addr(a.get(), o.get(), e.get()))),
        vb.set(c.load(dt, addr(b.get(), o.get(), e.get()))),
        c.if(lt(va.get(), vb.get()), c.return(c.c32(-1))),
        c.if(lt(vb.get(), va.get()), c.return(c.c32(1))),
      ])),
      c.c32(0),
    ];
  });
  return name;
}
