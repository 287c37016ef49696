// ConvTranspose: any number of spatial dims, groups, strides, dilations, pads, output_padding, output_shape and
// auto_pad. float32 with constant weights runs on the fast Conv kernels:
//  - stride 1 everywhere: it is a Conv with the kernel flipped and input/output channels swapped, padded by
//    dilation*(k-1) - pad, so it takes Conv's variants (Winograd, depthwise, pointwise, im2col + GEMM);
//  - otherwise: the shared GEMM computes every tap's contribution, col2im adds them into the output
//    (conv-transpose-gemm.ts).
// Both fuse bias, activation and residual Add as Conv does. Other dtypes and weights computed at run time use a
// direct loop: each output element gathers the input positions whose scattered taps land on it
// (i = (o + pad - k*dilation) / stride when that division is exact and in range).

import { readFused, type FusedAttrs } from '../codegen/gemm.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { DTYPE_SIZE, FLOATS } from '../src/ir/dtype.js';
import { makeTensor, numel, type Tensor } from '../src/ir/graph.js';
import { Conv, fastF32, unlessEmpty } from './conv.js';
import { checkAxes, liftTo2d, readConvAttrs, type ConvAttrs, type ConvGeometry } from './conv-geometry.js';
import { convTransposeScratch, emitConvTransposeGemm, planConvTranspose } from './conv-transpose-gemm.js';
import { defineOp, type EmitCtx, type InferCtx, type InputInfo, type KernelVariant, type Operand, type VariantCtx } from './types.js';

interface Attrs extends ConvAttrs, FusedAttrs {
  outputPadding?: number[];
  outputShape?: number[];
}

function geometry(ctx: InferCtx<Attrs>, inSize: number[], kernel: number[]): ConvGeometry {
  const a = ctx.attrs;
  const rank = inSize.length;
  checkAxes(a, rank, kernel, ctx.fail);
  const strides = a.strides ?? inSize.map(() => 1);
  const dilations = a.dilations ?? inSize.map(() => 1);
  const outPad = a.outputPadding ?? inSize.map(() => 0);
  if (outPad.length !== rank) ctx.fail(`output_padding [${outPad}] must have ${rank} values`);
  outPad.forEach((p, i) => { if (p < 0 || (p >= strides[i] && p >= dilations[i])) ctx.fail(`output_padding ${p} must be less than the stride or the dilation`); });
  let wanted = a.outputShape;
  if (wanted && wanted.length === rank + 2) wanted = wanted.slice(2);
  if (wanted && wanted.length !== rank) ctx.fail(`output_shape [${a.outputShape}] must have ${rank} spatial values`);
  const padBegin: number[] = [], padEnd: number[] = [], outSize: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dk = (kernel[i] - 1) * dilations[i] + 1;
    const full = strides[i] * (inSize[i] - 1) + outPad[i] + dk;
    let out: number, pb: number;
    if (wanted || a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') {
      out = wanted ? wanted[i] : inSize[i] * strides[i];
      const total = full - out;
      // the spec's split: SAME_UPPER puts the odd unit at the end, otherwise at the beginning
      pb = a.autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    } else {
      const pads = a.autoPad === 'VALID' ? undefined : a.pads;
      pb = pads ? pads[i] : 0;
      out = full - pb - (pads ? pads[i + rank] : 0);
    }
    if (out < 1) ctx.fail(`output size along spatial axis ${i} would be ${out}`);
    padBegin.push(pb); padEnd.push(full - pb - out); outSize.push(out);
  }
  return { inSize, kernel, outSize, strides, dilations, padBegin, padEnd };
}

