// ImageInput (onnx2wasm.internal): an 8-bit frame (height x width x 4/3/1 channels: RGBA, RGB, gray, as a
// canvas ImageData or a camera gives it) -> the model's float32 image tensor. Inserted by the image-input pass
// (src/passes/image-input.ts), never read from a model. In one kernel: an optional centre crop to the tensor's
// aspect ratio, a bilinear resize, channel conversion, (x / 255 - mean) / std, and the NCHW or NHWC layout.
//
// The resize is separable, with the taps and weights of each output row and column computed here at compile time
// and placed as data: a triangle filter widened by the scale when shrinking (PIL's BILINEAR, ONNX Resize with
// antialias=1 and half_pixel coordinates), so a 480x640 frame shrunk to 16x16 averages every pixel instead of
// sampling four. Pass 1 filters each frame row horizontally into float rows in scratch memory (the arena); pass 2
// filters those vertically, normalizes and stores in the tensor's layout.

import type { Expr, Kernel } from '../codegen/wasm.js';
import { defineOp } from './types.js';

export type ImageFormat = 'RGBA' | 'RGB' | 'GRAY';
export type ImageLayout = 'NCHW' | 'NHWC';
export const FORMAT_CHANNELS: Record<ImageFormat, number> = { RGBA: 4, RGB: 3, GRAY: 1 };
/** ITU-R BT.601 luma, for a colour frame feeding a one-channel model. */
const LUMA = [0.299, 0.587, 0.114];

export interface ImageInputAttrs {
  format: ImageFormat;
  layout: ImageLayout;
  crop: boolean;
  /** Per tensor channel, applied to x / 255. */
  mean: number[];
  std: number[];
  /** The model's tensor shape (rank 3 or 4; a leading batch of 1). */
  shape: number[];
}

/** Channels, height and width of the tensor for a layout (rank 4 with batch 1, or rank 3 without). */
export function tensorDims(shape: readonly number[], layout: ImageLayout): { c: number; h: number; w: number } {
  const [a, b, c] = shape.slice(-3);
  return layout === 'NCHW' ? { c: a, h: b, w: c } : { c, h: a, w: b };
}

/**
 * How tensor channel c mixes the frame's channels: coefficients per frame channel, or undefined when the
 * conversion makes no sense (a four-channel tensor from RGB, a two-channel tensor).
 */
export function channelMix(format: ImageFormat, channels: number): number[][] | undefined {
  const src = FORMAT_CHANNELS[format];
  const unit = (s: number) => Array.from({ length: src }, (_, i) => (i === s ? 1 : 0));
  if (channels === src) return Array.from({ length: channels }, (_, c) => unit(c));
  if (channels === 3 && format === 'RGBA') return [unit(0), unit(1), unit(2)];
  if (channels === 3 && format === 'GRAY') return [unit(0), unit(0), unit(0)];
  if (channels === 1 && format !== 'GRAY') return [[...LUMA, ...(src === 4 ? [0] : [])]];
  return undefined;
}

/** The centred region of `size` pixels with the tensor's aspect ratio ([start, length] per axis), or the whole frame. */
export function cropRegion(frameH: number, frameW: number, h: number, w: number, crop: boolean): { y: [number, number]; x: [number, number] } {
  if (!crop) return { y: [0, frameH], x: [0, frameW] };
  // Compare frameW/frameH with w/h without rounding: the wider one is cut.
  if (frameW * h > w * frameH) {
    const cw = Math.max(1, Math.round((frameH * w) / h));
    return { y: [0, frameH], x: [Math.floor((frameW - cw) / 2), cw] };
  }
  const ch = Math.max(1, Math.round((frameW * h) / w));
  return { y: [Math.floor((frameH - ch) / 2), ch], x: [0, frameW] };
}

/**
 * Taps of the 1-D resize from `length` pixels starting at `start` to `out` pixels: for each output pixel the
 * first input pixel and `taps` weights (zero-padded, summing to 1), all windows the same width and inside the
 * region so that the kernel loops a constant count without bounds checks.
 */
export function resizeTaps(start: number, length: number, out: number): { taps: number; first: number[]; weights: number[][] } {
  const scale = length / out;
  const support = Math.max(1, scale); // the triangle's half-width, in input pixels
  const windows = Array.from({ length: out }, (_, o) => {
    const center = start + (o + 0.5) * scale;
    const lo = Math.max(start, Math.floor(center - support));
    const hi = Math.min(start + length, Math.ceil(center + support));
    const ws: number[] = [];
    for (let i = lo; i < hi; i++) ws.push(Math.max(0, 1 - Math.abs(i + 0.5 - center) / support));
    const sum = ws.reduce((a, b) => a + b, 0);
    return { lo, ws: ws.map((x) => x / sum) };
  });
  const taps = Math.min(length, Math.max(...windows.map((w) => w.ws.length)));
  const first: number[] = [], weights: number[][] = [];
  for (const { lo, ws } of windows) {
    const from = Math.min(lo, start + length - taps); // slide a window that would run past the region's end
    const padded = new Array<number>(taps).fill(0);
    ws.forEach((x, i) => { padded[lo - from + i] = x; });
    first.push(from);
    weights.push(padded);
  }
  return { taps, first, weights };
}

