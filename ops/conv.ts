// Conv: any number of spatial dims, groups, strides, dilations, pads, auto_pad, optional bias.
// float32 with constant weights (the models' case) has five fast paths, all reading weights packed at compile
// time: Winograd F(2x2, 3x3) and F(2x2, 5x5) for 3x3 / 5x5 stride-1 layers with many outputs on 'simd'
// (conv-winograd.ts), the same over the s x s-blocked input for large strides such as 11x11 stride 4 on 'simd'
// (conv-space-to-depth.ts), depthwise 2-D (a direct f32x4 kernel over a zero-padded copy of each channel),
// pointwise (the input already is the GEMM's B matrix, read in place) and the general case (im2col of a few output
// rows into a scratch tile that the shared GEMM reads). Other dtypes, and weights computed at run time, use im2col + a
// plain loop. (Packing B into panels first was measured 3-10% slower than reading these rows directly.)
// Fused epilogues (activation, residual add) come from src/passes/fuse-*.ts.

import { applyActivation, applyActivationScalar, callGemm, gemmKernel, gemmNR, lanes, MR, packA, packBias, readFused, type FusedAttrs } from '../codegen/gemm.js';
import { chunkRange, forRange, im2col } from '../codegen/im2col.js';
import { computeType, type Expr, type Kernel, type Local, type Target } from '../codegen/wasm.js';
import { DTYPE_SIZE, FLOATS, type DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import { convGeometry, liftTo2d, readConvAttrs, type ConvAttrs, type ConvGeometry } from './conv-geometry.js';
import { emitSpaceToDepth, spaceToDepthPlan } from './conv-space-to-depth.js';
import { emitWinograd, winogradPlan, WINOGRAD_SCHEMES, type WinogradScheme } from './conv-winograd.js';
import { ensureSlack } from './matmul.js';
import { defineOp, type EmitCtx, type InferCtx, type InputInfo, type KernelVariant, type Operand, type VariantCtx } from './types.js';

type Attrs = ConvAttrs & FusedAttrs;

/** Bytes of one im2col tile: keeps it within L2 while the GEMM reads it. */
const CHUNK_BYTES = 1 << 20;

/** Everything the emitters need, derived once from shapes and attributes. */
interface ConvPlan {
  geo: ConvGeometry;
  batch: number; cin: number; cout: number; group: number;
  /** Per group: input channels, output channels, GEMM depth. */
  cg: number; mg: number; K: number;
  inPlane: number; outPlane: number;
  /** Output rows (all spatial axes but the last, flattened) and the last axis' size. */
  rows: number; ow: number;
  pointwise: boolean;
  /** Output rows per im2col chunk, and the chunk count (pointwise: one chunk of all columns). */
  chunk: number; chunks: number;
  /** Row stride (in elements) of the im2col tile: whole panels plus one of slack for the GEMM's over-read. */
  colsPad: number;
}

/** Chunks are planned for 8-column panels on both targets, so scratch() (which does not know the target) agrees. */
function planConv(ctx: InferCtx<Attrs> | EmitCtx<Attrs>, allowPointwise: boolean): ConvPlan {
  const nr = 8;
  const x = ctx.inputs[0]!, w = ctx.inputs[1]!;
  const { group } = ctx.attrs;
  const [batch, cin, ...inSize] = x.shape;
  const [cout, cg, ...kernel] = w.shape;
  // 1-D runs as 2-D with a height of 1, so that it shares the 2-D kernels (the im2col, the depthwise kernel).
  const geo = liftTo2d(convGeometry(ctx.attrs, inSize, kernel, ctx.fail));
  const mg = cout / group;
  const K = cg * numel(kernel);
  const inPlane = numel(inSize), outPlane = numel(geo.outSize);
  const ow = geo.outSize[geo.outSize.length - 1];
  const rows = outPlane / ow;
  // Pointwise reads the input in place, rows a plane apart. When that stride puts a B panel's rows in too few
  // cache sets (a 64x64 plane is 16 KB: all in one) and many row blocks reuse the panel, the im2col path copies
  // them to a spreading stride instead (with few row blocks, the copy costs more than the misses).
  const pointwise = allowPointwise && kernel.every((k) => k === 1) && geo.strides.every((s) => s === 1) && geo.padBegin.every((p) => p === 0) && geo.padEnd.every((p) => p === 0)
    && (l1Lines(inPlane * 4) >= 2 * Math.min(cg, 512) || mg <= 8 * MR);
  const maxCols = Math.max(nr, Math.floor(CHUNK_BYTES / (4 * Math.max(K, 1)) / nr) * nr);
  const chunk = pointwise ? rows : Math.max(1, Math.min(rows, Math.floor(maxCols / ow)));
  const chunks = Math.ceil(rows / chunk);
  const colsPad = setSpreadingStride((Math.ceil((chunk * ow) / nr) + 1) * nr);
  return { geo, batch, cin, cout, group, cg, mg, K, inPlane, outPlane, rows, ow, pointwise, chunk, chunks, colsPad };
}

/**
 * A row stride (floats, a multiple of 8) of 16 x an odd number: the GEMM walks a B panel down its rows, and rows
 * a multiple of 128 bytes apart map to a fraction of the L1 cache's sets (2 KB apart: 2 of its 64), evicting the
 * panel before the next row block reuses it.
 */
export function setSpreadingStride(floats: number): number {
  return floats % 32 === 16 ? floats : floats + (floats % 32 < 16 ? 16 - (floats % 32) : 48 - (floats % 32));
}

/** L1 lines (64-byte lines, 64 sets of 8 ways) that rows this many bytes apart can occupy together. */
function l1Lines(strideBytes: number): number {
  if (strideBytes % 64 !== 0) return 512;
  let sets = 64;
  for (let q = (strideBytes / 64) % 64; q % 2 === 0 && sets > 1; q /= 2) sets /= 2;
  return sets * 8;
}

function isDepthwise(p: ConvPlan, target: Target): boolean {
  return p.geo.inSize.length === 2 && p.cg === 1 && p.mg === 1 && (target === 'scalar' || p.geo.strides[1] <= 2) && p.K <= 64;
}

/** The fast float32 paths apply (constant weights and bias; ConvTranspose's too). */
export const fastF32 = (ctx: { inputs: (InputInfo | undefined)[] }) =>
  ctx.inputs[0]!.dtype === 'float32' && !!ctx.inputs[1]!.const && (!ctx.inputs[2] || !!ctx.inputs[2].const);

const planOf = (ctx: VariantCtx<Attrs> | EmitCtx<Attrs>) => planConv(ctx, fastF32(ctx));
const winogradOf = (ctx: VariantCtx<Attrs> | EmitCtx<Attrs>, s: WinogradScheme) => { const p = planOf(ctx); return winogradPlan(s, p.geo, p.batch, p.cin, p.cout, p.group); };

const spaceToDepthOf = (ctx: VariantCtx<Attrs> | EmitCtx<Attrs>) => { const p = planOf(ctx); return spaceToDepthPlan(p.geo, p.batch, p.cin, p.cout, p.group); };
/** A Winograd F(2x2, rxr) variant ('simd' only: the scalar target runs the direct paths). */
const winogradVariant = (s: WinogradScheme): KernelVariant<Attrs> => ({
  name: `winograd-${s.name}`,
  applies: (ctx) => fastF32(ctx) && ctx.has('simd128') && !!winogradOf(ctx, s),
  scratch: (ctx) => winogradOf(ctx, s)!.scratch,
  emit: unlessEmpty((ctx) => emitWinograd(ctx, winogradOf(ctx, s)!, {
    x: ctx.inputs[0]!.ptr, weights: ctx.inputs[1]!.const!.data as Float32Array, b: ctx.inputs[2], res: residualOf(ctx), scratch: ctx.scratch(),
  })),
});

/** An empty output has nothing to compute. */
export const unlessEmpty = <A>(emit: (ctx: EmitCtx<A>) => void) => (ctx: EmitCtx<A>) => { if (numel(ctx.outputs[0].shape) > 0) emit(ctx); };

/** Conv's kernels, in priority order (see OpDef.variants). */
const CONV_VARIANTS: KernelVariant<Attrs>[] = [
  {
    name: 'depthwise',
    applies: (ctx) => fastF32(ctx) && isDepthwise(planOf(ctx), ctx.target),
    scratch(ctx) {
      const g = planOf(ctx).geo;
      const [H, W] = g.inSize;
      const hp = Math.max(H + g.padBegin[0], (g.outSize[0] - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilations[0] + 1);
      const wp = Math.max(W + g.padBegin[1], (g.outSize[1] - 1) * g.strides[1] + (g.kernel[1] - 1) * g.dilations[1] + 1) + 8;
      return hp * wp * 4 + 64;
    },
    emit: unlessEmpty((ctx) => emitDepthwise(ctx, planOf(ctx))),
  },
  winogradVariant(WINOGRAD_SCHEMES[3]),
  winogradVariant(WINOGRAD_SCHEMES[5]),
  {
    // large strides (stems): the s x s-blocked input convolved by a 3x3 or 5x5 blocked kernel on Winograd
    name: 'space-to-depth-winograd',
    applies: (ctx) => fastF32(ctx) && ctx.has('simd128') && !!spaceToDepthOf(ctx),
    scratch: (ctx) => spaceToDepthOf(ctx)!.scratch,
    emit: unlessEmpty((ctx) => emitSpaceToDepth(ctx, spaceToDepthOf(ctx)!, ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2], residualOf(ctx))),
  },
  {
    name: 'pointwise-gemm',
    applies: (ctx) => fastF32(ctx) && planOf(ctx).pointwise,
    emit: unlessEmpty((ctx) => emitGemmConv(ctx, planOf(ctx), gemmNR(ctx.target))),
  },
  {
    name: 'im2col-gemm',
    applies: fastF32,
    scratch: (ctx) => { const p = planOf(ctx); return p.K * p.colsPad * 4 + 64; },
    emit: unlessEmpty((ctx) => emitGemmConv(ctx, planOf(ctx), gemmNR(ctx.target))),
  },
  {
    // other float dtypes, weights computed at run time
    name: 'im2col-loop',
    applies: () => true,
    scratch: (ctx) => { const p = planOf(ctx); return p.K * p.colsPad * DTYPE_SIZE[ctx.inputs[0]!.dtype] + 64; },
    emit: unlessEmpty((ctx) => {
      if (ctx.attrs.act.kind !== 'none' || ctx.attrs.residual >= 0) ctx.fail('internal: fused epilogue on a non-float32 or dynamic-weight Conv');
      emitGenericConv(ctx, planOf(ctx));
    }),
  },
];

export const Conv = defineOp<Attrs>({
  op: 'Conv', since: 1, dtypes: ['float32', 'float64', 'float16', 'bfloat16'],
  notes: 'float32: packed-weight SIMD GEMM (im2col / pointwise), Winograd F(2x2, 3x3) / F(2x2, 5x5) for 3x3 / 5x5 stride-1 layers with many outputs and, over the space-to-depth input, for large strides (simd; an infinite input gives NaN there) and a direct depthwise kernel; fused activation and residual',
  attrs: (a) => ({ ...readConvAttrs(a), ...readFused(a) }),
  infer(ctx) {
    const [x, w, b] = ctx.inputs;
    if (!x || !w) ctx.fail('Conv needs inputs X and W');
    if (!FLOATS.includes(x!.dtype)) ctx.fail(`dtype ${x!.dtype} is not supported (float types only)`);
    if (w!.dtype !== x!.dtype || (b && b.dtype !== x!.dtype)) ctx.fail('X, W and B must have the same dtype');
    if (x!.shape.length < 3) ctx.fail(`X must be N x C x D1 x ... (rank >= 3), got [${x!.shape}]`);
    if (w!.shape.length !== x!.shape.length) ctx.fail(`W [${w!.shape}] must have the rank of X [${x!.shape}]`);
    const { group } = ctx.attrs;
    const [batch, cin] = x!.shape;
    const [cout, cg] = w!.shape;
    if (group < 1 || cin % group !== 0 || cg * group !== cin) ctx.fail(`W has ${cg} input channels per group, X has ${cin} channels in ${group} groups`);
    if (cout % group !== 0) ctx.fail(`${cout} output channels do not divide into ${group} groups`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== cout)) ctx.fail(`B must have shape [${cout}], got [${b.shape}]`);
    const geo = convGeometry(ctx.attrs, x!.shape.slice(2), w!.shape.slice(2), ctx.fail);
    const out = [batch, cout, ...geo.outSize];
    const r = ctx.attrs.residual;
    if (r >= 0 && (ctx.inputs[r]?.shape.join() !== out.join() || x!.dtype !== 'float32')) ctx.fail('fused residual must be float32 with the output shape');
    return [{ dtype: x!.dtype, shape: out }];
  },
  variants: CONV_VARIANTS,
});

