// The im2col of a 2-D int8 convolution gathered straight into the GEMM's packed B layout (codegen/qgemm.ts: panels
// of QNR columns, K-pairs as i16 minus the input's zero point), in one pass instead of an int8 [K][cols] tile that a
// second pass packs. The input is first copied into a buffer padded with its zero point, so every tap reads in
// bounds with no per-column tests: per K-pair and output row, 8 output columns are two 16-byte loads (one per tap
// row), one shuffle that picks every stride-th byte of both and interleaves them, two widenings and two stores.
// An odd K's last pair repeats its first tap in the second slot: the packed weights are zero there (packConstA).
// A row of OW columns that does not start at a panel boundary (OW not a multiple of 8) stores its columns one
// 32-bit lane each. The scalar target writes the same i16 values column by column.

import { QNR } from '../codegen/qgemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import type { EmitCtx } from './types.js';

/** Bytes a vector load may read past the last tap of a padded plane (16-byte loads, at most 7 extra columns). */
const READ_SLACK = 64;

/** The zero-point-padded copy of one image's input: rows of Wp bytes, Hp rows per channel. */
export interface PaddedInput { Hp: number; Wp: number; plane: number; bytes: number }

export function paddedInput(geo: ConvGeometry, channels: number): PaddedInput {
  const [H, W] = geo.inSize, [OH, OW] = geo.outSize;
  const [KH, KW] = geo.kernel, [sh, sw] = geo.strides, [dh, dw] = geo.dilations;
  // every tap's row and column, counted from the padded origin, lies within [0, Hp) x [0, Wp)
  const Hp = Math.max(geo.padBegin[0] + H, (OH - 1) * sh + (KH - 1) * dh + 1);
  const Wp = Math.max(geo.padBegin[1] + W, (OW - 1) * sw + (KW - 1) * dw + 1);
  const plane = Hp * Wp;
  return { Hp, Wp, plane, bytes: Math.ceil((channels * plane + READ_SLACK + (QNR - 1) * sw) / 16) * 16 };
}

/**
 * Whether the gathered packing serves this convolution: 2-D, not 1x1 stride 1 (that packs its input directly), and
 * on 'simd' a column stride of 1 or 2 (8 columns within one 16-byte load).
 */
export function gatherApplies(geo: ConvGeometry, simd: boolean): boolean {
  return geo.inSize.length === 2 && (!simd || geo.strides[1] <= 2);
}

const PAD_PARAMS = ['x', 'dst', 'C', 'H', 'W', 'Hp', 'Wp', 'pt', 'pl', 'zp'] as const;

/** The kernel copying C planes of H x W bytes into Hp x Wp planes at row pt, column pl, the rest set to zp. */
export function padKernel(ctx: EmitCtx<unknown>): string {
  const fn = ctx.kernel('qgather_pad', PAD_PARAMS.map(() => 'i32' as const), buildPad);
  ctx.prime(fn, (zeros, out) => [zeros, out, 2, 6, 20, 8, 22, 1, 1, 0], 100);
  return fn;
}

function buildPad(k: Kernel): Expr[] {
  const [x, dst, C, H, W, Hp, Wp, pt, pl, zp] = k.params;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const c = k.local('i32'), r = k.local('i32'), i = k.local('i32'), src = k.local('i32'), out = k.local('i32'), ih = k.local('i32');
  const zv = k.simd ? k.local('v128') : undefined;
  // bytes [from, to) of the current output row set to zp; the row's input bytes [0, W) copied to column pl
  const fill = (from: Expr, to: () => Expr): Expr[] => {
    const body: Expr[] = [i.set(from)];
    if (k.simd) body.push(k.while(() => i32.le_s(i32.add(i.get(), c32(16)), to()), [k.v128.store(0, 1, i32.add(out.get(), i.get()), zv!.get()), i.set(i32.add(i.get(), c32(16)))]));
    body.push(k.while(() => i32.lt_s(i.get(), to()), [k.i32.store8(0, 1, i32.add(out.get(), i.get()), zp.get()), i.set(i32.add(i.get(), c32(1)))]));
    return body;
  };
  const copy: Expr[] = [i.set(c32(0))];
  const dstAt = () => i32.add(out.get(), i32.add(pl.get(), i.get()));
  if (k.simd) copy.push(k.while(() => i32.le_s(i32.add(i.get(), c32(16)), W.get()), [k.v128.store(0, 1, dstAt(), k.v128.load(0, 1, i32.add(src.get(), i.get()))), i.set(i32.add(i.get(), c32(16)))]));
  copy.push(k.while(() => i32.lt_s(i.get(), W.get()), [k.i32.store8(0, 1, dstAt(), k.i32.load8_u(0, 1, i32.add(src.get(), i.get()))), i.set(i32.add(i.get(), c32(1)))]));
  const row: Expr[] = [
    ih.set(i32.sub(r.get(), pt.get())),
    k.if(i32.lt_u(ih.get(), H.get()), [
      ...fill(c32(0), () => pl.get()),
      src.set(i32.add(x.get(), i32.mul(i32.add(i32.mul(c.get(), H.get()), ih.get()), W.get()))),
      ...copy,
      ...fill(i32.add(pl.get(), W.get()), () => Wp.get()),
    ], fill(c32(0), () => Wp.get())),
    out.set(i32.add(out.get(), Wp.get())),
  ];
  return [
    ...(zv ? [zv.set(k.i8x16.splat(zp.get()))] : []),
    out.set(dst.get()),
    k.dynFor(c, c32(0), C.get(), 1, () => k.dynFor(r, c32(0), Hp.get(), 1, () => row)),
  ];
}