export const ConvTranspose = defineOp<Attrs>({
  op: 'ConvTranspose', since: 1, dtypes: FLOATS,
  notes: 'float32 with constant weights: stride 1 as the equivalent Conv (its variants), otherwise packed-weight GEMM + col2im; fused activation and residual. Other cases: a direct gather loop',
  attrs: (a) => ({
    ...readConvAttrs(a),
    ...readFused(a),
    outputPadding: a.has('output_padding') ? a.ints('output_padding') : undefined,
    outputShape: a.has('output_shape') ? a.ints('output_shape') : undefined,
  }),
  infer(ctx) {
    const [x, w, b] = ctx.inputs;
    if (!x || !w) ctx.fail('ConvTranspose needs inputs X and W');
    if (!FLOATS.includes(x!.dtype) || w!.dtype !== x!.dtype || (b && b.dtype !== x!.dtype)) ctx.fail('X, W and B must have the same float dtype');
    if (x!.shape.length < 3 || w!.shape.length !== x!.shape.length) ctx.fail(`X [${x!.shape}] and W [${w!.shape}] must have the same rank >= 3`);
    const { group } = ctx.attrs;
    const [batch, cin] = x!.shape;
    if (w!.shape[0] !== cin) ctx.fail(`W has ${w!.shape[0]} input channels, X has ${cin}`);
    if (cin % group !== 0) ctx.fail(`${cin} input channels do not divide into ${group} groups`);
    const M = w!.shape[1] * group;
    if (b && (b.shape.length !== 1 || b.shape[0] !== M)) ctx.fail(`B must have shape [${M}]`);
    const g = geometry(ctx, x!.shape.slice(2), w!.shape.slice(2));
    const out = [batch, M, ...g.outSize];
    const r = ctx.attrs.residual;
    if (r >= 0 && (ctx.inputs[r]?.shape.join() !== out.join() || x!.dtype !== 'float32')) ctx.fail('fused residual must be float32 with the output shape');
    return [{ dtype: x!.dtype, shape: out }];
  },
  variants: [
    // stride 1: the equivalent Conv, on whichever of Conv's fast kernels it picks
    ...Conv.variants!.filter((v) => v.name !== 'im2col-loop').map((v): KernelVariant<Attrs> => ({
      name: `conv-${v.name}`,
      applies: (ctx) => { const c = asConv(ctx); return !!c && v.applies(c); },
      scratch: v.scratch && ((ctx) => v.scratch!(asConv(ctx)!)),
      emit: unlessEmpty((ctx) => v.emit(asConv(ctx)!)),
    })),
    {
      name: 'gemm-col2im',
      applies: fastF32,
      scratch: (ctx) => convTransposeScratch(planOf(ctx)),
      emit: unlessEmpty((ctx) => emitConvTransposeGemm(ctx, planOf(ctx), ctx.attrs.residual >= 0 ? ctx.inputs[ctx.attrs.residual] : undefined)),
    },
    {
      // other float dtypes, weights computed at run time
      name: 'direct',
      applies: () => true,
      emit: unlessEmpty((ctx) => {
        if (ctx.attrs.act.kind !== 'none' || ctx.attrs.residual >= 0) ctx.fail('internal: fused epilogue on a non-float32 or dynamic-weight ConvTranspose');
        emitDirect(ctx);
      }),
    },
  ],
});

type AnyCtx = InferCtx<Attrs> | EmitCtx<Attrs>;

function planOf(ctx: AnyCtx) {
  const [x, w] = ctx.inputs as InputInfo[];
  const g = geometry(ctx as InferCtx<Attrs>, x.shape.slice(2), w.shape.slice(2));
  return planConvTranspose(liftTo2d(g), x.shape[0], x.shape[1], w.shape[1] * ctx.attrs.group, ctx.attrs.group);
}

/** Flipped, channel-swapped weights per ConvTranspose weight tensor (variant conditions, scratch and emit ask). */
const convWeights = new WeakMap<Tensor, Tensor>();

/**
 * W [Cin][Cout/group][k...] -> the equivalent Conv's W' [Cout][Cin/group][k...]:
 * W'[g*mg + m][ci][kk] = W[g*cg + ci][m][KK-1-kk] (reversing the flat kernel index flips every axis).
 */
function flippedWeights(w: Tensor, group: number): Tensor {
  let t = convWeights.get(w);
  if (t) return t;
  const [cin, mg, ...kernel] = w.shape as number[];
  const cg = cin / group, KK = numel(kernel);
  const src = w.data as Float32Array, dst = new Float32Array(src.length);
  for (let g = 0; g < group; g++) for (let m = 0; m < mg; m++) for (let ci = 0; ci < cg; ci++) {
    const from = ((g * cg + ci) * mg + m) * KK, to = ((g * mg + m) * cg + ci) * KK;
    for (let kk = 0; kk < KK; kk++) dst[to + kk] = src[from + KK - 1 - kk];
  }
  t = makeTensor('float32', [mg * group, cg, ...kernel], dst);
  convWeights.set(w, t);
  return t;
}

/**
 * With stride 1 on every axis, y[o] = sum_k x[o + pad - k*d] W[k] is a Conv over the flipped kernel with begin
 * padding d*(k-1) - pad and end padding chosen to give the same output size: this node seen as that Conv (same
 * target, scratch, fused epilogue), or undefined when the strides or the pads rule it out.
 */
function asConv<C extends VariantCtx<Attrs> | EmitCtx<Attrs>>(ctx: C): C | undefined {
  if (!fastF32(ctx)) return undefined;
  const [x, w] = ctx.inputs as InputInfo[];
  const g = geometry(ctx as InferCtx<Attrs>, x.shape.slice(2), w.shape.slice(2));
  if (g.strides.some((s) => s !== 1)) return undefined;
  const begin = g.kernel.map((k, i) => (k - 1) * g.dilations[i] - g.padBegin[i]);
  const end = g.outSize.map((o, i) => o - g.inSize[i] + g.padBegin[i]);
  if ([...begin, ...end].some((p) => p < 0)) return undefined;
  const wt = flippedWeights(w.const!, ctx.attrs.group);
  let ptr: number | undefined;
  const emitting = 'data' in ctx;
  const wConv = {
    name: `${w.name}#flipped`, dtype: w.dtype, shape: wt.shape as number[], const: wt,
    get ptr() { return (ptr ??= emitting ? (ctx as EmitCtx<Attrs>).data(new Uint8Array(wt.data.buffer, wt.data.byteOffset, wt.data.byteLength)) : -1); },
  };
  const attrs: Attrs = {
    ...ctx.attrs, autoPad: 'NOTSET', pads: [...begin, ...end], strides: g.strides, dilations: g.dilations,
    kernelShape: undefined, outputPadding: undefined, outputShape: undefined,
  };
  const inputs = [...ctx.inputs];
  inputs[1] = wConv as Operand;
  return { ...ctx, attrs, inputs } as C;
}

