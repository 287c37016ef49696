// NonZero and Compress: outputs whose length depends on the data. The buffer is planned at the upper bound (every
// element selected); the kernel counts first, writes the tensor densely for the actual count, and stores the
// actual dims (EmitCtx.dims), which run() returns as the output's shape.

import { ALL_DTYPES, DTYPE_SIZE } from '../src/ir/dtype.js';
import { numel, stridesOf, tensorNumbers } from '../src/ir/graph.js';
import { normalizeAxis } from './reduce-kernel.js';
import { defineOp } from './types.js';

export const NonZero = defineOp({
  op: 'NonZero', since: 9, dtypes: ALL_DTYPES,
  notes: 'data-dependent: int64 [rank, n] with n only known at run time (buffer planned for every element); a graph output only',
  infer(ctx) {
    const x = ctx.inputs[0]!;
    if (!x.shape.length) ctx.fail('a scalar input is not supported');
    return [{ dtype: 'int64', shape: [x.shape.length, numel(x.shape)], dynamic: 1 }];
  },
  evaluate(ctx) {
    const x = ctx.inputs[0]!;
    const strides = stridesOf(x.shape);
    const hits = tensorNumbers(x.const!).flatMap((v, i) => (v !== 0 ? [i] : []));
    const out = new BigInt64Array(x.shape.length * hits.length);
    hits.forEach((flat, p) => x.shape.forEach((d, a) => { out[a * hits.length + p] = BigInt(Math.floor(flat / strides[a]) % d); }));
    return [{ dtype: 'int64', shape: [x.shape.length, hits.length], data: out }];
  },
  emit(ctx) {
    const x = ctx.inputs[0]!;
    const n = numel(x.shape), rank = x.shape.length, esz = DTYPE_SIZE[x.dtype];
    const strides = stridesOf(x.shape);
    const fn = ctx.kernel(`nonzero:${x.dtype}:${x.shape.join('x')}`, ['i32', 'i32', 'i32'], (k) => {
      const [xp, yp, dp] = k.params;
      const cnt = k.local('i32'), pos = k.local('i32');
      const nz = (i: ReturnType<typeof k.c32>) => k.cast(k.load(x.dtype, k.i32.add(xp.get(), k.i32.mul(i, k.c32(esz)))), x.dtype, 'bool');
      return [
        cnt.set(k.c32(0)),
        k.loop(0, n, (i) => k.if(nz(i.get()), cnt.set(k.i32.add(cnt.get(), k.c32(1))))),
        pos.set(k.c32(0)),
        k.loop(0, n, (i) => k.if(nz(i.get()), [
          // coordinate a of flat index i, at row a, column pos of the [rank, cnt] output
          ...x.shape.map((d, a) => k.i64.store(0, 8,
            k.i32.add(yp.get(), k.i32.shl(k.i32.add(k.i32.mul(k.c32(a), cnt.get()), pos.get()), k.c32(3))),
            k.i64.extend_u(k.i32.rem_u(k.i32.div_u(i.get(), k.c32(strides[a])), k.c32(d))))),
          pos.set(k.i32.add(pos.get(), k.c32(1))),
        ])),
        k.i32.store(0, 4, dp.get(), k.c32(rank)),
        k.i32.store(4, 4, dp.get(), cnt.get()),
      ];
    });
    ctx.call(fn, [x.ptr, ctx.outputs[0].ptr, ctx.dims(0)]);
  },
});

export const Compress = defineOp<{ axis?: number }>({
  op: 'Compress', since: 9, dtypes: ALL_DTYPES,
  notes: 'data-dependent: the selected extent is only known at run time (buffer planned for every slice); a graph output only',
  attrs: (a) => ({ axis: a.has('axis') ? a.int('axis') : undefined }),
  infer(ctx) {
    const [x, cond] = ctx.inputs;
    if (!x || !cond) ctx.fail('input and condition are required');
    if (cond!.shape.length !== 1) ctx.fail(`condition must be 1-D, got rank ${cond!.shape.length}`);
    const { n, axis } = geometry(ctx.attrs.axis, x!.shape, ctx.fail);
    const bound = Math.min(n, cond!.shape[0]);
    return [{ dtype: x!.dtype, shape: axis === undefined ? [bound] : x!.shape.map((d, a) => (a === axis ? bound : d)), dynamic: axis ?? 0, zeroTail: !axis }];
  },
  emit(ctx) {
    const [x, cond] = ctx.inputs;
    const { outer, n, inner, axis } = geometry(ctx.attrs.axis, x!.shape, ctx.fail);
    const len = Math.min(n, cond!.shape[0]);
    const rowBytes = inner * DTYPE_SIZE[x!.dtype];
    const outShape = axis === undefined ? [len] : x!.shape.map((d, a) => (a === axis ? len : d));
    const dynAxis = axis ?? 0;
    const fn = ctx.kernel(`compress:${x!.dtype}:${outer}x${n}x${inner}:${len}:${outShape.join('x')}:${dynAxis}`, ['i32', 'i32', 'i32', 'i32'], (k) => {
      const [xp, cp, yp, dp] = k.params;
      const cnt = k.local('i32'), pos = k.local('i32');
      const taken = (j: ReturnType<typeof k.c32>) => k.i32.load8_u(0, 1, k.i32.add(cp.get(), j));
      return [
        cnt.set(k.c32(0)),
        k.loop(0, len, (j) => k.if(taken(j.get()), cnt.set(k.i32.add(cnt.get(), k.c32(1))))),
        k.loop(0, outer, (o) => [
          pos.set(k.c32(0)),
          k.loop(0, len, (j) => k.if(taken(j.get()), [
            k.copy(
              k.i32.add(yp.get(), k.i32.mul(k.i32.add(k.i32.mul(o.get(), cnt.get()), pos.get()), k.c32(rowBytes))),
              k.i32.add(xp.get(), k.i32.mul(k.i32.add(k.i32.mul(o.get(), k.c32(n)), j.get()), k.c32(rowBytes))),
              rowBytes),
            pos.set(k.i32.add(pos.get(), k.c32(1))),
          ])),
        ]),
        // with the run-time axis first, the rows past the count are zeroed (see src/passes/bounded.ts)
        dynAxis === 0 ? k.dynLoop(cnt.get(), k.c32(len), (j) => k.fill(k.i32.add(yp.get(), k.i32.mul(j.get(), k.c32(rowBytes))), 0, rowBytes)) : k.nop(),
        ...outShape.map((d, a) => k.i32.store(4 * a, 4, dp.get(), a === dynAxis ? cnt.get() : k.c32(d))),
      ];
    });
    ctx.call(fn, [x!.ptr, cond!.ptr, ctx.outputs[0].ptr, ctx.dims(0)]);
  },
});

/** Compress without an axis works on the flattened input: one row of n single elements. */
function geometry(axisAttr: number | undefined, shape: number[], fail: (m: string) => never) {
  if (axisAttr === undefined) return { outer: 1, n: numel(shape), inner: 1, axis: undefined };
  const axis = normalizeAxis({ fail } as never, axisAttr, shape.length);
  return { outer: numel(shape.slice(0, axis)), n: shape[axis], inner: numel(shape.slice(axis + 1)), axis };
}