const GATHER_PARAMS = ['xp', 'dst', 'r0', 'rc', 'zp', 'K', 'KH', 'KW', 'plane', 'khStep', 'kwStep', 'rowStep', 'OW', 'pB'] as const;

/**
 * The gathering packer of an input of 8-bit `src` with column stride sw: the call (xp = the padded input, dst = the
 * packed tile, output rows [r0, r0 + rc), the zero point) writes K-pairs x (rc * OW) columns in the 'i16' B layout.
 */
export function gatherKernel(ctx: EmitCtx<unknown>, src: 'i8' | 'u8', sw: number): string {
  const fn = ctx.kernel(`qgather_pack:${src}:s${sw}`, GATHER_PARAMS.map(() => 'i32' as const), (k) => buildGather(k, src, sw));
  // 3x3 taps over a 4-row, 32-byte padded plane, 2 rows of 12 columns: aligned and unaligned rows, an odd K
  ctx.prime(fn, (zeros, out) => [zeros, out, 0, 2, 0, 9, 3, 3, 128, 32, 1, 32 * sw, 12, 5 * 32], 100);
  return fn;
}

/** The arguments of a gatherKernel call for one image's padded input (the run-time values: the caller's exprs). */
export function gatherArgs(k: Kernel, geo: ConvGeometry, pad: PaddedInput, channels: number, pB: number, x: { xp: Expr; dst: Expr; r0: Expr; rc: Expr; zp: Expr }): Expr[] {
  const [KH, KW] = geo.kernel, [sh] = geo.strides, [dh, dw] = geo.dilations;
  const K = channels * KH * KW;
  return [x.xp, x.dst, x.r0, x.rc, x.zp, ...[K, KH, KW, pad.plane, dh * pad.Wp, dw, sh * pad.Wp, geo.outSize[1], pB].map((v) => k.c32(v))];
}

