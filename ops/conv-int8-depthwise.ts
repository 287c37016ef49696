// Depthwise 2-D int8 convolution (one input and one output channel per group; MobileNet's 3x3 layers), used by
// conv-int8.ts. Per channel the input rows are copied as they are (8-bit) into a plane bordered with the input's
// zero point, so taps need no bounds tests and padding contributes 0 once the zero point is taken out: the
// accumulator starts at bias - zp * sum(taps) (the taps being the weights minus their zero point), and the
// products are the raw 8-bit inputs times the taps. SIMD computes 8 output columns at a time from extending 8-byte
// loads at constant offsets from one pointer: with unit column dilation two taps of a row go through one
// i32x4.dot_i16x8_s (stride 2: the pairs as they lie; stride 1: even and odd columns from loads one value apart),
// otherwise each tap multiplies 8 columns with extmul. The epilogue is the int8 GEMM's requantization; a row's
// last partial vector stores all 8 lanes (the next row overwrites the excess) except on the tensor's last row.
// The scalar target computes the same integers.

import { fusedAct, narrowToBytes, requantLanes, requantScalar, zpOffset } from '../codegen/qgemm.js';
import type { Expr, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import { outRange, requantIsBounded, type QConvParams } from './conv-int8.js';
import type { EmitCtx } from './types.js';

export function depthwiseInt8Applies(geo: ConvGeometry, cin: number, cout: number, group: number): boolean {
  return geo.inSize.length === 2 && group === cin && cout === cin && geo.strides[1] <= 2;
}

interface PlaneGeo { hp: number; wp: number }

function planeGeo(g: ConvGeometry): PlaneGeo {
  const [H, W] = g.inSize, [OH, OW] = g.outSize, [KH, KW] = g.kernel, [sh, sw] = g.strides, [dh, dw] = g.dilations;
  const [pt, pl] = g.padBegin;
  const hp = Math.max(H + pt, (OH - 1) * sh + (KH - 1) * dh + 1);
  // 8 output columns past the last one may be read (stride 2: 16 values): slack so those reads stay in the plane.
  const wp = Math.max(W + pl, (OW - 1) * sw + (KW - 1) * dw + 1) + 16 * sw;
  return { hp, wp };
}

/** The plane (one byte per value) and 16 bytes of slack for the last row's vector reads. */
export function depthwiseInt8Scratch(geo: ConvGeometry): number {
  const { hp, wp } = planeGeo(geo);
  return hp * wp + 32;
}

export function emitDepthwiseInt8(ctx: EmitCtx<unknown>, q: QConvParams): void {
  const g = q.geo;
  const [H, W] = g.inSize, [OH, OW] = g.outSize, [KH, KW] = g.kernel, [sh, sw] = g.strides, [dh, dw] = g.dilations;
  const [pt, pl] = g.padBegin;
  const { hp, wp } = planeGeo(g);
  const C = q.cout, T = KH * KW;
  const taps = new Int16Array(C * T), tapSum = new Int32Array(C);
  for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) { taps[c * T + t] = Number(q.w[c * T + t]) - q.wZp(c); tapSum[c] += taps[c * T + t]; }
  const tapsPtr = ctx.data(new Uint8Array(taps.buffer));
  const tapSumPtr = ctx.data(new Uint8Array(tapSum.buffer));
  const e = q.epilogue;
  const fout = e.out === 'f32';
  // 'f32' output: a float bias added after the scaling; a run-time multiplier (scaleOperand) serves every channel
  const biasPtr = ctx.data(new Uint8Array((fout ? Float32Array.from({ length: C }, (_, c) => q.fbias?.[c] ?? 0)
    : Int32Array.from({ length: C }, (_, c) => q.bias?.[c] ?? 0)).buffer));
  const multPtr = q.scaleOperand ? q.scaleOperand.ptr : ctx.data(new Uint8Array(Float32Array.from({ length: C }, (_, c) => q.mult?.[c] ?? 0).buffer));
  const xSigned = q.x.dtype === 'int8';
  const runtimeZp = typeof q.xZp !== 'number';
  const [lo, hi] = outRange(q) ?? [0, 0];
  const act = q.act && outRange(q) ? fusedAct(q.act, lo, hi) : undefined;
  const bounded = requantIsBounded(q, T, act);
  const eb = e.out === 'i32' || fout ? 4 : 1;
  const key = `qconv_dw:${!!q.scaleOperand}:${JSON.stringify(g)}:${q.batch}:${C}:${JSON.stringify(e)}:${xSigned}:${runtimeZp}:${q.yZp}:${JSON.stringify(q.act ?? null)}:${act?.kind}:${bounded}:${ctx.target}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, wt, y, bias, mult, plane, zpArg, sums] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const nc = k.local('i32'), c = k.local('i32'), ih = k.local('i32'), oh = k.local('i32'), ow = k.local('i32');
    const xc = k.local('i32'), yrow = k.local('i32'), prow = k.local('i32'), wc = k.local('i32'), pb = k.local('i32');
    const zp = k.local('i32'), biasC = k.local('i32'), multC = k.local('f32'), biasF = k.local('f32'), accS = k.local('i32');
    // A fused Relu / Clip between two quantizations: its parameters are constants of this kernel, splatted at each
    // use rather than held in locals (the SIMD loop's registers are taken by the taps and accumulators).
    const actBits = act ? new Int32Array(act.params.buffer) : undefined;
    const actV = actBits ? (i: number) => k.i32x4.splat(k.c32(actBits[i])) : undefined;
    const actS = actBits ? (i: number) => k.f32.reinterpret(k.c32(actBits[i])) : undefined;
    const leaky = act?.kind === 'leaky', ratio = act?.kind === 'ratio';
    const planeAt = (row: Expr, col: Expr) => i32.add(plane.get(), i32.add(i32.mul(row, c32(wp)), col));

    // One output value (scalar target, and the SIMD path's tail): acc over the taps, then requantize and store.
    const scalarStore = (acc: Expr, at: Expr): Expr => {
      if (e.out === 'i32') return k.i32.store(0, 4, at, acc);
      if (fout) {
        const v = k.f32.add(k.f32.mul(k.f32.convert_s.i32(acc), multC.get()), biasF.get());
        return k.f32.store(0, 4, at, e.relu ? k.f32.max(v, k.cf32(0)) : v);
      }
      const v = requantScalar(k, k.f32.mul(k.f32.convert_s.i32(acc), multC.get()), () => k.cf32(q.yZp), actS, leaky, ratio);
      return k.i32.store8(0, 1, at, k.i32.trunc_s_sat.f32(k.f32.min(k.f32.max(v, k.cf32(lo)), k.cf32(hi))));
    };
    const scalarOut: Expr[] = [accS.set(biasC.get()), pb.set(i32.add(prow.get(), i32.mul(ow.get(), c32(sw))))];
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const off = kh * dh * wp + kw * dw;
      const xv = xSigned ? k.i32.load8_s(off, 1, pb.get()) : k.i32.load8_u(off, 1, pb.get());
      scalarOut.push(accS.set(i32.add(accS.get(), i32.mul(xv, k.i32.load16_s((kh * KW + kw) * 2, 2, wc.get())))));
    }
    scalarOut.push(scalarStore(accS.get(), i32.add(yrow.get(), i32.mul(ow.get(), c32(eb)))));

    const channelSetup: Expr[] = [];
    const wide = e.out === 'i32' || fout;
    const twoRows = k.simd && dw === 1 && sw === 1 && sh === 1 && dh === 1 && !wide && OH >= 2;
    const pairBody: Expr[] = [];
    const vecEnd = OW - (OW % 8);
    const rowBody: Expr[] = [prow.set(i32.add(plane.get(), i32.mul(oh.get(), c32(sh * wp)))), ow.set(c32(0))];
    if (k.simd) {
      const lo4 = k.local('v128'), hi4 = k.local('v128'), xv = k.local('v128'), multV = k.local('v128');
      const load8 = (off: number) => (xSigned ? k.v128.load8x8_s(off, 1, pb.get()) : k.v128.load8x8_u(off, 1, pb.get()));
      // Unit column dilation: taps (kw, kw+1) of a row go in pairs through i32x4.dot_i16x8_s (an odd last tap pairs
      // with 0); stride 2 reads the pairs as they lie, stride 1 computes the even and the odd columns from two
      // loads one value apart (no shuffles) and interleaves them once at the end.
      // Otherwise each tap multiplies 8 columns with extmul.
      const paired = dw === 1;
      const pairs = Math.ceil(KW / 2);
      const tapV: Local[] = Array.from({ length: paired ? KH * pairs : T }, () => k.local('v128'));
      // stride 1 paired: lo4 holds columns 0, 2, 4, 6 and hi4 columns 1, 3, 5, 7
      const evenOdd = paired && sw === 1;
      // 8 output columns from ow into lo4/hi4 (i32 or f32 lanes) or xv (8 bytes)
      const compute = (): Expr[] => {
        const vec: Expr[] = [pb.set(i32.add(prow.get(), i32.mul(ow.get(), c32(sw)))), lo4.set(k.i32x4.splat(biasC.get())), hi4.set(lo4.get())];
        if (paired) {
          for (let kh = 0; kh < KH; kh++) for (let j = 0; j < pairs; j++) {
            const off = kh * dh * wp + 2 * j;
            const t = tapV[kh * pairs + j];
            // stride 2: the 8 pairs as they lie, columns 0-3 then 4-7; stride 1: the pairs at an even offset are the
            // even columns and at an odd offset the odd ones (interleaved back at the end)
            vec.push(lo4.set(k.i32x4.add(lo4.get(), k.i32x4.dot_i16x8_s(load8(off), t.get()))),
              hi4.set(k.i32x4.add(hi4.get(), k.i32x4.dot_i16x8_s(load8(off + (sw === 2 ? 8 : 1)), t.get()))));
          }
        } else {
          for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
            const off = kh * dh * wp + kw * dw;
            const input = sw === 1 ? load8(off) : k.i8x16.shuffle(load8(off), load8(off + 8), [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29]);
            const t = tapV[kh * KW + kw];
            vec.push(xv.set(input),
              lo4.set(k.i32x4.add(lo4.get(), k.i32x4.extmul_low_i16x8_s(xv.get(), t.get()))),
              hi4.set(k.i32x4.add(hi4.get(), k.i32x4.extmul_high_i16x8_s(xv.get(), t.get()))));
          }
        }
        if (fout) {
          const f = (v: Local) => {
            const r = k.f32x4.add(k.f32x4.mul(k.f32x4.convert_i32x4_s(v.get()), multV.get()), k.f32x4.splat(biasF.get()));
            return e.relu ? k.f32x4.pmax(r, k.f32x4.splat(k.cf32(0))) : r;
          };
          vec.push(lo4.set(f(lo4)), hi4.set(f(hi4)));
        }
        if (wide && evenOdd) {
          // 32-bit lanes back in column order: (e0 o0 e1 o1), (e2 o2 e3 o3)
          const lanes = (l: number[]) => l.flatMap((v) => [0, 1, 2, 3].map((b) => v * 4 + b));
          vec.push(xv.set(k.i8x16.shuffle(lo4.get(), hi4.get(), lanes([0, 4, 1, 5]))), hi4.set(k.i8x16.shuffle(lo4.get(), hi4.get(), lanes([2, 6, 3, 7]))), lo4.set(xv.get()));
        }
        if (!wide) {
          const rq = (v: Local) => requantLanes(k, k.f32x4.mul(k.f32x4.convert_i32x4_s(v.get()), multV.get()), () => zpOffset(k, c32(q.yZp)), actV, leaky, bounded, ratio);
          const bytes = narrowToBytes(k, rq(lo4), rq(hi4), e.out as 'int8' | 'uint8', lo, hi);
          // even/odd columns: bytes e0..e3 o0..o3 interleaved back
          vec.push(xv.set(evenOdd ? k.i8x16.shuffle(bytes, k.i8x16.splat(c32(0)), [0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15]) : bytes));
        }
        return vec;
      };
      const out = () => i32.add(yrow.get(), i32.mul(ow.get(), c32(eb)));
      const storeAll = () => wide ? [k.v128.store(0, 4, out(), lo4.get()), k.v128.store(16, 4, out(), hi4.get())] : [k.v128.store64_lane(0, 1, 0, out(), xv.get())];
      const storeLanes = (n: number) => Array.from({ length: n }, (_, l) => (wide
        ? k.i32.store(l * 4, 4, out(), k.i32x4.extract_lane((l < 4 ? lo4 : hi4).get(), l & 3))
        : k.i32.store8(l, 1, out(), k.i8x16.extract_lane_u(xv.get(), l))));
      if (vecEnd > 0) rowBody.push(k.while(() => i32.lt_s(ow.get(), c32(vecEnd)), [...compute(), ...storeAll(), ow.set(i32.add(ow.get(), c32(8)))]));
      if (OW % 8) {
        // the row's last OW % 8 columns: one more vector (the plane's slack holds what it reads past the row); all 8
        // lanes are stored, the excess landing on outputs written later, except on the tensor's very last row
        const lastRow = i32.and(i32.eq(nc.get(), c32(q.batch * C - 1)), i32.eq(oh.get(), c32(OH - 1)));
        rowBody.push(...compute(), k.if(lastRow, storeLanes(OW % 8), storeAll()), ow.set(c32(OW)));
      }
      if (twoRows) {
        // Two output rows per step (stride 1, unit dilations, 8-bit output): the KH - 1 input rows they share are
        // loaded once, each load feeding both rows' accumulators; both rows narrow into one vector.
        const loB = k.local('v128'), hiB = k.local('v128'), xa = k.local('v128'), xb = k.local('v128');
        const compute2 = (): Expr[] => {
          const vec: Expr[] = [pb.set(i32.add(prow.get(), ow.get())), lo4.set(k.i32x4.splat(biasC.get())), hi4.set(lo4.get()), loB.set(lo4.get()), hiB.set(lo4.get())];
          const acc = (a: Local, x: Local, t: Local) => a.set(k.i32x4.add(a.get(), k.i32x4.dot_i16x8_s(x.get(), t.get())));
          for (let i = 0; i <= KH; i++) for (let j = 0; j < pairs; j++) {
            vec.push(xa.set(load8(i * wp + 2 * j)), xb.set(load8(i * wp + 2 * j + 1)));
            if (i < KH) vec.push(acc(lo4, xa, tapV[i * pairs + j]), acc(hi4, xb, tapV[i * pairs + j]));
            if (i > 0) vec.push(acc(loB, xa, tapV[(i - 1) * pairs + j]), acc(hiB, xb, tapV[(i - 1) * pairs + j]));
          }
          const rq = (v: Local) => requantLanes(k, k.f32x4.mul(k.f32x4.convert_i32x4_s(v.get()), multV.get()), () => zpOffset(k, c32(q.yZp)), actV, leaky, bounded, ratio);
          const bytes = narrowToBytes(k, rq(lo4), rq(hi4), e.out as 'int8' | 'uint8', lo, hi, [rq(loB), rq(hiB)]);
          // each row's even/odd columns interleaved back: row oh in bytes 0-7, row oh + 1 in bytes 8-15
          vec.push(xv.set(k.i8x16.shuffle(bytes, k.i8x16.splat(c32(0)), [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15])));
          return vec;
        };
        const outA = () => i32.add(yrow.get(), ow.get()), outB = () => i32.add(yrow.get(), i32.add(ow.get(), c32(OW)));
        const storeA = () => k.v128.store64_lane(0, 1, 0, outA(), xv.get()), storeB = () => k.v128.store64_lane(0, 1, 1, outB(), xv.get());
        pairBody.push(prow.set(i32.add(plane.get(), i32.mul(oh.get(), c32(wp)))));
        if (OW % 8) {
          // The rows' last OW % 8 columns first: row oh's excess lands on row oh + 1's first columns, stored after
          // it; row oh + 1's on later outputs, except on the tensor's very last row.
          const lastPair = i32.and(i32.eq(nc.get(), c32(q.batch * C - 1)), i32.eq(oh.get(), c32(OH - 2)));
          pairBody.push(ow.set(c32(vecEnd)), ...compute2(), storeA(),
            k.if(lastPair, Array.from({ length: OW % 8 }, (_, l) => k.i32.store8(l, 1, outB(), k.i8x16.extract_lane_u(xv.get(), 8 + l))), [storeB()]));
        }
        if (vecEnd > 0) pairBody.push(ow.set(c32(0)), k.while(() => i32.lt_s(ow.get(), c32(vecEnd)), [...compute2(), storeA(), storeB(), ow.set(i32.add(ow.get(), c32(8)))]));
        pairBody.push(yrow.set(i32.add(yrow.get(), c32(2 * OW))));
      }
      // taps splatted once per channel
      channelSetup.push(multV.set(k.f32x4.splat(multC.get())));
      if (paired) {
        for (let kh = 0; kh < KH; kh++) for (let j = 0; j < pairs; j++) {
          const off = (kh * KW + 2 * j) * 2;
          const pair = 2 * j + 1 < KW ? k.i32.load(off, 2, wc.get()) : k.i32.load16_u(off, 2, wc.get());
          channelSetup.push(tapV[kh * pairs + j].set(k.i32x4.splat(pair)));
        }
      } else channelSetup.push(...tapV.map((t, i) => t.set(k.i16x8.splat(k.i32.load16_s(i * 2, 2, wc.get())))));
    }
    rowBody.push(k.while(() => i32.lt_s(ow.get(), c32(OW)), [...scalarOut, ow.set(i32.add(ow.get(), c32(1)))]));
    rowBody.push(yrow.set(i32.add(yrow.get(), c32(OW * eb))));

    // One input row into the plane, exactly W bytes (the border around it must keep the zero point): 8-byte words,
    // the last one overlapping the one before; a row shorter than a word byte by byte. Inline: a memory.copy call
    // per row costs more than the copy on 7x7 and 14x14 planes.
    const src = k.local('i32'), dst = k.local('i32'), off = k.local('i32');
    const copyRow = (): Expr[] => {
      const word = (at: () => Expr): Expr => k.i64.store(0, 1, i32.add(dst.get(), at()), k.i64.load(0, 1, i32.add(src.get(), at())));
      if (W < 8) return Array.from({ length: W }, (_, b) => k.i32.store8(b, 1, dst.get(), k.i32.load8_u(b, 1, src.get())));
      if (W <= 64) return [...Array.from({ length: W >> 3 }, (_, i) => word(() => c32(i * 8))), ...(W & 7 ? [word(() => c32(W - 8))] : [])];
      return [k.dynFor(off, c32(0), c32(W - 7), 8, () => word(() => off.get())), ...(W & 7 ? [word(() => c32(W - 8))] : [])];
    };
    const zpLoad = runtimeZp ? (xSigned ? k.i32.load8_s(0, 1, zpArg.get()) : k.i32.load8_u(0, 1, zpArg.get())) : zpArg.get();
    // the padding is the zero point (its byte), so that it contributes nothing once zp * sum(taps) is taken out
    const iBias = fout ? c32(0) : k.i32.load(0, 4, i32.add(bias.get(), i32.shl(c.get(), c32(2))));
    return [
      zp.set(zpLoad),
      k.fillWith(plane.get(), zp.get(), hp * wp + 32),
      xc.set(x.get()), yrow.set(y.get()),
      k.for(nc, 0, q.batch * C, 1, () => [
        c.set(i32.rem_u(nc.get(), c32(C))),
        wc.set(i32.add(wt.get(), i32.mul(c.get(), c32(T * 2)))),
        biasC.set(i32.sub(iBias, i32.mul(zp.get(), k.i32.load(0, 4, i32.add(sums.get(), i32.shl(c.get(), c32(2))))))),
        ...(fout ? [biasF.set(k.f32.load(0, 4, i32.add(bias.get(), i32.shl(c.get(), c32(2)))))] : []),
        multC.set(k.f32.load(0, 4, q.scaleOperand ? mult.get() : i32.add(mult.get(), i32.shl(c.get(), c32(2))))),
        ...channelSetup,
        k.for(ih, 0, H, 1, () => [src.set(i32.add(xc.get(), i32.mul(ih.get(), c32(W)))), dst.set(planeAt(i32.add(ih.get(), c32(pt)), c32(pl))), ...copyRow()]),
        ...(twoRows ? [k.for(oh, 0, OH - (OH & 1), 2, () => pairBody), ...(OH & 1 ? [oh.set(c32(OH - 1)), ...rowBody] : [])]
          : [k.for(oh, 0, OH, 1, () => rowBody)]),
        xc.set(i32.add(xc.get(), c32(H * W))),
      ]),
    ];
  });
  ctx.call(fn, [q.x.ptr, tapsPtr, ctx.outputs[0].ptr, biasPtr, multPtr, ctx.scratch(), typeof q.xZp === 'number' ? q.xZp : q.xZp.ptr, tapSumPtr]);
}