function residualOf(ctx: EmitCtx<Attrs>): Operand | undefined {
  return ctx.attrs.residual >= 0 ? ctx.inputs[ctx.attrs.residual] : undefined;
}

function emitGemmConv(ctx: EmitCtx<Attrs>, p: ConvPlan, nr: number): void {
  const [, w, b] = ctx.inputs as Operand[];
  const res = residualOf(ctx);
  const wData = w.const!.data as Float32Array;
  // Weights packed per group into MR-row panels; bias zero-padded per group.
  const aParts: Uint8Array[] = [], biasParts: Uint8Array[] = [];
  for (let g = 0; g < p.group; g++) {
    aParts.push(packA({ data: wData, rows: p.mg, cols: p.K, rs: p.K, cs: 1, offset: g * p.mg * p.K }).bytes);
    const bias = b?.const ? Array.from(b.const.data as Float32Array).slice(g * p.mg, (g + 1) * p.mg) : new Array(p.mg).fill(0);
    biasParts.push(packBias(bias, p.mg, MR));
  }
  const aGroup = aParts[0].length, biasGroup = biasParts[0].length;
  const wPtr = ctx.data(concat(aParts));
  const biasPtr = ctx.data(concat(biasParts));
  ensureSlack(ctx);
  const gemm = gemmKernel(ctx, { a: 'contig', bias: 'row', residual: !!res, act: ctx.attrs.act });
  const patches = p.pointwise ? undefined : im2col(ctx, { geo: p.geo, channels: p.cg, elemBytes: 4, rowBytes: p.colsPad * 4 });

  const key = `conv_gemm:${JSON.stringify(p)}:${gemm}:${ctx.target}`; // the geometry also keys the im2col call
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, wp, y, bias, r, scratch] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const n = k.local('i32'), g = k.local('i32'), ch = k.local('i32');
    const xg = k.local('i32'), yg = k.local('i32'), rg = k.local('i32'), col0 = k.local('i32'), ncols = k.local('i32');
    const r0 = k.local('i32'), rc = k.local('i32');
    // B is the input itself (pointwise: row k = channel k) or the im2col tile of this chunk.
    const b = p.pointwise
      ? { b: xg.get(), ldb: c32(p.inPlane * 4), pB: c32(nr * 4) }
      : { b: scratch.get(), ldb: c32(p.colsPad * 4), pB: c32(nr * 4) };
    const chunkBody: Expr[] = [
      ...chunkRange(k, ch, p, { r0, rc, col0, ncols }),
      patches ? patches(k, xg.get(), scratch.get(), r0.get(), rc.get()) : k.nop(),
      callGemm(k, gemm, {
        a: i32.add(wp.get(), i32.mul(g.get(), c32(aGroup))), sA: c32(MR * 4), pA: c32(p.K * MR * 4),
        ...b,
        c: i32.add(yg.get(), i32.shl(col0.get(), c32(2))), ldc: c32(p.outPlane * 4),
        M: c32(p.mg), N: ncols.get(), K: c32(p.K),
        bias: i32.add(bias.get(), i32.mul(g.get(), c32(biasGroup))),
        res: i32.add(rg.get(), i32.shl(col0.get(), c32(2))), ldres: c32(p.outPlane * 4),
      }),
    ];
    const groupBody: Expr[] = [
      xg.set(i32.add(x.get(), i32.mul(i32.add(i32.mul(n.get(), c32(p.cin)), i32.mul(g.get(), c32(p.cg))), c32(p.inPlane * 4)))),
      yg.set(i32.mul(i32.add(i32.mul(n.get(), c32(p.cout)), i32.mul(g.get(), c32(p.mg))), c32(p.outPlane * 4))),
      rg.set(i32.add(r.get(), yg.get())),
      yg.set(i32.add(y.get(), yg.get())),
      k.for(ch, 0, p.chunks, 1, () => chunkBody),
    ];
    return [k.for(n, 0, p.batch, 1, () => k.for(g, 0, p.group, 1, () => groupBody))];
  });
  ctx.call(fn, [ctx.inputs[0]!.ptr, wPtr, ctx.outputs[0].ptr, biasPtr, res?.ptr ?? 0, p.pointwise ? 0 : ctx.scratch()]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, q) => s + q.length, 0));
  let at = 0;
  for (const q of parts) { out.set(q, at); at += q.length; }
  return out;
}

