// The int8 convolution behind QLinearConv, ConvInteger and the lowered QDQ Conv: the float Conv's geometry
// (conv-geometry.ts) and im2col, with the int8 GEMM of codegen/qgemm.ts. Per (image, group) and chunk of output
// rows: im2col of the int8 input (padding = the input's zero point), packed into i16 K-pairs minus the zero point,
// then one GEMM against the weights (int8 as stored, zero point subtracted at compile time) with a requantizing
// or i32 epilogue. A 1x1 stride-1 convolution packs its input directly; other 2-D convolutions gather their taps
// straight into the packed K-pairs (conv-int8-gather.ts) instead of the im2col tile and its packing pass. Depthwise
// 2-D layers have a direct kernel (conv-int8-depthwise.ts), 3x3 stride-1 layers with many tiles Winograd F(2x2, 3x3)
// on 'simd' (conv-int8-winograd.ts). int8ConvVariants() declares the five as kernel variants for the integer conv ops.

import { chunkRange, im2col } from '../codegen/im2col.js';
import { callQGemm, fusedAct, inputMaxAbs, packConstA, packPairsKernel, qgemmKernel, qgemmTmpBytes, QMR, QNR, requantBound, roundingsBounded, type QAct, type QEpilogue } from '../codegen/qgemm.js';
import type { Expr } from '../codegen/wasm.js';
import { numel } from '../src/ir/graph.js';
import type { ConvGeometry } from './conv-geometry.js';
import { emitQWinograd, qwinogradPlan } from './conv-int8-winograd.js';
import { gatherApplies, gatherArgs, gatherKernel, padKernel, paddedInput } from './conv-int8-gather.js';
import { depthwiseInt8Applies, depthwiseInt8Scratch, emitDepthwiseInt8 } from './conv-int8-depthwise.js';
import { ensureSlack } from './matmul.js';
import type { EmitCtx, KernelVariant, Operand, VariantCtx } from './types.js';

/** Bytes of the packed B tile per chunk (i16 pairs): keeps it within L2. */
const CHUNK_BYTES = 1 << 19;

export interface QConvParams {
  x: Operand;
  geo: ConvGeometry;
  batch: number; cin: number; cout: number; group: number;
  /** Weights [cout][cin/group][kernel...] as numbers, and their zero point per output channel. */
  w: ArrayLike<number>; wSigned: boolean; wZp: (m: number) => number;
  /** The input's zero point: a constant, or the operand holding it (DynamicQuantizeLinear's output). */
  xZp: number | Operand;
  /** i32 bias per output channel (already in the accumulator's scale). */
  bias?: Int32Array;
  /** 'f32' output: float32 bias per output channel, added after the scaling. */
  fbias?: Float32Array;
  /** 'f32' output: a run-time float32 scalar multiplier for every channel (instead of mult). */
  scaleOperand?: Operand;
  /** 'i32' output, or requantization: float32 multiplier per output channel, output zero point, clamp. */
  epilogue: QEpilogue;
  mult?: Float32Array;
  yZp: number;
  /** A Relu / Clip / LeakyRelu between two quantizations fused after the requantization (epilogue.act). */
  act?: QAct;
}

export interface QConvPlan {
  mg: number; cg: number; K: number; Kp: number;
  inPlane: number; outPlane: number; rows: number; ow: number;
  pointwise: boolean; chunk: number; chunks: number; colsPad: number;
}