function emitDirect(ctx: EmitCtx<Attrs>): void {
  const [x, w, b] = ctx.inputs as (Operand | undefined)[];
  const y = ctx.outputs[0];
  const dt = x!.dtype;
  const e = DTYPE_SIZE[dt];
  const t = computeType(dt);
  const g = geometry(ctx as unknown as InferCtx<Attrs>, x!.shape.slice(2), w!.shape.slice(2));
  const [batch, cin] = x!.shape;
  const group = ctx.attrs.group;
  const cg = cin / group, mg = w!.shape[1], M = mg * group;
  const D = g.inSize.length;
  const inPlane = numel(g.inSize), outPlane = numel(g.outSize), kPlane = numel(g.kernel);
  const key = `convtranspose:${dt}:${JSON.stringify(g)}:${batch}:${cin}:${group}:${mg}:${!!b}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, wp, bp, yp] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const ns = k[t as 'f32'] as Kernel['f32'];
    const n = k.local('i32'), oc = k.local('i32'), op = k.local('i32'), c = k.local('i32'), kp = k.local('i32');
    const gi = k.local('i32'), m = k.local('i32'), rem = k.local('i32'), num = k.local('i32'), valid = k.local('i32'), inOff = k.local('i32');
    const acc = k.local(t), yPtr = k.local('i32');
    const o = g.outSize.map(() => k.local('i32'));
    const kk = g.kernel.map(() => k.local('i32'));
    const decompose = (flat: Expr, sizes: number[], into: typeof o): Expr[] => {
      const s: Expr[] = [rem.set(flat)];
      for (let a = D - 1; a >= 0; a--) s.push(into[a].set(i32.rem_u(rem.get(), c32(sizes[a]))), rem.set(i32.div_u(rem.get(), c32(sizes[a]))));
      return s;
    };
    const tap: Expr[] = [...decompose(kp.get(), g.kernel, kk), valid.set(c32(1)), inOff.set(c32(0))];
    for (let a = 0; a < D; a++) {
      tap.push(
        num.set(i32.sub(i32.add(o[a].get(), c32(g.padBegin[a])), i32.mul(kk[a].get(), c32(g.dilations[a])))),
        valid.set(i32.and(valid.get(), i32.and(i32.ge_s(num.get(), c32(0)), i32.eqz(i32.rem_s(num.get(), c32(g.strides[a])))))),
        num.set(i32.div_s(num.get(), c32(g.strides[a]))),
        valid.set(i32.and(valid.get(), i32.lt_s(num.get(), c32(g.inSize[a])))),
        inOff.set(i32.add(i32.mul(inOff.get(), c32(g.inSize[a])), num.get())),
      );
    }
    const xAt = i32.add(i32.mul(i32.add(i32.mul(n.get(), c32(cin)), i32.add(i32.mul(gi.get(), c32(cg)), c.get())), c32(inPlane)), inOff.get());
    const wAt = i32.add(i32.mul(i32.add(i32.mul(i32.add(i32.mul(gi.get(), c32(cg)), c.get()), c32(mg)), m.get()), c32(kPlane)), kp.get());
    tap.push(k.if(valid.get(), acc.set(ns.add(acc.get(), ns.mul(
      k.load(dt, i32.add(xp.get(), i32.mul(xAt, c32(e)))),
      k.load(dt, i32.add(wp.get(), i32.mul(wAt, c32(e)))))))));
    const perOutput: Expr[] = [
      acc.set(b ? k.load(dt, i32.add(bp.get(), i32.mul(oc.get(), c32(e)))) : k.const(t, 0)),
      ...decompose(op.get(), g.outSize, o),
      k.for(c, 0, cg, 1, () => k.for(kp, 0, kPlane, 1, () => tap)),
      k.store(dt, yPtr.get(), acc.get()),
      yPtr.set(i32.add(yPtr.get(), c32(e))),
    ];
    return [
      yPtr.set(yp.get()),
      k.for(n, 0, batch, 1, () => k.for(oc, 0, M, 1, () => [
        gi.set(i32.div_u(oc.get(), c32(mg))),
        m.set(i32.rem_u(oc.get(), c32(mg))),
        k.for(op, 0, outPlane, 1, () => perOutput),
      ])),
    ];
  });
  ctx.call(fn, [x!.ptr, w!.ptr, b?.ptr ?? 0, y.ptr]);
}