/**
 * Depthwise 2-D (one input and one output channel per group): each channel is copied into a zero-padded plane,
 * then every output row is computed 4 columns at a time (stride 1: one load per tap; stride 2: two loads and a
 * shuffle), with the kernel taps splatted into locals once per channel.
 */
function emitDepthwise(ctx: EmitCtx<Attrs>, p: ConvPlan): void {
  const [, w, b] = ctx.inputs as Operand[];
  const res = residualOf(ctx);
  const g = p.geo;
  const [H, W] = g.inSize, [OH, OW] = g.outSize, [KH, KW] = g.kernel, [sh, sw] = g.strides, [dh, dw] = g.dilations;
  const [pt, pl] = g.padBegin;
  const hp = Math.max(H + pt, (OH - 1) * sh + (KH - 1) * dh + 1);
  const wp = Math.max(W + pl, (OW - 1) * sw + (KW - 1) * dw + 1) + 8;
  const C = p.cout;
  const wPtr = w.ptr;
  const biasPtr = b?.const ? b.ptr : ctx.data(new Uint8Array(C * 4));
  const act = ctx.attrs.act;
  const key = `conv_dw:${JSON.stringify(p.geo)}:${p.batch}:${C}:${!!res}:${JSON.stringify(act)}:${ctx.target}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const V = lanes(k);
    const [x, wt, y, bias, r, plane] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const nc = k.local('i32'), ih = k.local('i32'), oh = k.local('i32');
    const xc = k.local('i32'), yrow = k.local('i32'), rrow = k.local('i32'), wc = k.local('i32'), bc = k.local('i32');
    const taps: Local[] = Array.from({ length: KH * KW }, () => k.local(V.type));
    const acc = k.local(V.type), accS = k.local('f32');
    const fill = (bytes: number): Expr => (k.simd ? k.m.memory.fill(plane.get(), c32(0), c32(bytes)) : k.fill(plane.get(), 0, bytes));
    // Rows are short: an inline 4-wide copy beats a memory.copy call per row.
    const dstRow = k.local('i32'), srcRow = k.local('i32'), q = k.local('i32');
    const copyRow = (dst: Expr, src: Expr): Expr => {
      if (!k.simd) return k.copy(dst, src, W * 4);
      const at = (base: Local) => i32.add(base.get(), i32.shl(q.get(), c32(2)));
      const vec = W - (W % 4);
      return k.block([
        dstRow.set(dst), srcRow.set(src),
        k.for(q, 0, vec, 4, () => k.v128.store(0, 4, at(dstRow), k.v128.load(0, 4, at(srcRow)))),
        k.for(q, vec, W, 1, () => k.f32.store(0, 4, at(dstRow), k.f32.load(0, 4, at(srcRow)))),
      ]);
    };

    // The steps walk pointers (input px, output py, residual pr) and read every tap at a constant offset from px:
    // V8 folds a load's offset into the address, while an index computed per tap cost three integer
    // instructions per multiply-add (1-D k7, 128 channels, length 500: about 10% slower).
    const px = k.local('i32'), py = k.local('i32'), pr = k.local('i32'), pyEnd = k.local('i32');
    const tapOffset = (kh: number, kw: number) => (kh * dh * wp + kw * dw) * 4;
    /** Input vector at tap (kh, kw) for the L output columns at px. */
    const input = (kh: number, kw: number): Expr => {
      const o = tapOffset(kh, kw);
      if (!k.simd) return k.f32.load(o, 4, px.get());
      if (sw === 1) return k.v128.load(o, 4, px.get());
      // stride 2: even lanes of 8 consecutive values
      return k.i8x16.shuffle(k.v128.load(o, 4, px.get()), k.v128.load(o + 16, 4, px.get()), [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
    };
    const advance = (n: number): Expr[] => [
      px.set(i32.add(px.get(), c32(n * sw * 4))), py.set(i32.add(py.get(), c32(n * 4))), ...(res ? [pr.set(i32.add(pr.get(), c32(n * 4)))] : []),
    ];
    const vectorStep: Expr[] = [acc.set(V.loadSplat(bc.get()))];
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      vectorStep.push(acc.set(V.add(acc.get(), V.mul(taps[kh * KW + kw].get(), input(kh, kw)))));
    }
    if (res) vectorStep.push(acc.set(V.add(acc.get(), V.load(pr.get()))));
    vectorStep.push(V.store(py.get(), applyActivation(k, act, acc.get())), ...advance(V.L));
    // Scalar tail (SIMD target, OW not a multiple of 4): same sum with f32 loads.
    const tailStep: Expr[] = [accS.set(k.f32.load(0, 4, bc.get()))];
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      tailStep.push(accS.set(k.f32.add(accS.get(), k.f32.mul(k.f32.load((kh * KW + kw) * 4, 4, wc.get()), k.f32.load(tapOffset(kh, kw), 4, px.get())))));
    }
    if (res) tailStep.push(accS.set(k.f32.add(accS.get(), k.f32.load(0, 4, pr.get()))));
    tailStep.push(k.f32.store(0, 4, py.get(), applyActivationScalar(k, act, accS.get())), ...advance(1));
    const vecEnd = OW - (OW % V.L);

    const channel: Expr[] = [
      // this channel's rows into the plane (its zero border is written once per call)
      k.for(ih, 0, H, 1, () => copyRow(i32.add(plane.get(), i32.shl(i32.add(i32.mul(ih.get(), c32(wp)), c32(pt * wp + pl)), c32(2))), i32.add(xc.get(), i32.mul(ih.get(), c32(W * 4))))),
      ...taps.map((t, i) => t.set(V.loadSplat(wc.get(), i * 4))),
      k.for(oh, 0, OH, 1, () => [
        px.set(i32.add(plane.get(), i32.mul(oh.get(), c32(sh * wp * 4)))),
        py.set(yrow.get()), pr.set(rrow.get()),
        vecEnd > 0 ? k.block([pyEnd.set(i32.add(yrow.get(), c32(vecEnd * 4))), k.while(() => i32.lt_u(py.get(), pyEnd.get()), vectorStep)]) : k.nop(),
        vecEnd < OW ? k.block([pyEnd.set(i32.add(yrow.get(), c32(OW * 4))), k.while(() => i32.lt_u(py.get(), pyEnd.get()), tailStep)]) : k.nop(),
        yrow.set(i32.add(yrow.get(), c32(OW * 4))),
        rrow.set(i32.add(rrow.get(), c32(OW * 4))),
      ]),
      xc.set(i32.add(xc.get(), c32(H * W * 4))),
      wc.set(i32.add(wc.get(), c32(KH * KW * 4))),
      bc.set(i32.add(bc.get(), c32(4))),
    ];
    return [
      fill(hp * wp * 4),
      xc.set(x.get()), yrow.set(y.get()), rrow.set(r.get()),
      k.for(nc, 0, p.batch * C, 1, () => [
        k.if(i32.eqz(i32.rem_u(nc.get(), c32(C))), [wc.set(wt.get()), bc.set(bias.get())]),
        ...channel,
      ]),
    ];
  });
  ctx.call(fn, [ctx.inputs[0]!.ptr, wPtr, ctx.outputs[0].ptr, biasPtr, res?.ptr ?? 0, ctx.scratch()]);
}

/** Any float dtype, weights known or not: im2col (raw element copies), then a plain multiply-accumulate loop. */
function emitGenericConv(ctx: EmitCtx<Attrs>, p: ConvPlan): void {
  const [x, w, b] = ctx.inputs as Operand[];
  const dt: DType = x.dtype;
  const e = DTYPE_SIZE[dt];
  const t = computeType(dt);
  const patches = im2col(ctx, { geo: p.geo, channels: p.cg, elemBytes: e, rowBytes: p.colsPad * e });
  const key = `conv_generic:${dt}:${JSON.stringify(p)}:${!!b}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, wp, bp, yp, scratch] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const ns = k[t as 'f32'] as Kernel['f32'];
    const n = k.local('i32'), g = k.local('i32'), ch = k.local('i32'), m = k.local('i32'), col = k.local('i32'), kk = k.local('i32');
    const r0 = k.local('i32'), rc = k.local('i32'), accv = k.local(t), oc = k.local('i32');
    const ldS = p.colsPad * e;
    const body: Expr[] = [
      r0.set(i32.mul(ch.get(), c32(p.chunk))),
      rc.set(i32.sub(c32(p.rows), r0.get())),
      rc.set(k.select(i32.gt_s(rc.get(), c32(p.chunk)), c32(p.chunk), rc.get())),
      patches(k, i32.add(xp.get(), i32.mul(i32.add(i32.mul(n.get(), c32(p.cin)), i32.mul(g.get(), c32(p.cg))), c32(p.inPlane * e))),
        scratch.get(), r0.get(), rc.get()),
      k.for(m, 0, p.mg, 1, () => [
        oc.set(i32.add(i32.mul(g.get(), c32(p.mg)), m.get())),
        forRange(k, col, c32(0), () => i32.mul(rc.get(), c32(p.ow)), [
          accv.set(b ? k.load(dt, i32.add(bp.get(), i32.mul(oc.get(), c32(e)))) : k.const(t, 0)),
          k.for(kk, 0, p.K, 1, () => accv.set(ns.add(accv.get(), ns.mul(
            k.load(dt, i32.add(wp.get(), i32.mul(i32.add(i32.mul(oc.get(), c32(p.K)), kk.get()), c32(e)))),
            k.load(dt, i32.add(scratch.get(), i32.add(i32.mul(kk.get(), c32(ldS)), i32.mul(col.get(), c32(e))))))))),
          k.store(dt, i32.add(yp.get(), i32.mul(
            i32.add(i32.mul(i32.add(i32.mul(n.get(), c32(p.cout)), oc.get()), c32(p.outPlane)), i32.add(i32.mul(r0.get(), c32(p.ow)), col.get())),
            c32(e))), accv.get()),
        ]),
      ]),
    ];
    return [k.for(n, 0, p.batch, 1, () => k.for(g, 0, p.group, 1, () => k.for(ch, 0, p.chunks, 1, () => body)))];
  });
  ctx.call(fn, [x.ptr, w.ptr, b?.ptr ?? 0, ctx.outputs[0].ptr, ctx.scratch()]);
}