export function planQConv(geo: ConvGeometry, cin: number, cout: number, group: number): QConvPlan {
  const cg = cin / group, mg = cout / group;
  const K = cg * numel(geo.kernel), Kp = K + (K & 1);
  const inPlane = numel(geo.inSize), outPlane = numel(geo.outSize);
  const ow = geo.outSize[geo.outSize.length - 1];
  const rows = outPlane / ow;
  const pointwise = geo.kernel.every((v) => v === 1) && geo.strides.every((v) => v === 1) && geo.padBegin.every((v) => v === 0) && geo.padEnd.every((v) => v === 0);
  const maxCols = Math.max(QNR, Math.floor(CHUNK_BYTES / (2 * Kp) / QNR) * QNR);
  const chunk = Math.max(1, Math.min(rows, Math.floor(maxCols / ow)));
  const chunks = Math.ceil(rows / chunk);
  const colsPad = (Math.ceil((chunk * ow) / QNR) + 1) * QNR;
  return { mg, cg, K, Kp, inPlane, outPlane, rows, ow, pointwise, chunk, chunks, colsPad };
}

/** How a GEMM path packs its input: directly (pointwise), through an int8 im2col tile, or gathered (conv-int8-gather.ts). */
type PackMode = 'pointwise' | 'im2col' | 'gather';

/**
 * Scratch of the GEMM path: the int8 im2col tile (or the gather's zero-point-padded input; nothing when pointwise),
 * the packed i16 tile, the widened A panel.
 */
function scratchLayout(p: QConvPlan, geo: ConvGeometry, cin: number, cout: number, mode: PackMode): { colsBytes: number; packedBytes: number; multBytes: number; total: number } {
  const align = (n: number) => Math.ceil(n / 16) * 16;
  const colsBytes = mode === 'pointwise' ? 0 : mode === 'gather' ? paddedInput(geo, cin).bytes : align(p.K * p.colsPad + 64);
  const packedBytes = align(Math.ceil(p.colsPad / QNR) * (p.Kp / 2) * QNR * 4 + 64);
  // a run-time multiplier copied to every row (QConvParams.scaleOperand)
  const multBytes = align(multRows(cout) * 4);
  return { colsBytes, packedBytes, multBytes, total: colsBytes + packedBytes + multBytes + qgemmTmpBytes(p.K) };
}

const multRows = (cout: number) => Math.ceil(cout / QMR) * QMR + QMR;

/** The largest padded input the gather copies when that is more than the im2col tile it replaces. */
const GATHER_MAX_BYTES = 1 << 19;

/**
 * Whether the gather's padded copy of the input (a whole image) stays within the im2col tile's bytes or 512 KB: a
 * large input keeps the chunked im2col, so that the planned memory does not grow with the image.
 */
function gatherFits(geo: ConvGeometry, cin: number, cout: number, group: number): boolean {
  const p = planQConv(geo, cin, cout, group);
  return paddedInput(geo, cin).bytes <= Math.max(GATHER_MAX_BYTES, scratchLayout(p, geo, cin, cout, 'im2col').colsBytes);
}

function qconvScratch(mode: PackMode, geo: ConvGeometry, cin: number, cout: number, group: number): number {
  return scratchLayout(planQConv(geo, cin, cout, group), geo, cin, cout, mode).total;
}

/** What an integer convolution op tells the shared variants: its geometry, and whether the int8 kernels apply. */
export interface IntConvOp<A> {
  shape(ctx: VariantCtx<A> | EmitCtx<A>): { geo: ConvGeometry; cin: number; cout: number; group: number };
  /** Constant weights and parameters the kernels need at compile time. */
  fast(ctx: VariantCtx<A>): boolean;
  params(ctx: EmitCtx<A>): QConvParams;
}

/**
 * The int8 kernel variants of QLinearConv and ConvInteger (the op adds its plain-loop fallback after them):
 * Winograd, depthwise, pointwise GEMM (the input packed directly), gathered im2col + GEMM, im2col + GEMM.
 */
