// float32 MaxPool (without the Indices output) as two passes, since max over a box window is separable:
//   1. rows: for each output position of the leading spatial dims (all but the last), the max over the taps of
//      those dims of whole input rows, into a scratch row of width W (4 columns per step on the simd target);
//   2. columns: each output of that row is the max over its KW taps of the scratch row (4 outputs per step).
// The scratch row carries -inf in the begin/end padding, so the second pass has no edge cases, and every window
// shape (strides, dilations, pads, ceil_mode, 1-D to N-D) takes the same code. A tap row or column fully in the
// padding contributes -inf, as in the direct kernel. NaN inputs are skipped as there (a later x wins only if x > acc).

import { type Expr, type Kernel, type Local } from '../codegen/wasm.js';
import { numel } from '../src/ir/graph.js';
import { tapRange, type PoolGeom } from './pool.js';
import type { EmitCtx } from './types.js';

/** Scratch row length in floats: the padded last dim, long enough for the last window. */
export function separableRowLength(g: PoolGeom): number {
  const D = g.inDims.length;
  const W = g.inDims[D - 1], OW = g.outDims[D - 1];
  const span = (OW - 1) * g.strides[D - 1] + (g.kernel[D - 1] - 1) * g.dilations[D - 1] + 1;
  return Math.max(g.padBegin[D - 1] + W, span);
}