/** A table of entries (one i32 then `taps` f32 weights) as bytes for the data section. */
function tapTable(offsets: number[], weights: number[][]): Uint8Array {
  const taps = weights[0].length;
  const view = new DataView(new ArrayBuffer(offsets.length * 4 * (1 + taps)));
  offsets.forEach((off, o) => {
    const at = o * 4 * (1 + taps);
    view.setInt32(at, off, true);
    weights[o].forEach((x, t) => view.setFloat32(at + 4 + 4 * t, x, true));
  });
  return new Uint8Array(view.buffer);
}

interface Geometry {
  frameW: number; src: number; c: number; h: number; w: number;
  rowLo: number; rows: number;
  horiz: ReturnType<typeof resizeTaps>; vert: ReturnType<typeof resizeTaps>;
}

function geometry(frame: readonly number[], a: ImageInputAttrs): Geometry {
  const [frameH, frameW, src] = frame;
  const { c, h, w } = tensorDims(a.shape, a.layout);
  const region = cropRegion(frameH, frameW, h, w, a.crop);
  const horiz = resizeTaps(region.x[0], region.x[1], w);
  const vert = resizeTaps(region.y[0], region.y[1], h);
  // Only the frame rows some output row reads are filtered horizontally.
  const rowLo = Math.min(...vert.first);
  const rows = Math.max(...vert.first) + vert.taps - rowLo;
  return { frameW, src, c, h, w, rowLo, rows, horiz, vert };
}

export const ImageInput = defineOp<ImageInputAttrs>({
  op: 'ImageInput', domain: 'onnx2wasm.internal', // INTERNAL_DOMAIN (ops/index.ts imports this file)
   since: 1, dtypes: ['uint8'],
  notes: 'Inserted by --image-input: 8-bit RGBA/RGB/gray frame -> centre crop, bilinear resize, normalize, NCHW/NHWC float32',
  attrs(a) {
    return {
      format: a.string('format') as ImageFormat,
      layout: a.string('layout') as ImageLayout,
      crop: a.int('crop') !== 0,
      mean: a.floats('mean'),
      std: a.floats('std'),
      shape: a.ints('shape'),
    };
  },
  infer(ctx) {
    const x = ctx.inputs[0];
    const { format, layout, shape, mean, std } = ctx.attrs;
    if (!x || x.dtype !== 'uint8' || x.shape.length !== 3 || x.shape[2] !== FORMAT_CHANNELS[format]) ctx.fail(`needs a uint8 ${format} frame (height x width x ${FORMAT_CHANNELS[format]})`);
    const { c, h, w } = tensorDims(shape, layout);
    if (!channelMix(format, c)) ctx.fail(`cannot make ${c} channels from a ${format} frame`);
    if (mean.length !== c || std.length !== c || std.some((s) => !(s !== 0 && Number.isFinite(s)))) ctx.fail(`needs ${c} means and ${c} non-zero standard deviations`);
    if (!(h > 0 && w > 0 && x!.shape[0] > 0 && x!.shape[1] > 0)) ctx.fail('frame and tensor must not be empty');
    return [{ dtype: 'float32', shape }];
  },
  scratch(ctx) {
    const g = geometry(ctx.inputs[0]!.shape, ctx.attrs);
    return g.rows * g.w * g.c * 4;
  },
  emit(ctx) {
    const a = ctx.attrs;
    const g = geometry(ctx.inputs[0]!.shape, a);
    const mix = channelMix(a.format, g.c)!;
    const rowBytes = g.w * g.c * 4; // one horizontally filtered row in scratch
    // Table entries: the byte offset of the first tap (in the frame row; in scratch) and its weights.
    const hTable = ctx.data(tapTable(g.horiz.first.map((x) => x * g.src), g.horiz.weights));
    const vTable = ctx.data(tapTable(g.vert.first.map((y) => (y - g.rowLo) * rowBytes), g.vert.weights));
    const scale = a.std.map((s) => 1 / (255 * s));
    const bias = a.std.map((s, c) => -a.mean[c] / s);
    const key = `image|${a.format}|${a.layout}|${g.frameW}|${g.src}|${g.c}x${g.h}x${g.w}|${g.rowLo}+${g.rows}|${g.horiz.taps}|${g.vert.taps}|${hTable}|${vTable}|${scale}|${bias}`;
    const fn = ctx.kernel(key, ['i32', 'i32', 'i32'], (k) => {
      const [frame, out, tmp] = k.params;
      return [
        horizontalPass(k, g, mix, frame.get(), tmp.get(), hTable),
        verticalPass(k, g, a.layout, scale, bias, tmp.get(), out.get(), vTable),
      ];
    });
    ctx.call(fn, [ctx.inputs[0]!.ptr, ctx.outputs[0].ptr, ctx.scratch()]);
  },
});