export function int8ConvVariants<A>(op: IntConvOp<A>): KernelVariant<A>[] {
  const dims = (ctx: VariantCtx<A>) => { const d = op.shape(ctx); return [d.geo, d.cin, d.cout, d.group] as const; };
  const gemm = (mode: PackMode) => (ctx: EmitCtx<A>) => { if (numel(ctx.outputs[0].shape) > 0) emitQConv(ctx as EmitCtx<unknown>, op.params(ctx), mode); };
  const winograd = (ctx: VariantCtx<A> | EmitCtx<A>) => { const d = op.shape(ctx); return qwinogradPlan(d.geo, ctx.inputs[0]!.shape[0], d.cin, d.cout, d.group); };
  return [
    {
      name: 'int8-winograd-f2x2-3x3',
      applies: (ctx) => op.fast(ctx) && ctx.has('simd128') && !!winograd(ctx),
      scratch: (ctx) => winograd(ctx)!.scratch,
      emit: (ctx) => { if (numel(ctx.outputs[0].shape) > 0) emitQWinograd(ctx as EmitCtx<unknown>, winograd(ctx)!, op.params(ctx)); },
    },
    {
      name: 'int8-depthwise',
      applies: (ctx) => op.fast(ctx) && depthwiseInt8Applies(...dims(ctx)),
      scratch: (ctx) => depthwiseInt8Scratch(op.shape(ctx).geo),
      emit: (ctx) => { if (numel(ctx.outputs[0].shape) > 0) emitDepthwiseInt8(ctx as EmitCtx<unknown>, op.params(ctx)); },
    },
    { name: 'int8-pointwise-gemm', applies: (ctx) => op.fast(ctx) && planQConv(...dims(ctx)).pointwise, scratch: (ctx) => qconvScratch('pointwise', ...dims(ctx)), emit: gemm('pointwise') },
    {
      name: 'int8-gather-gemm',
      applies: (ctx) => op.fast(ctx) && gatherApplies(op.shape(ctx).geo, ctx.has('simd128')) && gatherFits(...dims(ctx)),
      scratch: (ctx) => qconvScratch('gather', ...dims(ctx)),
      emit: gemm('gather'),
    },
    { name: 'int8-im2col-gemm', applies: (ctx) => op.fast(ctx), scratch: (ctx) => qconvScratch('im2col', ...dims(ctx)), emit: gemm('im2col') },
  ];
}

function padded<T extends Int32Array | Float32Array>(make: (n: number) => T, values: ArrayLike<number> | undefined, n: number): T {
  const out = make(Math.ceil(n / QMR) * QMR + QMR);
  if (values) for (let i = 0; i < n; i++) out[i] = values[i];
  return out;
}

/** The clamp of a requantized result within its type (a fused Relu/Clip's), or undefined for i32/f32 outputs. */
export function outRange(q: QConvParams): [number, number] | undefined {
  const e = q.epilogue;
  if (e.out !== 'int8' && e.out !== 'uint8') return undefined;
  const [tlo, thi] = e.out === 'int8' ? [-128, 127] : [0, 255];
  return [Math.max(tlo, e.lo), Math.min(thi, e.hi)];
}

/** Whether a chunk's columns end with a panel of 1 to 4 (QGemmSpec.halfTile). */
function endsWithHalfPanel(p: QConvPlan): boolean {
  const last = (p.rows - (p.chunks - 1) * p.chunk) * p.ow;
  return [p.chunk * p.ow, last].some((n) => n % QNR > 0 && n % QNR <= QNR / 2);
}

/** QEpilogue.bounded for a requantizing convolution whose multipliers are known at compile time. */
export function requantIsBounded(q: QConvParams, K: number, act?: ReturnType<typeof fusedAct>): boolean {
  const e = q.epilogue;
  if ((e.out !== 'int8' && e.out !== 'uint8') || !q.mult || q.scaleOperand) return false;
  const wAbsSum = (m: number) => { let t = 0; for (let i = 0; i < K; i++) t += Math.abs(Number(q.w[m * K + i]) - q.wZp(m)); return t; };
  const xMax = inputMaxAbs(q.x.dtype === 'int8', typeof q.xZp === 'number' ? q.xZp : undefined);
  return roundingsBounded(requantBound(q.cout, wAbsSum, xMax, (m) => q.bias?.[m] ?? 0, (m) => q.mult![m]), act);
}

