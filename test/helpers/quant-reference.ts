// The ONNX specification's arithmetic for the quantized linear ops, written plainly in JS as a second oracle.
// onnxruntime's int8 kernels round differently on different CPUs (fused multiply-add, fixed-point requantize),
// so tests compare our int8 outputs with these exactly and with onnxruntime within one unit.
//
// Requantization, as onnx2wasm defines it (the spec leaves the precision open): the integer accumulator
// (acc + bias) is converted to float32 and multiplied by the float32 multiplier (x_scale * w_scale) / y_scale,
// the product rounded to float32, then rounded half to even, offset by y_zero_point and saturated.

import type { Tensor } from '../../src/ir/graph.js';

const RANGE: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255] };

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function requantize(acc: number, multiplier: number, zp: number, dtype: string): number {
  const [lo, hi] = RANGE[dtype];
  const v = roundHalfEven(Math.fround(Math.fround(acc) * multiplier)) + zp;
  return Math.min(hi, Math.max(lo, v));
}

/** float32 (xScale * wScale) / yScale, as the kernels compute it. */
export const multiplierOf = (xs: number, ws: number, ys: number) => Math.fround(Math.fround(xs * ws) / ys);

const num = (t: Tensor, i = 0) => Number(t.data[t.data.length === 1 ? 0 : i]);

/** QLinearMatMul for 2-D or batched A [.., M, K] x B [K, N] (B not batched), per-tensor parameters. */
export function qlinearMatMulRef(a: Tensor, as: Tensor, az: Tensor, b: Tensor, bs: Tensor, bz: Tensor, ys: Tensor, yz: Tensor): Tensor {
  const [K, N] = b.shape.slice(-2);
  const M = a.shape[a.shape.length - 2];
  const batches = a.data.length / (M * K);
  const bBatch = b.shape.length > 2 ? b.data.length / (K * N) : 1;
  const outBatches = Math.max(batches, bBatch);
  const out = new (yz.dtype === 'int8' ? Int8Array : Uint8Array)(outBatches * M * N);
  const mult = multiplierOf(num(as), num(bs), num(ys));
  for (let t = 0; t < outBatches; t++) {
    const ao = (batches === 1 ? 0 : t) * M * K, bo = (bBatch === 1 ? 0 : t) * K * N;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (Number(a.data[ao + m * K + k]) - num(az)) * (Number(b.data[bo + k * N + n]) - num(bz));
      out[t * M * N + m * N + n] = requantize(acc, mult, num(yz), yz.dtype);
    }
  }
  const shape = [...(a.shape.length >= b.shape.length ? a.shape.slice(0, -1) : [...b.shape.slice(0, -2), M]), N];
  return { dtype: yz.dtype, shape, data: out };
}

export interface Conv2dAttrs { pads?: number[]; strides?: number[]; dilations?: number[]; group?: number }

/** QLinearConv, 2-D, NOTSET padding; weight scale and zero point per tensor or per output channel. */
export function qlinearConv2dRef(x: Tensor, xs: Tensor, xz: Tensor, w: Tensor, ws: Tensor, wz: Tensor, ys: Tensor, yz: Tensor, bias: Tensor | undefined, at: Conv2dAttrs): Tensor {
  const [N, C, H, W] = x.shape, [M, cg, KH, KW] = w.shape;
  const [pt, pl, pb, pr] = at.pads ?? [0, 0, 0, 0];
  const [sh, sw] = at.strides ?? [1, 1], [dh, dw] = at.dilations ?? [1, 1];
  const group = at.group ?? 1, mg = M / group;
  const OH = Math.floor((H + pt + pb - ((KH - 1) * dh + 1)) / sh) + 1;
  const OW = Math.floor((W + pl + pr - ((KW - 1) * dw + 1)) / sw) + 1;
  const out = new (yz.dtype === 'int8' ? Int8Array : Uint8Array)(N * M * OH * OW);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const g = Math.floor(m / mg);
    const mult = multiplierOf(num(xs), num(ws, m), num(ys));
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let acc = bias ? Number(bias.data[m]) : 0;
      for (let c = 0; c < cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const ih = oh * sh + kh * dh - pt, iw = ow * sw + kw * dw - pl;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        const xv = Number(x.data[((n * C + g * cg + c) * H + ih) * W + iw]) - num(xz);
        const wv = Number(w.data[((m * cg + c) * KH + kh) * KW + kw]) - num(wz, m);
        acc += xv * wv;
      }
      out[((n * M + m) * OH + oh) * OW + ow] = requantize(acc, mult, num(yz), yz.dtype);
    }
  }
  return { dtype: yz.dtype, shape: [N, M, OH, OW], data: out };
}