/** fn(x, y, row): the separable float32 MaxPool of geometry g; row is the scratch row's address. */
export function separableMaxPoolKernel(ctx: EmitCtx<unknown>, g: PoolGeom): string {
  const simd = ctx.target === 'simd';
  return ctx.kernel(`maxpool-separable:${JSON.stringify(g)}:${simd}`, ['i32', 'i32', 'i32'], (k) => {
    const [x, y, row] = k.params;
    const D = g.inDims.length;
    const lead = D - 1;
    const W = g.inDims[lead], OW = g.outDims[lead], KW = g.kernel[lead], sx = g.strides[lead], dx = g.dilations[lead];
    const padX = g.padBegin[lead];
    const L = separableRowLength(g);
    const inStrides = g.inDims.map((_, i) => numel(g.inDims.slice(i + 1)));
    const planeBytes = numel(g.inDims) * 4;
    const xPlane = k.local('i32'), rowBase = k.local('i32'), rowOut = k.local('i32');
    const o = g.outDims.slice(0, lead).map(() => k.local('i32'));
    const lo = o.map(() => k.local('i32')), hi = o.map(() => k.local('i32')), cnt = o.map(() => k.local('i32'));
    const tap = o.map(() => k.local('i32'));
    // ptr[i]: the address of tap row (t_0..t_{i-1}) at column 0; ptr[lead] is a whole tap row
    const ptr = Array.from({ length: lead + 1 }, () => k.local('i32'));
    const col = k.local('i32'), ox = k.local('i32');
    const s = k.local('f32'), v = k.local('f32');
    const vacc = simd ? [k.local('v128'), k.local('v128')] : [];

    /** body(ptr) once per tap row of the leading dims. */
    const overTapRows = (body: (p: Local) => Expr[]): Expr => {
      const nest = (i: number): Expr => (i === lead ? k.block(body(ptr[lead]))
        : k.dynFor(tap[i], lo[i].get(), hi[i].get(), 1, () => [
          ptr[i + 1].set(k.i32.add(ptr[i].get(), k.i32.mul(tap[i].get(), k.c32(g.dilations[i] * inStrides[i] * 4)))),
          nest(i + 1),
        ]));
      return k.block([ptr[0].set(rowBase.get()), nest(0)]);
    };
    /** acc = x > acc ? x : acc, the direct kernel's rule (NaN never wins). */
    const maxInto = (acc: Local, x: Expr): Expr => k.block([v.set(x), acc.set(k.select(k.f32.gt(v.get(), acc.get()), v.get(), acc.get()))]);

    // pass 1: the scratch row at [padX, padX + W): 8 then 4 columns per step (simd), then one at a time
    const rowsPass: Expr[] = [];
    let c0 = 0;
    if (simd) {
      for (const width of [8, 4]) {
        const end = c0 + Math.floor((W - c0) / width) * width;
        if (end <= c0) continue;
        const n = width / 4;
        rowsPass.push(k.for(col, c0, end, width, () => [
          ...vacc.slice(0, n).map((a) => a.set(k.f32x4.splat(k.cf32(-Infinity)))),
          overTapRows((p) => vacc.slice(0, n).map((a, j) =>
            a.set(k.f32x4.pmax(a.get(), k.v128.load(16 * j, 4, k.i32.add(p.get(), k.i32.shl(col.get(), k.c32(2)))))))),
          ...vacc.slice(0, n).map((a, j) => k.v128.store(padX * 4 + 16 * j, 4, k.i32.add(row.get(), k.i32.shl(col.get(), k.c32(2))), a.get())),
        ]));
        c0 = end;
      }
    }
    rowsPass.push(k.for(col, c0, W, 1, () => [
      s.set(k.cf32(-Infinity)),
      overTapRows((p) => [maxInto(s, k.f32.load(0, 4, k.i32.add(p.get(), k.i32.shl(col.get(), k.c32(2)))))]),
      k.f32.store(padX * 4, 4, k.i32.add(row.get(), k.i32.shl(col.get(), k.c32(2))), s.get()),
    ]));

    // pass 2: OW outputs from the scratch row, 4 per step (simd), then one at a time
    const tapAt = (kx: number) => k.i32.add(row.get(), k.i32.mul(ox.get(), k.c32(sx * 4)));
    const lanes = (kx: number): Expr => {
      const off = kx * dx * 4;
      if (sx === 1) return k.v128.load(off, 4, tapAt(kx));
      // stride 2: lanes 0, 2 of r[0..3] and 1, 3 of r[3..6] (no read past the 4th output's tap)
      if (sx === 2) return k.i8x16.shuffle(k.v128.load(off, 4, tapAt(kx)), k.v128.load(off + 12, 4, tapAt(kx)), [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31]);
      let e = k.v128.load32_splat(off, 4, tapAt(kx));
      for (let l = 1; l < 4; l++) e = k.f32x4.replace_lane(e, l, k.f32.load(off + l * sx * 4, 4, tapAt(kx)));
      return e;
    };
    const colsPass: Expr[] = [];
    const ow4 = simd ? OW - (OW % 4) : 0;
    if (ow4 > 0) {
      colsPass.push(k.for(ox, 0, ow4, 4, () => {
        let acc = lanes(0);
        for (let kx = 1; kx < KW; kx++) acc = k.f32x4.pmax(acc, lanes(kx));
        return [k.v128.store(0, 4, k.i32.add(rowOut.get(), k.i32.shl(ox.get(), k.c32(2))), acc)];
      }));
    }
    colsPass.push(k.for(ox, ow4, OW, 1, () => [
      s.set(k.f32.load(0, 4, tapAt(0))),
      ...Array.from({ length: KW - 1 }, (_, j) => maxInto(s, k.f32.load((j + 1) * dx * 4, 4, tapAt(j + 1)))),
      k.f32.store(0, 4, k.i32.add(rowOut.get(), k.i32.shl(ox.get(), k.c32(2))), s.get()),
    ]));

    // one output row of the last dim: its leading-dim taps' rows start at rowBase
    const outRow = (): Expr[] => {
      let base: Expr = xPlane.get();
      for (let i = 0; i < lead; i++) {
        base = k.i32.add(base, k.i32.mul(k.i32.sub(k.i32.mul(o[i].get(), k.c32(g.strides[i])), k.c32(g.padBegin[i])), k.c32(inStrides[i] * 4)));
      }
      return [
        rowBase.set(base),
        ...rowsPass,
        ...colsPass,
        rowOut.set(k.i32.add(rowOut.get(), k.c32(OW * 4))),
      ];
    };
    const outLoops = (i: number): Expr => (i === lead ? k.block(outRow())
      : k.for(o[i], 0, g.outDims[i], 1, () => [...tapRange(k, g, i, o[i], false, lo[i], hi[i], cnt[i]), outLoops(i + 1)]));

    // the padding columns of the scratch row stay -inf for the whole call
    const fill = (from: number, to: number) => k.for(col, from, to, 1, () => k.f32.store(0, 4, k.i32.add(row.get(), k.i32.shl(col.get(), k.c32(2))), k.cf32(-Infinity)));
    return [
      fill(0, padX),
      fill(padX + W, L),
      rowOut.set(y.get()),
      k.loop(0, g.planes, (p) => [
        xPlane.set(k.i32.add(x.get(), k.i32.mul(p.get(), k.c32(planeBytes)))),
        outLoops(0),
      ]),
    ];
  });
}
