// Fused image input (imageInputs / --image-input): an 8-bit frame -> crop, bilinear resize, channels, normalize,
// layout, inside the module. Checked against a direct reference computed here (every output pixel as a weighted
// sum over the whole frame, in float64), against onnxruntime's Resize (linear, antialias=1, half_pixel), and end
// to end on the digits model.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { compile, CompileError, type ImageInputOptions } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import { load } from '../runtime-min/index.js';
import { runOrt, validateWithWabt } from './helpers/oracle.js';
import { REPO_ROOT } from './helpers/shared.js';

const CHANNELS = { RGBA: 4, RGB: 3, GRAY: 1 } as const;
const TARGETS = ['simd', 'scalar'] as const;

function randomFrame(h: number, w: number, ch: number, seed: number): Uint8ClampedArray {
  let s = seed >>> 0;
  return Uint8ClampedArray.from({ length: h * w * ch }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24));
}

/** A model that returns its float32 image input (through Identity): the module's output is the pre-processed tensor. */
function identityModel(shape: (number | string)[]): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/**
 * The reference, written from the definition rather than from the kernel's tables: the centred crop to the
 * tensor's aspect ratio, then per output pixel the triangle-weighted average over the region (half-pixel
 * centres; the triangle's half-width is max(1, scale)), then channels (BT.601 luma for one channel from colour),
 * then (x / 255 - mean) / std, in the layout.
 */
