// Space-to-depth Winograd for float32 convolutions with a large stride (stems such as AlexNet's 11x11 stride 4),
// on the 'simd' target. A stride-s convolution over C channels equals a stride-1 convolution over C*s*s channels
// of the input cut into s x s blocks, with the kernel cut the same way into ceil(K/s) x ceil(K/s) blocks (taps past
// K are zero). When that blocked kernel is 3x3 or 5x5, the Winograd kernels (conv-winograd.ts) run it: 11x11
// stride 4 on 3 channels becomes 3x3 on 48 channels, 16 products per 2x2 outputs and channel, i.e. 4 * 48 = 192
// multiplies per output where the direct convolution does 3 * 121 = 363.
// The blocked input is the im2col of an s x s kernel at stride s (its rows are channel, row and column within the
// block; its columns the block positions), written to scratch for the whole batch; the Winograd input transform then
// reads it with no padding.

import { im2col } from '../codegen/im2col.js';
import type { FusedAttrs } from '../codegen/gemm.js';
import type { ConvGeometry } from './conv-geometry.js';
import { emitWinograd, winogradPlan, WINOGRAD_SCHEMES, type WinogradPlan } from './conv-winograd.js';
import type { EmitCtx, Operand } from './types.js';

/**
 * The blocked convolution must need at most this share of the direct one's multiplies: the blocking copy and the
 * Winograd transforms cost the rest. Measured against im2col + GEMM: 11x11 stride 4 (share 0.53) 3->48 at 224 1.7x
 * faster, 9x9 stride 3 (0.44) 16->32 at 96 2.2x, 7x7 stride 3 (0.73) 3->32 at 224 1.2x, 5x5 stride 2 (0.64)
 * 3->32 at 224 1.5x, 32->64 at 56 1.1x, 64->128 at 28 1.04x.
 */
const MAX_WORK = 0.75;

export interface SpaceToDepthPlan {
  /** Stride (both axes) = block size; the blocked kernel's size. */
  s: number; kq: number;
  cin: number; H: number; W: number;
  /** The im2col that writes the blocked input (kernel s x s, stride s, the convolution's padding). */
  blocking: ConvGeometry;
  /** Bytes of one sample's blocked input. */
  sampleBytes: number;
  /** The stride-1 Winograd convolution over the blocked input (its scratch follows the blocked input's). */
  winograd: WinogradPlan;
  scratch: number;
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;

/** The plan when space-to-depth + Winograd fits this convolution (any target: scratch() does not know it), else undefined. */
export function spaceToDepthPlan(geo: ConvGeometry, batch: number, cin: number, cout: number, group: number): SpaceToDepthPlan | undefined {
  if (geo.inSize.length !== 2 || group !== 1 || geo.dilations.some((d) => d !== 1)) return undefined;
  const [s, sw] = geo.strides, [KH, KW] = geo.kernel;
  if (s < 2 || sw !== s) return undefined;
  const kq = Math.ceil(KH / s);
  if (Math.ceil(KW / s) !== kq || (kq !== 3 && kq !== 5)) return undefined;
  const scheme = WINOGRAD_SCHEMES[kq];
  if ((scheme.n * scheme.n * s * s) / 4 > MAX_WORK * KH * KW) return undefined;
  const [H, W] = geo.inSize, [OH, OW] = geo.outSize;
  const H2 = OH + kq - 1, W2 = OW + kq - 1;
  const blocked: ConvGeometry = {
    inSize: [H2, W2], kernel: [kq, kq], outSize: [OH, OW], strides: [1, 1], dilations: [1, 1], padBegin: [0, 0], padEnd: [0, 0],
  };
  const winograd = winogradPlan(scheme, blocked, batch, cin * s * s, cout, 1);
  if (!winograd) return undefined;
  const blocking: ConvGeometry = {
    inSize: [H, W], kernel: [s, s], outSize: [H2, W2], strides: [s, s], dilations: [1, 1], padBegin: geo.padBegin,
    padEnd: [s * H2 - H - geo.padBegin[0], s * W2 - W - geo.padBegin[1]],
  };
  const sampleBytes = cin * s * s * H2 * W2 * 4;
  return { s, kq, cin, H, W, blocking, sampleBytes, winograd, scratch: up(batch * sampleBytes, 64) + winograd.scratch };
}

/** Weights [Cout][Cin][K][K] -> [Cout][Cin*s*s][kq][kq]: blocked channel (c, ry, rx), tap (qy, qx) = tap (s*qy+ry, s*qx+rx). */
function blockWeights(w: Float32Array, cout: number, p: SpaceToDepthPlan, KH: number, KW: number): Float32Array {
  const { s, kq, cin } = p;
  const out = new Float32Array(cout * cin * s * s * kq * kq);
  let at = 0;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      for (let ry = 0; ry < s; ry++) {
        for (let rx = 0; rx < s; rx++) {
          for (let qy = 0; qy < kq; qy++) {
            for (let qx = 0; qx < kq; qx++, at++) {
              const ky = s * qy + ry, kx = s * qx + rx;
              if (ky < KH && kx < KW) out[at] = w[((o * cin + c) * KH + ky) * KW + kx];
            }
          }
        }
      }
    }
  }
  return out;
}

export function emitSpaceToDepth(ctx: EmitCtx<FusedAttrs & object>, p: SpaceToDepthPlan, x: Operand, w: Operand, b: Operand | undefined, res: Operand | undefined): void {
  const [cout, , KH, KW] = w.shape;
  const blocked = ctx.scratch();
  const [H2, W2] = p.blocking.outSize;
  const blocking = im2col(ctx, { geo: p.blocking, channels: p.cin, elemBytes: 4, rowBytes: H2 * W2 * 4 });
  const key = `space_to_depth:${JSON.stringify(p.blocking)}:${p.cin}:${p.winograd.batch}`;
  const fn = ctx.kernel(key, ['i32', 'i32'], (k) => {
    const [xp, dst] = k.params;
    const { i32 } = k;
    const n = k.local('i32');
    return [k.for(n, 0, p.winograd.batch, 1, () => blocking(k,
      i32.add(xp.get(), i32.mul(n.get(), k.c32(p.cin * p.H * p.W * 4))),
      i32.add(dst.get(), i32.mul(n.get(), k.c32(p.sampleBytes))),
      k.c32(0), k.c32(H2)))];
  });
  ctx.call(fn, [x.ptr, blocked]);
  emitWinograd(ctx, p.winograd, {
    x: blocked, weights: blockWeights(w.const!.data as Float32Array, cout, p, KH, KW), b, res,
    scratch: blocked + up(p.winograd.batch * p.sampleBytes, 64),
  });
}
