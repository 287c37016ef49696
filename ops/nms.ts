// NonMaxSuppression: per batch and class, repeatedly take the best-scoring box left (ties: the lower index) that
// beats score_threshold, and keep it unless it overlaps a box kept before by more than iou_threshold; at most
// max_output_boxes_per_class per class. The output [n, 3] of (batch, class, box) rows has n known only at run
// time: the buffer is planned for batches x classes x min(max_output_boxes_per_class, boxes) rows (all boxes
// when that input is a run-time value) and the kernel writes the actual dims.

import { tensorNumbers } from '../src/ir/graph.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { defineOp, type InferCtx } from './types.js';

interface NmsAttrs { center: boolean }

function dims(ctx: Pick<InferCtx<NmsAttrs>, 'inputs' | 'fail'>) {
  const [boxes, scores, maxOut] = ctx.inputs;
  if (!boxes || !scores) ctx.fail('boxes and scores are required');
  if (boxes!.dtype !== 'float32' || scores!.dtype !== 'float32') ctx.fail('boxes and scores must be float32');
  if (boxes!.shape.length !== 3 || boxes!.shape[2] !== 4) ctx.fail(`boxes must be [batches, boxes, 4], got [${boxes!.shape}]`);
  const [B, S] = boxes!.shape;
  if (scores!.shape.length !== 3 || scores!.shape[0] !== B || scores!.shape[2] !== S) ctx.fail(`scores must be [${B}, classes, ${S}], got [${scores!.shape}]`);
  const C = scores!.shape[1];
  const perClass = maxOut?.const ? Math.max(0, Math.min(S, tensorNumbers(maxOut.const)[0])) : maxOut ? S : 0;
  return { B, S, C, perClass };
}