function buildGather(k: Kernel, src: 'i8' | 'u8', sw: number): Expr[] {
  const [xp, dst, r0, rc, zp, K, KH, KW, plane, khStep, kwStep, rowStep, OW, pB] = k.params;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const p = k.local('i32'), pairs = k.local('i32'), rr = k.local('i32'), ow = k.local('i32');
  const off0 = k.local('i32'), off1 = k.local('i32'), t = k.local('i32');
  const s0 = k.local('i32'), s1 = k.local('i32'), d = k.local('i32'), col = k.local('i32'), shift = k.local('i32');
  // offset of tap k (channel, kernel row, kernel column) in the padded input
  const tapOffset = (kk: Expr, into: Local): Expr[] => [
    t.set(kk),
    into.set(i32.mul(i32.rem_u(t.get(), KW.get()), kwStep.get())),
    t.set(i32.div_u(t.get(), KW.get())),
    into.set(i32.add(into.get(), i32.mul(i32.rem_u(t.get(), KH.get()), khStep.get()))),
    into.set(i32.add(into.get(), i32.mul(i32.div_u(t.get(), KH.get()), plane.get()))),
  ];
  const perPair: Expr[] = [
    ...tapOffset(i32.shl(p.get(), c32(1)), off0),
    // an odd K's last pair reads tap k0 twice: the weights' padding (packConstA) is zero there
    off1.set(off0.get()),
    k.if(i32.lt_s(i32.add(i32.shl(p.get(), c32(1)), c32(1)), K.get()), tapOffset(i32.add(i32.shl(p.get(), c32(1)), c32(1)), off1)),
  ];
  const rowStart: Expr[] = [
    s0.set(i32.add(xp.get(), i32.add(off0.get(), i32.mul(i32.add(r0.get(), rr.get()), rowStep.get())))),
    s1.set(i32.add(s0.get(), i32.sub(off1.get(), off0.get()))),
    col.set(i32.mul(rr.get(), OW.get())),
    // this row's first column: panel col / QNR, slot col % QNR, at pair p
    d.set(i32.add(i32.add(dst.get(), i32.shl(p.get(), c32(5))), i32.mul(i32.shr_u(col.get(), c32(3)), pB.get()))),
    shift.set(i32.and(col.get(), c32(QNR - 1))),
  ];
  let rowBody: Expr[];
  const prelude: Expr[] = [];
  if (k.simd) {
    const v = k.local('v128'), lo = k.local('v128'), hi = k.local('v128'), zv = k.local('v128');
    const lanes = Array.from({ length: 16 }, (_, i) => (i & 1 ? 16 : 0) + (i >> 1) * sw);
    const widen = (low: boolean) => (src === 'i8'
      ? (low ? k.i16x8.extend_low_i8x16_s(v.get()) : k.i16x8.extend_high_i8x16_s(v.get()))
      : (low ? k.i16x8.extend_low_i8x16_u(v.get()) : k.i16x8.extend_high_i8x16_u(v.get())));
    const group = (): Expr[] => [
      v.set(k.i8x16.shuffle(k.v128.load(0, 1, s0.get()), k.v128.load(0, 1, s1.get()), lanes)),
      lo.set(k.i16x8.sub(widen(true), zv.get())),
      hi.set(k.i16x8.sub(widen(false), zv.get())),
    ];
    const advance = (): Expr[] => [s0.set(i32.add(s0.get(), c32(QNR * sw))), s1.set(i32.add(s1.get(), c32(QNR * sw))), d.set(i32.add(d.get(), pB.get()))];
    // column j of the group goes to slot (shift + j) % 8 of panel d + (shift + j) / 8 (the columns past OW land on
    // the next row's first columns, which that row then overwrites, or past the chunk's last column)
    const slot = Array.from({ length: QNR }, () => k.local('i32'));
    const slots = slot.map((l, j) => l.set(i32.add(i32.mul(i32.shr_u(i32.add(shift.get(), c32(j)), c32(3)), pB.get()), i32.shl(i32.and(i32.add(shift.get(), c32(j)), c32(QNR - 1)), c32(2)))));
    const laneStores = slot.map((l, j) => k.v128.store32_lane(0, 1, j & 3, i32.add(d.get(), l.get()), (j < 4 ? lo : hi).get()));
    const loop = (stores: Expr[]) => k.dynFor(ow, c32(0), OW.get(), QNR, () => [...group(), ...stores, ...advance()]);
    prelude.push(zv.set(k.i16x8.splat(zp.get())));
    rowBody = [
      ...rowStart,
      k.if(i32.eqz(shift.get()), loop([k.v128.store(0, 1, d.get(), lo.get()), k.v128.store(16, 1, d.get(), hi.get())]), [...slots, loop(laneStores)]),
    ];
  } else {
    const load = (addr: Expr) => (src === 'i8' ? k.i32.load8_s(0, 1, addr) : k.i32.load8_u(0, 1, addr));
    const c = k.local('i32'), at = k.local('i32');
    rowBody = [
      ...rowStart,
      k.dynFor(ow, c32(0), OW.get(), 1, () => [
        c.set(i32.add(shift.get(), ow.get())),
        at.set(i32.add(d.get(), i32.add(i32.mul(i32.shr_u(c.get(), c32(3)), pB.get()), i32.shl(i32.and(c.get(), c32(QNR - 1)), c32(2))))),
        k.i32.store16(0, 2, at.get(), i32.sub(load(i32.add(s0.get(), i32.mul(ow.get(), c32(sw)))), zp.get())),
        k.i32.store16(2, 2, at.get(), i32.sub(load(i32.add(s1.get(), i32.mul(ow.get(), c32(sw)))), zp.get())),
      ]),
    ];
  }
  return [
    ...prelude,
    pairs.set(i32.shr_u(i32.add(K.get(), c32(1)), c32(1))),
    k.dynFor(p, c32(0), pairs.get(), 1, () => [...perPair, k.dynFor(rr, c32(0), rc.get(), 1, () => rowBody)]),
  ];
}
