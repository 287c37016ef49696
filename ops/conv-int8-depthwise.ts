// Depthwise 2-D int8 convolution (one input and one output channel per group; MobileNet's 3x3 layers), used by
// conv-int8.ts. Per channel the input is copied into a zero-bordered plane of i16 values minus the zero point, so
// padding contributes 0 and taps need no bounds tests; the taps (weights minus their zero point) are i16 splats.
// SIMD computes 8 output columns at a time with i32x4.extmul_{low,high}_i16x8_s (stride 2: the even lanes of 16
// values); with unit column dilation two taps of a row go through one i32x4.dot_i16x8_s; the epilogue is the int8
// GEMM's requantization. The scalar target computes the same integers.

import { actParams, narrowToBytes, requantLanes, requantScalar, zpOffset } from '../codegen/qgemm.js';
import type { Expr, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import type { QConvParams } from './conv-int8.js';
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

export function depthwiseInt8Scratch(geo: ConvGeometry): number {
  const { hp, wp } = planeGeo(geo);
  return hp * wp * 2 + 64;
}

export function emitDepthwiseInt8(ctx: EmitCtx<unknown>, q: QConvParams): void {
  const g = q.geo;
  const [H, W] = g.inSize, [OH, OW] = g.outSize, [KH, KW] = g.kernel, [sh, sw] = g.strides, [dh, dw] = g.dilations;
  const [pt, pl] = g.padBegin;
  const { hp, wp } = planeGeo(g);
  const C = q.cout, T = KH * KW;
  const taps = new Int16Array(C * T);
  for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) taps[c * T + t] = Number(q.w[c * T + t]) - q.wZp(c);
  const tapsPtr = ctx.data(new Uint8Array(taps.buffer));
  const e = q.epilogue;
  const fout = e.out === 'f32';
  // 'f32' output: a float bias added after the scaling; a run-time multiplier (scaleOperand) serves every channel
  const biasPtr = ctx.data(new Uint8Array((fout ? Float32Array.from({ length: C }, (_, c) => q.fbias?.[c] ?? 0)
    : Int32Array.from({ length: C }, (_, c) => q.bias?.[c] ?? 0)).buffer));
  const multPtr = q.scaleOperand ? q.scaleOperand.ptr : ctx.data(new Uint8Array(Float32Array.from({ length: C }, (_, c) => q.mult?.[c] ?? 0).buffer));
  const xSigned = q.x.dtype === 'int8';
  const runtimeZp = typeof q.xZp !== 'number';
  const eb = e.out === 'i32' || fout ? 4 : 1;
  const key = `qconv_dw:${!!q.scaleOperand}:${JSON.stringify(g)}:${q.batch}:${C}:${JSON.stringify(e)}:${xSigned}:${runtimeZp}:${q.yZp}:${JSON.stringify(q.act ?? null)}:${ctx.target}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, wt, y, bias, mult, plane, zpArg] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const nc = k.local('i32'), c = k.local('i32'), ih = k.local('i32'), oh = k.local('i32'), ow = k.local('i32'), iw = k.local('i32');
    const xc = k.local('i32'), yrow = k.local('i32'), prow = k.local('i32'), wc = k.local('i32');
    const zp = k.local('i32'), biasC = k.local('i32'), multC = k.local('f32'), biasF = k.local('f32');
    const src = k.local('i32'), dst = k.local('i32'), accS = k.local('i32');
    const [tlo, thi] = e.out === 'int8' ? [-128, 127] : [0, 255];
    const lo = Math.max(tlo, e.lo), hi = Math.min(thi, e.hi);
    // A fused Relu / Clip between two quantizations: its parameters are constants of this kernel, splatted at each
    // use rather than held in locals (the SIMD loop's registers are taken by the taps and accumulators).
    const actBits = q.act && e.out !== 'i32' ? new Int32Array(actParams(q.act).buffer) : undefined;
    const actV = actBits ? (i: number) => k.i32x4.splat(k.c32(actBits[i])) : undefined;
    const actS = actBits ? (i: number) => k.f32.reinterpret(k.c32(actBits[i])) : undefined;
    const leaky = q.act?.alpha !== undefined;
    const ld8 = (addr: Expr) => (xSigned ? k.i32.load8_s(0, 1, addr) : k.i32.load8_u(0, 1, addr));
    const planeAt = (row: Expr, col: Expr) => i32.add(plane.get(), i32.shl(i32.add(i32.mul(row, c32(wp)), col), c32(1)));

    // This channel's rows into the plane, minus the zero point (the border stays 0 from the fill).
    const copyRow: Expr[] = [src.set(i32.add(xc.get(), i32.mul(ih.get(), c32(W)))), dst.set(planeAt(i32.add(ih.get(), c32(pt)), c32(pl))), iw.set(c32(0))];
    if (k.simd) {
      copyRow.push(k.while(() => i32.le_s(i32.add(iw.get(), c32(8)), c32(W)), [
        k.v128.store(0, 2, i32.add(dst.get(), i32.shl(iw.get(), c32(1))),
          k.i16x8.sub(xSigned ? k.v128.load8x8_s(0, 1, i32.add(src.get(), iw.get())) : k.v128.load8x8_u(0, 1, i32.add(src.get(), iw.get())), k.i16x8.splat(zp.get()))),
        iw.set(i32.add(iw.get(), c32(8))),
      ]));
    }
    copyRow.push(k.while(() => i32.lt_s(iw.get(), c32(W)), [
      k.i32.store16(0, 2, i32.add(dst.get(), i32.shl(iw.get(), c32(1))), i32.sub(ld8(i32.add(src.get(), iw.get())), zp.get())),
      iw.set(i32.add(iw.get(), c32(1))),
    ]));

    // One output value (scalar target, and the SIMD path's tail): acc over the taps, then requantize and store.
    const scalarStore = (acc: Expr, at: Expr): Expr => {
      if (e.out === 'i32') return k.i32.store(0, 4, at, acc);
      if (fout) {
        const v = k.f32.add(k.f32.mul(k.f32.convert_s.i32(acc), multC.get()), biasF.get());
        return k.f32.store(0, 4, at, e.relu ? k.f32.max(v, k.cf32(0)) : v);
      }
      const v = requantScalar(k, k.f32.mul(k.f32.convert_s.i32(acc), multC.get()), () => k.cf32(q.yZp), actS, leaky);
      return k.i32.store8(0, 1, at, k.i32.trunc_s_sat.f32(k.f32.min(k.f32.max(v, k.cf32(lo)), k.cf32(hi))));
    };
    const scalarOut: Expr[] = [accS.set(biasC.get())];
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const at = i32.add(prow.get(), i32.shl(i32.add(i32.mul(ow.get(), c32(sw)), c32(kh * dh * wp + kw * dw)), c32(1)));
      scalarOut.push(accS.set(i32.add(accS.get(), i32.mul(k.i32.load16_s(0, 2, at), k.i32.load16_s((kh * KW + kw) * 2, 2, wc.get())))));
    }
    scalarOut.push(scalarStore(accS.get(), i32.add(yrow.get(), i32.mul(ow.get(), c32(eb)))));

    const channelSetup: Expr[] = [];
    const rowBody: Expr[] = [prow.set(i32.add(plane.get(), i32.mul(oh.get(), c32(sh * wp * 2)))), ow.set(c32(0))];
    if (k.simd) {
      const lo4 = k.local('v128'), hi4 = k.local('v128'), xv = k.local('v128');
      // Unit column dilation: taps (kw, kw+1) of a row go in pairs through i32x4.dot_i16x8_s (an odd last tap pairs
      // with 0); stride 2 reads the pairs as they lie, stride 1 computes the even and the odd columns from two
      // loads one value apart (no shuffles) and interleaves them once at the end.
      // Otherwise each tap multiplies 8 columns with extmul.
      const paired = dw === 1;
      const pairs = Math.ceil(KW / 2);
      const tapV: Local[] = Array.from({ length: paired ? KH * pairs : T }, () => k.local('v128'));
      // 8 output columns from ow; a row's last `tail` columns (tail > 0) store only those lanes
      const vecStep = (tail: number): Expr[] => {
        const vec: Expr[] = [lo4.set(k.i32x4.splat(biasC.get())), hi4.set(k.i32x4.splat(biasC.get()))];
        if (paired) {
          for (let kh = 0; kh < KH; kh++) for (let j = 0; j < pairs; j++) {
            const at = (extra: number) => i32.add(prow.get(), i32.shl(i32.add(i32.mul(ow.get(), c32(sw)), c32(kh * dh * wp + 2 * j + extra)), c32(1)));
            const t = tapV[kh * pairs + j];
            // stride 2: the 8 pairs as they lie, columns 0-3 then 4-7; stride 1: the pairs at an even offset are the
            // even columns and at an odd offset the odd ones (interleaved back at the end)
            const lo = k.v128.load(0, 2, at(0));
            const hi = k.v128.load(0, 2, at(sw === 2 ? 8 : 1));
            vec.push(lo4.set(k.i32x4.add(lo4.get(), k.i32x4.dot_i16x8_s(lo, t.get()))), hi4.set(k.i32x4.add(hi4.get(), k.i32x4.dot_i16x8_s(hi, t.get()))));
          }
        }
        // stride 1 paired: lo4 holds columns 0, 2, 4, 6 and hi4 columns 1, 3, 5, 7
        const evenOdd = paired && sw === 1;
        for (let kh = 0; kh < KH && !paired; kh++) for (let kw = 0; kw < KW; kw++) {
          const at = (extra: number) => i32.add(prow.get(), i32.shl(i32.add(i32.mul(ow.get(), c32(sw)), c32(kh * dh * wp + kw * dw + extra)), c32(1)));
          const input = sw === 1 ? k.v128.load(0, 2, at(0))
            : k.i8x16.shuffle(k.v128.load(0, 2, at(0)), k.v128.load(0, 2, at(8)), [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29]);
          const t = tapV[kh * KW + kw];
          vec.push(xv.set(input),
            lo4.set(k.i32x4.add(lo4.get(), k.i32x4.extmul_low_i16x8_s(xv.get(), t.get()))),
            hi4.set(k.i32x4.add(hi4.get(), k.i32x4.extmul_high_i16x8_s(xv.get(), t.get()))));
        }
        const out = () => i32.add(yrow.get(), i32.mul(ow.get(), c32(eb)));
        if (fout) {
          const f = (v: Local) => {
            const y = k.f32x4.add(k.f32x4.mul(k.f32x4.convert_i32x4_s(v.get()), k.f32x4.splat(multC.get())), k.f32x4.splat(biasF.get()));
            return e.relu ? k.f32x4.pmax(y, k.f32x4.splat(k.cf32(0))) : y;
          };
          vec.push(lo4.set(f(lo4)), hi4.set(f(hi4)));
        }
        if ((e.out === 'i32' || fout) && evenOdd) {
          // 32-bit lanes back in column order: (e0 o0 e1 o1), (e2 o2 e3 o3)
          const lanes = (l: number[]) => l.flatMap((v) => [0, 1, 2, 3].map((b) => v * 4 + b));
          vec.push(xv.set(k.i8x16.shuffle(lo4.get(), hi4.get(), lanes([0, 4, 1, 5]))), hi4.set(k.i8x16.shuffle(lo4.get(), hi4.get(), lanes([2, 6, 3, 7]))), lo4.set(xv.get()));
        }
        if (e.out === 'i32' || fout) {
          if (!tail) vec.push(k.v128.store(0, 4, out(), lo4.get()), k.v128.store(16, 4, out(), hi4.get()));
          for (let l = 0; l < tail; l++) vec.push(k.i32.store(l * 4, 4, out(), k.i32x4.extract_lane((l < 4 ? lo4 : hi4).get(), l & 3)));
        } else {
          const rq = (v: Local) => requantLanes(k, k.f32x4.mul(k.f32x4.convert_i32x4_s(v.get()), k.f32x4.splat(multC.get())), () => zpOffset(k, c32(q.yZp)), actV, leaky);
          const bytes = narrowToBytes(k, rq(lo4), rq(hi4), e.out as 'int8' | 'uint8', lo, hi);
          // even/odd columns: bytes e0..e3 o0..o3 interleaved back
          const narrow = evenOdd ? k.i8x16.shuffle(bytes, k.i8x16.splat(c32(0)), [0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15]) : bytes;
          if (!tail) vec.push(k.v128.store64_lane(0, 1, 0, out(), narrow));
          else {
            vec.push(xv.set(narrow));
            for (let l = 0; l < tail; l++) vec.push(k.i32.store8(l, 1, out(), k.i8x16.extract_lane_u(xv.get(), l)));
          }
        }
        return vec;
      };
      const vecEnd = OW - (OW % 8);
      if (vecEnd > 0) rowBody.push(k.while(() => i32.lt_s(ow.get(), c32(vecEnd)), [...vecStep(0), ow.set(i32.add(ow.get(), c32(8)))]));
      // the row's last OW % 8 columns: one more step (the plane's slack holds what it reads past the row)
      if (OW % 8) rowBody.push(...vecStep(OW % 8), ow.set(c32(OW)));
      // taps splatted once per channel
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

    const zpLoad = runtimeZp ? ld8(zpArg.get()) : zpArg.get();
    return [
      zp.set(zpLoad),
      k.fill(plane.get(), 0, hp * wp * 2 + 64),
      xc.set(x.get()), yrow.set(y.get()),
      k.for(nc, 0, q.batch * C, 1, () => [
        c.set(i32.rem_u(nc.get(), c32(C))),
        wc.set(i32.add(wt.get(), i32.mul(c.get(), c32(T * 2)))),
        ...(fout ? [biasC.set(c32(0)), biasF.set(k.f32.load(0, 4, i32.add(bias.get(), i32.shl(c.get(), c32(2)))))]
          : [biasC.set(k.i32.load(0, 4, i32.add(bias.get(), i32.shl(c.get(), c32(2)))))]),
        multC.set(k.f32.load(0, 4, q.scaleOperand ? mult.get() : i32.add(mult.get(), i32.shl(c.get(), c32(2))))),
        ...channelSetup,
        k.for(ih, 0, H, 1, () => copyRow),
        k.for(oh, 0, OH, 1, () => rowBody),
        xc.set(i32.add(xc.get(), c32(H * W))),
      ]),
    ];
  });
  ctx.call(fn, [q.x.ptr, tapsPtr, ctx.outputs[0].ptr, biasPtr, multPtr, ctx.scratch(), typeof q.xZp === 'number' ? q.xZp : q.xZp.ptr]);
}