export const NonMaxSuppression = defineOp<NmsAttrs>({
  op: 'NonMaxSuppression', since: 10, dtypes: ['float32'],
  notes: 'data-dependent: selected_indices [n, 3] with n only known at run time, bounded by batches x classes x ' +
    'max_output_boxes_per_class (a constant, or the box count when it is a run-time value); a graph output only',
  attrs: (a) => ({ center: a.int('center_point_box', 0) === 1 }),
  infer(ctx) {
    const { B, C, perClass } = dims(ctx);
    return [{ dtype: 'int64', shape: [B * C * perClass, 3], dynamic: 0, zeroTail: true }];
  },
  // Scratch: a taken flag per box and the boxes kept for the current class.
  scratch: (ctx) => dims(ctx).S * 5,
  emit(ctx) {
    const [, , maxOut, iouIn, scoreIn] = ctx.inputs;
    const { B, S, C, perClass } = dims(ctx);
    const center = ctx.attrs.center;
    const fn = ctx.kernel(`nms:${B}x${C}x${S}:${perClass}:${center}:${!!maxOut}:${!!iouIn}:${!!scoreIn}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [bp, sp, mp, ip, tp, yp, dp, scratch] = k.params;
      const { i32, f32 } = k;
      const limit = k.local('i32'), iou = k.local('f32'), thr = k.local('f32');
      const total = k.local('i32'), kept = k.local('i32'), best = k.local('i32'), bestScore = k.local('f32'), sc = k.local('f32'), keep = k.local('i32');
      const taken = (s: Expr) => i32.add(scratch.get(), s);
      const keptAt = (j: Expr) => i32.add(i32.add(scratch.get(), k.c32(S)), i32.shl(j, k.c32(2)));
      const suppress = suppressFn(k, center);
      const classLoop = (b: Local, c: Local): Expr[] => {
        const done = k.w.nextLabel('nms_done'), next = k.w.nextLabel('nms_next');
        const scoreAt = (s: Expr) => f32.load(0, 4, i32.add(sp.get(), i32.shl(i32.add(i32.mul(i32.add(i32.mul(b.get(), k.c32(C)), c.get()), k.c32(S)), s), k.c32(2))));
        const boxAt = (s: Expr) => i32.add(bp.get(), i32.shl(i32.add(i32.mul(b.get(), k.c32(S)), s), k.c32(4)));
        return [
          k.fill(scratch.get(), 0, S),
          kept.set(k.c32(0)),
          k.m.block(done, [k.m.loop(next, k.block([
            k.m.br(done, i32.ge_s(kept.get(), limit.get())),
            best.set(k.c32(-1)),
            k.loop(0, S, (s) => k.if(i32.eqz(i32.load8_u(0, 1, taken(s.get()))), [
              sc.set(scoreAt(s.get())),
              k.if(i32.and(f32.gt(sc.get(), thr.get()), i32.or(i32.lt_s(best.get(), k.c32(0)), f32.gt(sc.get(), bestScore.get()))),
                [best.set(s.get()), bestScore.set(sc.get())]),
            ])),
            k.m.br(done, i32.lt_s(best.get(), k.c32(0))),
            i32.store8(0, 1, taken(best.get()), k.c32(1)),
            keep.set(k.c32(1)),
            k.dynLoop(k.c32(0), kept.get(), (j) => k.if(
              k.call(suppress, [boxAt(best.get()), boxAt(i32.load(0, 4, keptAt(j.get()))), iou.get()], 'i32'), keep.set(k.c32(0)))),
            k.if(keep.get(), [
              i32.store(0, 4, keptAt(kept.get()), best.get()),
              kept.set(i32.add(kept.get(), k.c32(1))),
              ...[b.get(), c.get(), best.get()].map((v, f) => k.i64.store(8 * f, 8, i32.add(yp.get(), i32.mul(total.get(), k.c32(24))), k.i64.extend_u(v))),
              total.set(i32.add(total.get(), k.c32(1))),
            ]),
            k.m.br(next),
          ]))]),
        ];
      };
      return [
        // A run-time max_output_boxes_per_class is capped at the box count (the bound the buffer is planned for).
        limit.set(maxOut ? k.select(k.i64.lt_s(k.i64.load(0, 8, mp.get()), k.c64(perClass)), i32.wrap(k.i64.load(0, 8, mp.get())), k.c32(perClass)) : k.c32(0)),
        iou.set(iouIn ? f32.load(0, 4, ip.get()) : k.cf32(0)),
        thr.set(scoreIn ? f32.load(0, 4, tp.get()) : k.cf32(-Infinity)),
        total.set(k.c32(0)),
        k.loop(0, B, (b) => k.loop(0, C, (c) => classLoop(b, c))),
        // rows past the count are zeros: nodes reading the rows within the bound see valid indices
        k.dynLoop(total.get(), k.c32(B * C * perClass), (r) => k.fill(i32.add(yp.get(), i32.mul(r.get(), k.c32(24))), 0, 24)),
        i32.store(0, 4, dp.get(), total.get()),
        i32.store(4, 4, dp.get(), k.c32(3)),
      ];
    });
    const ptr = (i: number) => ctx.inputs[i]?.ptr ?? 0;
    ctx.call(fn, [ptr(0), ptr(1), ptr(2), ptr(3), ptr(4), ctx.outputs[0].ptr, ctx.dims(0), ctx.scratch()]);
  },
});

/** suppress(a, b, iou_threshold): whether boxes a and b overlap by more than the threshold (zero-area boxes never do). */
function suppressFn(k: Kernel, center: boolean): string {
  const name = `nms_suppress_${center ? 'center' : 'corners'}`;
  k.w.addFunction(name, ['i32', 'i32', 'f32'], 'i32', (q) => {
    const [pa, pb, thr] = q.params;
    const { f32 } = q;
    const [ay0, ax0, ay1, ax1, by0, bx0, by1, bx1] = Array.from({ length: 8 }, () => q.local('f32'));
    const load = (p: Local, i: number) => f32.load(4 * i, 4, p.get());
    const corners = (p: Local, y0: Local, x0: Local, y1: Local, x1: Local): Expr[] => center
      // [x_center, y_center, width, height]
      ? [x0.set(f32.sub(load(p, 0), f32.mul(load(p, 2), q.cf32(0.5)))), x1.set(f32.add(load(p, 0), f32.mul(load(p, 2), q.cf32(0.5)))),
        y0.set(f32.sub(load(p, 1), f32.mul(load(p, 3), q.cf32(0.5)))), y1.set(f32.add(load(p, 1), f32.mul(load(p, 3), q.cf32(0.5))))]
      // [y1, x1, y2, x2], either corner first
      : [y0.set(f32.min(load(p, 0), load(p, 2))), y1.set(f32.max(load(p, 0), load(p, 2))),
        x0.set(f32.min(load(p, 1), load(p, 3))), x1.set(f32.max(load(p, 1), load(p, 3)))];
    const areaA = q.local('f32'), areaB = q.local('f32'), ih = q.local('f32'), iw = q.local('f32'), inter = q.local('f32');
    return [
      ...corners(pa, ay0, ax0, ay1, ax1),
      ...corners(pb, by0, bx0, by1, bx1),
      areaA.set(f32.mul(f32.sub(ay1.get(), ay0.get()), f32.sub(ax1.get(), ax0.get()))),
      areaB.set(f32.mul(f32.sub(by1.get(), by0.get()), f32.sub(bx1.get(), bx0.get()))),
      q.if(q.i32.or(f32.le(areaA.get(), q.cf32(0)), f32.le(areaB.get(), q.cf32(0))), q.return(q.c32(0))),
      ih.set(f32.sub(f32.min(ay1.get(), by1.get()), f32.max(ay0.get(), by0.get()))),
      iw.set(f32.sub(f32.min(ax1.get(), bx1.get()), f32.max(ax0.get(), bx0.get()))),
      q.if(q.i32.or(f32.le(ih.get(), q.cf32(0)), f32.le(iw.get(), q.cf32(0))), q.return(q.c32(0))),
      inter.set(f32.mul(ih.get(), iw.get())),
      f32.gt(f32.div(inter.get(), f32.sub(f32.add(areaA.get(), areaB.get()), inter.get())), thr.get()),
    ];
  });
  return name;
}