/** Each used frame row, filtered across: tmp[row][x][c] = sum over taps of weight * mix(frame pixel). */
function horizontalPass(k: Kernel, g: Geometry, mix: number[][], frame: Expr, tmp: Expr, table: number): Expr {
  const { f32, i32 } = k;
  const used = [...Array(g.src).keys()].filter((s) => mix.some((m) => m[s] !== 0)); // alpha is never read
  const acc = used.map(() => k.local('f32'));
  const row = k.local('i32'), entry = k.local('i32'), px = k.local('i32'), weight = k.local('f32'), dst = k.local('i32');
  const entryBytes = 4 * (1 + g.horiz.taps);
  return k.block([
    dst.set(tmp),
    k.loop(g.rowLo, g.rowLo + g.rows, (r) => [
      row.set(i32.mul(r.get(), k.c32(g.frameW * g.src))),
      k.loop(0, g.w, (x) => [
        entry.set(i32.add(k.c32(table), i32.mul(x.get(), k.c32(entryBytes)))),
        px.set(i32.add(i32.add(k.m.copyExpression(frame), row.get()), i32.load(0, 4, entry.get()))),
        ...acc.map((l) => l.set(k.cf32(0))),
        k.loop(0, g.horiz.taps, (t) => [
          weight.set(f32.load(4, 4, i32.add(entry.get(), i32.shl(t.get(), k.c32(2))))),
          ...used.map((s, j) => acc[j].set(f32.add(acc[j].get(), f32.mul(weight.get(), f32.convert_u.i32(i32.load8_u(s, 1, px.get())))))),
          px.set(i32.add(px.get(), k.c32(g.src))),
        ]),
        ...mix.map((m, c) => f32.store(4 * c, 4, dst.get(), used.reduce<Expr>((sum, s, j) =>
          (m[s] === 0 ? sum : f32.add(sum, m[s] === 1 ? acc[j].get() : f32.mul(k.cf32(m[s]), acc[j].get()))), k.cf32(0)))),
        dst.set(i32.add(dst.get(), k.c32(4 * g.c))),
      ]),
    ]),
  ]);
}

/** Each output row: the filtered rows it covers, summed down, normalized, stored in the tensor's layout. */
function verticalPass(k: Kernel, g: Geometry, layout: ImageLayout, scale: number[], bias: number[], tmp: Expr, out: Expr, table: number): Expr {
  const { f32, i32 } = k;
  const rowBytes = g.w * g.c * 4;
  const entryBytes = 4 * (1 + g.vert.taps);
  const entry = k.local('i32'), src = k.local('i32'), weight = k.local('f32');
  const acc = Array.from({ length: g.c }, () => k.local('f32'));
  // Byte address of output (c, y, x) = base + c * cStride + y * yStride + x * xStride.
  const [cStride, yStride, xStride] = layout === 'NCHW' ? [g.h * g.w * 4, g.w * 4, 4] : [4, g.w * g.c * 4, g.c * 4];
  return k.loop(0, g.h, (y) => [
    entry.set(i32.add(k.c32(table), i32.mul(y.get(), k.c32(entryBytes)))),
    k.loop(0, g.w, (x) => [
      src.set(i32.add(i32.add(k.m.copyExpression(tmp), i32.load(0, 4, entry.get())), i32.mul(x.get(), k.c32(4 * g.c)))),
      ...acc.map((l) => l.set(k.cf32(0))),
      k.loop(0, g.vert.taps, (t) => [
        weight.set(f32.load(4, 4, i32.add(entry.get(), i32.shl(t.get(), k.c32(2))))),
        ...acc.map((l, c) => l.set(f32.add(l.get(), f32.mul(weight.get(), f32.load(4 * c, 4, src.get()))))),
        src.set(i32.add(src.get(), k.c32(rowBytes))),
      ]),
      ...acc.map((l, c) => f32.store(c * cStride, 4,
        i32.add(k.m.copyExpression(out), i32.add(i32.mul(y.get(), k.c32(yStride)), i32.mul(x.get(), k.c32(xStride)))),
        f32.add(f32.mul(l.get(), k.cf32(scale[c])), k.cf32(bias[c])))),
    ]),
  ]);
}
