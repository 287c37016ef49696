// BatchNormalization. Inference: y = (x - mean) / sqrt(var + eps) * scale + B per channel, as one
// multiply-add per element (a = scale / sqrt(var + eps), b = B - mean * a, computed per channel at run time
// so that computed statistics work too). Training mode (training_mode=1 from opset 14, or the extra
// outputs before it) normalizes with the batch's own statistics and also writes the running mean/var.
// Before opset 9, spatial=0 means per-element statistics over C x D1 x ... (flattened here to channels).

import type { Expr, Local } from '../codegen/wasm.js';
import { DTYPE_SIZE, FLOATS, type DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import { floatType } from './norm-kernel.js';
import { defineOp, type BaseCtx } from './types.js';

interface BnAttrs { epsilon: number; momentum: number; training: boolean; spatial: boolean }

/** [batch, channels, elements per channel] under the spatial rule. */
function layout(ctx: BaseCtx<BnAttrs>, shape: number[]): [number, number, number] {
  if (shape.length === 0) ctx.fail('X must have at least one dim');
  const N = shape[0];
  const C = shape.length > 1 ? shape[1] : 1;
  const S = numel(shape.slice(2));
  return ctx.attrs.spatial ? [N, C, S] : [N, C * S, 1];
}

export const BatchNormalization = defineOp<BnAttrs>({
  op: 'BatchNormalization', since: 1, dtypes: FLOATS, inPlace: true,
  notes: 'training mode computes batch statistics and running_mean/var; the saved_mean/saved_var outputs of opsets < 14 are not supported',
  attrs: (a, opset, node) => ({
    epsilon: a.float('epsilon', 1e-5),
    momentum: a.float('momentum', 0.9),
    training: opset >= 14 ? a.int('training_mode', 0) !== 0 : node.outputs.filter(Boolean).length > 1,
    spatial: opset < 9 ? a.int('spatial', 1) !== 0 : true,
  }),
  infer(ctx) {
    const x = ctx.inputs[0]!;
    if (!FLOATS.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported (float types only)`);
    const [, C] = layout(ctx, x.shape);
    for (let i = 1; i <= 4; i++) {
      const p = ctx.inputs[i];
      if (!p) ctx.fail(`input ${i} is required`);
      if (numel(p!.shape) !== C) ctx.fail(`input ${i} has ${numel(p!.shape)} elements; expected ${C}`);
      if (!FLOATS.includes(p!.dtype)) ctx.fail(`input ${i} has dtype ${p!.dtype}; float types only`);
    }
    const stat = { dtype: ctx.inputs[3]!.dtype, shape: ctx.inputs[3]!.shape };
    // opset < 14 training outputs: mean, var, saved_mean, saved_var (the saved ones are not computed)
    if (ctx.attrs.training && ctx.opset < 14 && ctx.node.outputs.slice(3).some(Boolean)) ctx.fail('the saved_mean/saved_var training outputs are not supported');
    return [{ dtype: x.dtype, shape: x.shape }, stat, stat];
  },
  emit(ctx) {
    const x = ctx.inputs[0]!, y = ctx.outputs[0];
    const [N, C, S] = layout(ctx, x.shape);
    if (!numel(x.shape)) return;
    const [scale, bias, mean, vari] = [1, 2, 3, 4].map((i) => ctx.inputs[i]!);
    const runMean = ctx.attrs.training ? ctx.outputs[1] : undefined, runVar = ctx.attrs.training ? ctx.outputs[2] : undefined;
    const dt = x.dtype, t = floatType(dt), esz = DTYPE_SIZE[dt];
    const ftype = t === 'f64' ? 'float64' : 'float32';
    const { epsilon, momentum, training } = ctx.attrs;
    const vector = ctx.target === 'simd' && dt === 'float32' && y.dtype === 'float32' && S >= 4;
    const key = `bn:${dt}:${[scale, bias, mean, vari].map((p) => p.dtype)}:${N}x${C}x${S}:${epsilon}:${momentum}:${training}:${!!runMean}:${!!runVar}:${vector}`;
    const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [xp, sp, bp, mp, vp, yp, rmp, rvp] = k.params;
      const ns = t === 'f32' ? k.f32 : k.f64;
      const a = k.local(t), b = k.local(t), m = k.local(t), v = k.local(t), d = k.local(t), off = k.local('i32'), c = k.local('i32');
      const param = (dtp: DType, base: Local) => k.cast(k.load(dtp, k.i32.add(base.get(), k.i32.mul(c.get(), k.c32(DTYPE_SIZE[dtp])))), dtp, ftype);
      const storeParam = (dtp: DType, base: Local, value: Expr) => k.store(dtp, k.i32.add(base.get(), k.i32.mul(c.get(), k.c32(DTYPE_SIZE[dtp]))), k.cast(value, ftype, dtp));
      /** body(ptrOffset) for every element of channel c (byte offsets from the tensor start). */
      const eachElement = (body: (o: Local) => Expr[]) => k.loop(0, N, (n) => [
        off.set(k.i32.mul(k.i32.add(k.i32.mul(n.get(), k.c32(C * S)), k.i32.mul(c.get(), k.c32(S))), k.c32(esz))),
        k.loop(0, S, () => [...body(off), off.set(k.i32.add(off.get(), k.c32(esz)))]),
      ]);
      const xAt = (o: Local) => k.load(dt, k.i32.add(xp.get(), o.get()));
      const count = N * S;
      const stats: Expr[] = training ? [
        m.set(k.const(t, 0)),
        eachElement((o) => [m.set(ns.add(m.get(), xAt(o)))]),
        m.set(ns.div(m.get(), k.const(t, count))),
        v.set(k.const(t, 0)),
        eachElement((o) => [d.set(ns.sub(xAt(o), m.get())), v.set(ns.add(v.get(), ns.mul(d.get(), d.get())))]),
        v.set(ns.div(v.get(), k.const(t, count))),
        runMean ? storeParam(runMean.dtype, rmp, ns.add(ns.mul(param(mean.dtype, mp), k.const(t, momentum)), ns.mul(m.get(), k.const(t, 1 - momentum)))) : k.nop(),
        runVar ? storeParam(runVar.dtype, rvp, ns.add(ns.mul(param(vari.dtype, vp), k.const(t, momentum)), ns.mul(v.get(), k.const(t, 1 - momentum)))) : k.nop(),
      ] : [m.set(param(mean.dtype, mp)), v.set(param(vari.dtype, vp))];
      const S4 = vector ? S - (S % 4) : 0, S16 = vector ? S - (S % 16) : 0;
      const va = S4 ? k.local('v128') : undefined, vb = S4 ? k.local('v128') : undefined;
      const apply = k.loop(0, N, (n) => {
        const at = (base: Local, j: Local) => k.i32.add(base.get(), k.i32.add(off.get(), k.i32.mul(j.get(), k.c32(esz))));
        // y = x * a + b on the 4 lanes at element j plus `o` bytes
        const affine4 = (j: Local, o: number, a4: Local, b4: Local) =>
          k.v128.store(o, 4, at(yp, j), k.f32x4.add(k.f32x4.mul(k.v128.load(o, 4, at(xp, j)), a4.get()), b4.get()));
        return [
          off.set(k.i32.mul(k.i32.add(k.i32.mul(n.get(), k.c32(C * S)), k.i32.mul(c.get(), k.c32(S))), k.c32(esz))),
          va && vb ? k.loop(0, S16, (j) => [0, 16, 32, 48].map((o) => affine4(j, o, va, vb)), 16) : k.nop(),
          va && vb ? k.loop(S16, S4, (j) => affine4(j, 0, va, vb), 4) : k.nop(),
          k.loop(S4, S, (j) => k.store(y.dtype, at(yp, j), k.cast(ns.add(ns.mul(k.cast(k.load(dt, at(xp, j)), dt, ftype), a.get()), b.get()), ftype, y.dtype))),
        ];
      });
      return k.for(c, 0, C, 1, () => [
        ...stats,
        a.set(ns.div(param(scale.dtype, sp), ns.sqrt(ns.add(v.get(), k.const(t, epsilon))))),
        b.set(ns.sub(param(bias.dtype, bp), ns.mul(m.get(), a.get()))),
        va && vb ? k.block([va.set(k.f32x4.splat(a.get())), vb.set(k.f32x4.splat(b.get()))]) : k.nop(),
        apply,
      ]);
    });
    ctx.call(fn, [x.ptr, scale.ptr, bias.ptr, mean.ptr, vari.ptr, y.ptr, runMean?.ptr ?? 0, runVar?.ptr ?? 0]);
  },
});