function emitQConv(ctx: EmitCtx<unknown>, q: QConvParams, mode: PackMode): void {
  const y = ctx.outputs[0];
  const p = planQConv(q.geo, q.cin, q.cout, q.group);
  const xType = q.x.dtype === 'int8' ? 'i8' : 'u8';
  const a = packConstA(q.w, q.cout, p.K, q.wZp, q.wSigned, q.group);
  const aGroup = a.groupBytes;
  const wPtr = ctx.data(a.bytes);
  const fout = q.epilogue.out === 'f32';
  const biasPtr = fout ? (q.fbias ? ctx.data(new Uint8Array(padded((n) => new Float32Array(n), q.fbias, q.cout).buffer)) : 0)
    : q.bias ? ctx.data(new Uint8Array(padded((n) => new Int32Array(n), q.bias, q.cout).buffer)) : 0;
  const multPtr = q.scaleOperand ? q.scaleOperand.ptr : q.mult ? ctx.data(new Uint8Array(padded((n) => new Float32Array(n), q.mult, q.cout).buffer)) : 0;
  const act = q.act && outRange(q) ? fusedAct(q.act, ...outRange(q)!) : undefined;
  const actPtr = act ? ctx.data(new Uint8Array(act.params.buffer)) : 0;
  ensureSlack(ctx);
  const gemm = qgemmKernel(ctx, {
    a: a.storage, b: 'i16', ...q.epilogue, bias: (fout ? q.fbias : q.bias) ? 'row' : 'none', scale: 'row',
    act: act?.kind, bounded: requantIsBounded(q, p.K, act), halfTile: endsWithHalfPanel(p),
  });
  const pack = mode === 'gather' ? undefined : packPairsKernel(ctx, xType);
  const patches = mode === 'im2col' ? im2col(ctx, { geo: q.geo, channels: p.cg, elemBytes: 1, rowBytes: p.colsPad, fill: typeof q.xZp === 'number' ? q.xZp : 0 }) : undefined;
  const gather = mode === 'gather' ? { pad: padKernel(ctx), pack: gatherKernel(ctx, xType, q.geo.strides[1]), input: paddedInput(q.geo, q.cin) } : undefined;
  const eb = q.epilogue.out === 'i32' || fout ? 4 : 1;
  const { colsBytes, packedBytes, multBytes } = scratchLayout(p, q.geo, q.cin, q.cout, mode);
  const pB = (p.Kp / 2) * QNR * 4;
  const runtimeZp = typeof q.xZp !== 'number';

  const key = `qconv:${mode}:${JSON.stringify(q.geo)}:${q.batch}.${q.cin}.${q.cout}.${q.group}:${gemm}:${xType}:${runtimeZp}:${!!q.scaleOperand}:${a.storage}:${ctx.target}`;
  // Everything a layer's numbers change (pointers, zero points) is a parameter: layers of one shape share the kernel.
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, wp, yp, bias, mult, scratch, zpArg, yZp, act] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const n = k.local('i32'), g = k.local('i32'), ch = k.local('i32'), zp = k.local('i32');
    const xg = k.local('i32'), yg = k.local('i32'), col0 = k.local('i32'), ncols = k.local('i32'), r0 = k.local('i32'), rc = k.local('i32');
    const packed = k.local('i32'), multRow = k.local('i32'), m = k.local('i32');
    // With a run-time zero point the 2-D im2col's padding takes it as its fill parameter.
    const im2colCall = (src: Expr, dst: Expr): Expr => (patches ? patches(k, src, dst, r0.get(), rc.get(), runtimeZp ? zp.get() : undefined) : k.nop());
    const packChunk = (): Expr => {
      if (gather) return k.call(gather.pack, gatherArgs(k, q.geo, gather.input, p.cg, pB, { xp: xg.get(), dst: packed.get(), r0: r0.get(), rc: rc.get(), zp: zp.get() }));
      if (mode === 'pointwise') return k.call(pack!, [i32.add(xg.get(), col0.get()), c32(p.inPlane), packed.get(), c32(p.K), ncols.get(), zp.get()]);
      return k.block([im2colCall(xg.get(), scratch.get()), k.call(pack!, [scratch.get(), c32(p.colsPad), packed.get(), c32(p.K), ncols.get(), zp.get()])]);
    };
    const chunkBody: Expr[] = [
      ...chunkRange(k, ch, p, { r0, rc, col0, ncols }),
      packChunk(),
      callQGemm(k, gemm, {
        a: i32.add(wp.get(), i32.mul(g.get(), c32(aGroup))), pA: c32(a.pA),
        b: packed.get(), ldb: c32(QNR * 4), pB: c32(pB),
        c: i32.add(yg.get(), i32.mul(col0.get(), c32(eb))), ldc: c32(p.outPlane * eb),
        M: c32(p.mg), N: ncols.get(), K: c32(p.K),
        bias: i32.add(bias.get(), i32.mul(g.get(), c32(p.mg * 4))),
        mult: i32.add(multRow.get(), i32.mul(g.get(), c32(p.mg * 4))),
        zp: yZp.get(), aTmp: i32.add(packed.get(), c32(packedBytes + multBytes)), act: act.get(),
      }),
    ];
    // the gather reads group g's channels of the image's padded copy (at the scratch's start)
    const groupInput = gather ? i32.add(scratch.get(), i32.mul(g.get(), c32(p.cg * gather.input.plane)))
      : i32.add(x.get(), i32.mul(i32.add(i32.mul(n.get(), c32(q.cin)), i32.mul(g.get(), c32(p.cg))), c32(p.inPlane)));
    const padImage = (): Expr => {
      if (!gather) return k.nop();
      const { Hp, Wp } = gather.input;
      return k.call(gather.pad, [i32.add(x.get(), i32.mul(n.get(), c32(q.cin * p.inPlane))), scratch.get(),
        ...[q.cin, ...q.geo.inSize, Hp, Wp, ...q.geo.padBegin].map(c32), zp.get()]);
    };
    const groupBody: Expr[] = [
      xg.set(groupInput),
      yg.set(i32.add(yp.get(), i32.mul(i32.mul(i32.add(i32.mul(n.get(), c32(q.cout)), i32.mul(g.get(), c32(p.mg))), c32(p.outPlane)), c32(eb)))),
      k.for(ch, 0, p.chunks, 1, () => chunkBody),
    ];
    const zpLoad = runtimeZp ? (xType === 'i8' ? k.i32.load8_s(0, 1, zpArg.get()) : k.i32.load8_u(0, 1, zpArg.get())) : zpArg.get();
    // the GEMM reads a multiplier per row: a run-time one is copied to every row first
    const multSetup: Expr[] = q.scaleOperand ? [
      multRow.set(i32.add(scratch.get(), c32(colsBytes + packedBytes))),
      k.for(m, 0, multRows(q.cout), 1, () => k.f32.store(0, 4, i32.add(multRow.get(), i32.shl(m.get(), c32(2))), k.f32.load(0, 4, mult.get()))),
    ] : [multRow.set(mult.get())];
    return [
      zp.set(zpLoad),
      ...multSetup,
      packed.set(i32.add(scratch.get(), c32(colsBytes))),
      k.for(n, 0, q.batch, 1, () => [padImage(), k.for(g, 0, q.group, 1, () => groupBody)]),
    ];
  });
  ctx.call(fn, [q.x.ptr, wPtr, y.ptr, biasPtr, multPtr, ctx.scratch(), typeof q.xZp === 'number' ? q.xZp : q.xZp.ptr, q.yZp, actPtr]);
}