function reference(frame: Uint8ClampedArray, fh: number, fw: number, opt: ImageInputOptions, c: number, h: number, w: number): Float64Array {
  const src = CHANNELS[opt.format];
  let [y0, rh, x0, rw] = [0, fh, 0, fw];
  if (opt.crop) {
    if (fw / fh > w / h) { rw = Math.round((fh * w) / h); x0 = Math.floor((fw - rw) / 2); }
    else { rh = Math.round((fw * h) / w); y0 = Math.floor((fh - rh) / 2); }
  }
  const weights = (start: number, len: number, out: number, o: number) => {
    const scale = len / out, support = Math.max(1, scale), center = start + (o + 0.5) * scale;
    const ws = Array.from({ length: len }, (_, i) => Math.max(0, 1 - Math.abs(start + i + 0.5 - center) / support));
    const sum = ws.reduce((a, b) => a + b, 0);
    return ws.map((x) => x / sum);
  };
  const mean = (i: number) => (opt.mean ? opt.mean[opt.mean.length === 1 ? 0 : i] : 0);
  const std = (i: number) => (opt.std ? opt.std[opt.std.length === 1 ? 0 : i] : 1);
  const pixel = (i: number, j: number, ch: number) => {
    const p = (i * fw + j) * src;
    if (c === 1 && src >= 3) return 0.299 * frame[p] + 0.587 * frame[p + 1] + 0.114 * frame[p + 2];
    return frame[p + (src === 1 ? 0 : ch)];
  };
  const out = new Float64Array(c * h * w);
  for (let y = 0; y < h; y++) {
    const wy = weights(y0, rh, h, y);
    for (let x = 0; x < w; x++) {
      const wx = weights(x0, rw, w, x);
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let i = 0; i < rh; i++) if (wy[i]) for (let j = 0; j < rw; j++) v += wy[i] * wx[j] * pixel(y0 + i, x0 + j, ch);
        const at = opt.layout === 'NHWC' ? (y * w + x) * c + ch : (ch * h + y) * w + x;
        out[at] = (v / 255 - mean(ch)) / std(ch);
      }
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Case { what: string; shape: (number | string)[]; opt: ImageInputOptions; c: number; h: number; w: number }
const CASES: Case[] = [
  { what: 'RGBA 48x64 -> NCHW 3x16x16, per-channel mean/std (shrink, aspect stretched)', shape: [1, 3, 16, 16], c: 3, h: 16, w: 16,
    opt: { format: 'RGBA', height: 48, width: 64, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  { what: 'RGB 30x50 -> NHWC 12x12x3 with centre crop', shape: [1, 12, 12, 3], c: 3, h: 12, w: 12,
    opt: { format: 'RGB', height: 30, width: 50, crop: true, layout: 'NHWC', mean: [0.5], std: [0.25] } },
  { what: 'GRAY 7x9 -> 1x20x24 (enlarge), symbolic dims bound by resize', shape: ['n', 1, 'h', 'w'], c: 1, h: 20, w: 24,
    opt: { format: 'GRAY', height: 7, width: 9, resize: [20, 24] } },
  { what: 'RGBA 40x24 -> 1x16x16 luma, crop of a tall frame, rank 3', shape: [1, 16, 16], c: 1, h: 16, w: 16,
    opt: { format: 'RGBA', height: 40, width: 24, crop: true } },
  { what: 'GRAY 10x10 -> 3x5x40 (shrink one axis, enlarge the other; channels replicated)', shape: [1, 3, 5, 40], c: 3, h: 5, w: 40,
    opt: { format: 'GRAY', height: 10, width: 10 } },
];

describe('image input', () => {
  for (const cs of CASES) {
    it(`matches the reference: ${cs.what}`, async () => {
      const frame = randomFrame(cs.opt.height, cs.opt.width, CHANNELS[cs.opt.format], cs.h * 131 + cs.w);
      const expected = reference(frame, cs.opt.height, cs.opt.width, cs.opt, cs.c, cs.h, cs.w);
      for (const target of TARGETS) {
        const { wasm, manifest } = await compile(identityModel(cs.shape), { target, imageInputs: { x: cs.opt } });
        await validateWithWabt(wasm, target);
        expect(manifest.inputs).toEqual([expect.objectContaining({ name: 'x', dtype: 'uint8', image: cs.opt.format, shape: [cs.opt.height, cs.opt.width, CHANNELS[cs.opt.format]] })]);
        const model = await load(wasm);
        const y = model.run({ x: frame }).y;
        expect(y.shape.reduce((a, b) => a * b, 1)).toBe(cs.c * cs.h * cs.w);
        expect(maxDiff(y.data as Float32Array, expected), target).toBeLessThan(2e-4);
      }
    });
  }

  it("agrees with onnxruntime's Resize (linear, antialias=1, exclude_outside=1, half_pixel) on the resize itself", async () => {
    for (const [fh, fw, h, w] of [[48, 64, 16, 16], [9, 7, 20, 15], [100, 30, 13, 31]]) {
      const frame = randomFrame(fh, fw, 1, fh * fw);
      // onnxruntime sees the frame as a float tensor [1, 1, fh, fw]; values stay 0..255 (no normalization here).
      const ortModel = encodeModel({
        opset: 18,
        inputs: [{ name: 'f', dtype: 'float32', shape: [1, 1, fh, fw] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, h, w] }],
        nodes: [{ op: 'Resize', inputs: ['f', '', '', 'sizes'], outputs: ['y'], attrs: { mode: 'linear', antialias: 1, exclude_outside: 1, coordinate_transformation_mode: 'half_pixel' } }],
        initializers: { sizes: { dtype: 'int64', shape: [4], data: BigInt64Array.from([1n, 1n, BigInt(h), BigInt(w)]) } },
      });
      const expected = (await runOrt(ortModel, { f: { dtype: 'float32', shape: [1, 1, fh, fw], data: Float32Array.from(frame) } })).y.data as Float32Array;
      const { wasm } = await compile(identityModel([1, 1, h, w]), { imageInputs: { x: { format: 'GRAY', height: fh, width: fw, std: [1 / 255] } } });
      const ours = (await load(wasm)).run({ x: frame }).y.data as Float32Array;
      expect(maxDiff(ours, expected), `${fh}x${fw} -> ${h}x${w}`).toBeLessThan(1e-2);
    }
  });

  it('classifies the digits drawn as 160x160 RGBA frames with the digits model (crop off, shrink 10x)', async () => {
    const sample = JSON.parse(readFileSync(`${REPO_ROOT}/examples/digits_sample.json`, 'utf8')) as { images: number[][]; labels: number[] };
    const { wasm } = await compile(`${REPO_ROOT}/examples/digits_cnn.onnx`, { imageInputs: { image: { format: 'RGBA', height: 160, width: 160 } } });
    const model = await load(wasm);
    const predicted = sample.images.map((pixels) => {
      // Each sample pixel becomes a 10x10 block of grey (white digit on black), alpha 255, as a canvas holds it.
      const frame = new Uint8ClampedArray(160 * 160 * 4);
      for (let y = 0; y < 160; y++) for (let x = 0; x < 160; x++) {
        const v = pixels[Math.floor(y / 10) * 16 + Math.floor(x / 10)];
        frame.set([v, v, v, 255], (y * 160 + x) * 4);
      }
      const logits = model.run({ image: { data: frame, width: 160, height: 160 } }).logits.data as Float32Array;
      return logits.indexOf(Math.max(...logits));
    });
    expect(predicted).toEqual(sample.labels);
  });

  it('the runtime takes ImageData-like objects and Uint8ClampedArray, and names a wrong size', async () => {
    const { wasm } = await compile(identityModel([1, 3, 4, 4]), { imageInputs: { x: { format: 'RGBA', height: 8, width: 6 } } });
    const model = await load(wasm);
    const frame = randomFrame(8, 6, 4, 7);
    const a = model.run({ x: frame }).y.data;
    const b = model.run({ x: { data: frame, width: 6, height: 8 } }).y.data;
    const c = model.run({ x: new Uint8Array(frame) }).y.data;
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(() => model.run({ x: { data: frame, width: 8, height: 6 } })).toThrow(/input "x" takes a 6x8 image, got 8x6/);
    expect(() => model.run({ x: new Uint8ClampedArray(10) })).toThrow(/input "x" has 10 elements/);
  });

  it('rejects options that cannot work with a BAD_OPTION naming the input', async () => {
    const bad = async (shape: (number | string)[], opt: Partial<ImageInputOptions>, pattern: RegExp, extra = {}) => {
      const err = await compile(identityModel(shape), { imageInputs: { x: { format: 'RGBA', height: 8, width: 8, ...opt } as ImageInputOptions }, ...extra }).catch((e) => e);
      expect(err).toBeInstanceOf(CompileError);
      expect(err.code).toBe('BAD_OPTION');
      expect(err.message).toMatch(pattern);
    };
    await bad([1, 3, 4, 4], { format: 'BGR' as never }, /format must be RGBA, RGB or GRAY/);
    await bad([1, 4, 4, 3], { format: 'RGB' }, /RGB frame cannot feed 4 channels .*layout/);
    await bad([1, 3, 'h', 'w'], {}, /symbolic height or width .*--resize/);
    await bad([1, 3, 4, 4], { resize: [8, 8] }, /does not match/);
    await bad([2, 3, 4, 4], {}, /batch 2/);
    await bad([1, 3, 4, 4], { std: [1, 0, 1] }, /std must be 1 or 3 finite numbers, none zero/);
    await bad([1, 3, 4, 4], { mean: [1, 2] }, /mean must be 1 or 3/);
    await bad([1, 3, 4, 4], {}, /cannot also be given in shapes/, { shapes: { x: [1, 3, 4, 4] } });
    const err = await compile(identityModel([1, 3, 4, 4]), { imageInputs: { nope: { format: 'RGB', height: 4, width: 4 } } }).catch((e) => e);
    expect(err.message).toMatch(/no input "nope"/);
  });

  it('the CLI takes --image-input with --resize, --crop, --normalize and --layout; mistakes are one line and exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-image-'));
    try {
      const model = join(dir, 'm.onnx'), out = join(dir, 'm.wasm');
      writeFileSync(model, identityModel([1, 'h', 'w', 3]));
      let err = '';
      const io = { out: () => {}, err: (t: string) => void (err += t), tty: false };
      const code = await main([model, '-o', out, '--image-input', 'x=RGB:30x50', '--resize', '12x12', '--crop', '--normalize', '0.5,0.25', '--layout', 'NHWC'], io);
      expect(code, err).toBe(0);
      // The same options through the library give the same module (the CLI maps onto imageInputs).
      const opt = CASES[1].opt;
      const { wasm } = await compile(identityModel([1, 'h', 'w', 3]), { imageInputs: { x: { ...opt, resize: [12, 12] } } });
      expect(Buffer.compare(readFileSync(out), wasm)).toBe(0);
      for (const [argv, pattern] of [
        [['--image-input', 'x=BGR:4x4'], /--image-input takes name=FORMAT:HxW/],
        [['--crop'], /--crop goes with --image-input/],
        [['--image-input', 'x=RGB:4x4', '--resize', '4'], /--resize takes HxW/],
        [['--image-input', 'x=RGB:4x4', '--resize', '4x4', '--normalize', '1,2,3'], /--normalize takes mean,std/],
        [['--image-input', 'x=RGB:4x4', '--resize', '4x4', '--layout', 'CHW'], /layout must be NCHW or NHWC/],
      ] as [string[], RegExp][]) {
        err = '';
        rmSync(out, { force: true });
        expect(await main([model, '-o', out, ...argv], io), argv.join(' ')).toBe(1);
        expect(err).toMatch(/^onnx2wasm: error: [^\n]+\n$/);
        expect(err).toMatch(pattern);
        expect(existsSync(out)).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
