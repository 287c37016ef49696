// The `imageInputs` option (CLI --image-input): a float32 image input of the model becomes an 8-bit frame input of
// the same name, and an ImageInput node (ops/image-input.ts) turns the frame into the model's tensor inside the
// module. Two steps around bindInputs: imageTensorShapes() says what static shape the model's input takes (so
// that symbolic dimensions bind as with `shapes`), insertImageInputs() then swaps the input for the frame.

import { CompileError } from '../errors.js';
import { fmtShape, type Graph } from '../ir/graph.js';
import { INTERNAL_DOMAIN } from '../../ops/index.js';
import { channelMix, FORMAT_CHANNELS, tensorDims, type ImageFormat, type ImageLayout } from '../../ops/image-input.js';
import { freshName } from './fusion-utils.js';

export type { ImageFormat, ImageLayout };

export interface ImageInputOptions {
  /** The frame: 8-bit 'RGBA' (canvas ImageData), 'RGB' or 'GRAY', of this height and width. */
  format: ImageFormat;
  height: number;
  width: number;
  /** The tensor's [height, width]; default: the model's input dims (required where they are symbolic). */
  resize?: [number, number];
  /** Cut the frame's centred region with the tensor's aspect ratio before resizing (default false: stretch). */
  crop?: boolean;
  /** Per channel (or one value for all), applied to pixel / 255: (x - mean) / std. Default 0 and 1. */
  mean?: number[];
  std?: number[];
  /** Where channels go in the model's input; default 'NCHW'. */
  layout?: ImageLayout;
}

const bad = (message: string) => new CompileError('BAD_OPTION', message);

/** The static shape each image input's tensor takes, for bindInputs: [1, C, H, W] (NCHW) or [1, H, W, C]. */
export function imageTensorShapes(graph: Graph, images: Record<string, ImageInputOptions>, bound: { shapes?: object; constants?: object } = {}): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, opt] of Object.entries(images)) {
    const v = graph.values.get(name);
    if (!v || !graph.inputs.includes(name)) throw bad(`image input: the model has no input "${name}" (its inputs: ${graph.inputs.join(', ') || 'none'})`);
    if (name in (bound.shapes ?? {}) || name in (bound.constants ?? {})) throw bad(`input "${name}" is an image input: it cannot also be given in shapes or constants (--shape, --constant)`);
    if (!(opt.format in FORMAT_CHANNELS)) throw bad(`image input "${name}": format must be RGBA, RGB or GRAY, got "${opt.format}"`);
    const layout = opt.layout ?? 'NCHW';
    if (layout !== 'NCHW' && layout !== 'NHWC') throw bad(`image input "${name}": layout must be NCHW or NHWC, got "${layout}"`);
    for (const d of [opt.height, opt.width, ...(opt.resize ?? [])]) {
      if (!Number.isInteger(d) || d <= 0 || d > 16384) throw bad(`image input "${name}": sizes must be positive integers (up to 16384), got ${d}`);
    }
    if (opt.resize && opt.resize.length !== 2) throw bad(`image input "${name}": resize is [height, width]`);
    if (v.dtype !== 'float32') throw bad(`image input "${name}" must be a float32 input, the model's is ${v.dtype}`);
    if (v.shape.length !== 4 && v.shape.length !== 3) throw bad(`image input "${name}" must have rank 4 (N, C, H, W) or 3, the model's is ${fmtShape(v.shape)}`);
    // Fixed dims must agree with what the options say; symbolic ones take it.
    const declared = tensorDims(v.shape as number[], layout);
    const [h, w] = opt.resize ?? [declared.h, declared.w];
    const c = declared.c;
    if (typeof h !== 'number' || typeof w !== 'number') throw bad(`image input "${name}" has symbolic height or width (${fmtShape(v.shape)}): give resize (--resize HxW)`);
    if (typeof c !== 'number') throw bad(`image input "${name}" has a symbolic channel dimension (${fmtShape(v.shape)}); is the layout (${layout}) right?`);
    if (!channelMix(opt.format, c)) throw bad(`image input "${name}": a ${opt.format} frame cannot feed ${c} channels (layout ${layout}, shape ${fmtShape(v.shape)}); is the layout right?`);
    const shape = layout === 'NCHW' ? [c, h, w] : [h, w, c];
    if (v.shape.length === 4) shape.unshift(typeof v.shape[0] === 'number' ? v.shape[0] : 1);
    if (shape.length === 4 && shape[0] !== 1) throw bad(`image input "${name}" has batch ${shape[0]}; an image input takes one frame (batch 1)`);
    v.shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== shape[i]) throw bad(`image input "${name}": the model's shape ${fmtShape(v.shape)} does not match ${fmtShape(shape)} (resize to the model's size, or check the layout)`);
    });
    perChannel(name, 'mean', opt.mean, c, 0);
    perChannel(name, 'std', opt.std, c, 1);
    out[name] = shape;
  }
  return out;
}

function perChannel(name: string, what: string, values: number[] | undefined, c: number, dflt: number): number[] {
  if (values === undefined) return new Array<number>(c).fill(dflt);
  if (!Array.isArray(values) || (values.length !== 1 && values.length !== c) || values.some((x) => typeof x !== 'number' || !Number.isFinite(x)) || (what === 'std' && values.includes(0))) {
    throw bad(`image input "${name}": ${what} must be 1 or ${c} finite numbers${what === 'std' ? ', none zero' : ''}, got ${JSON.stringify(values)}`);
  }
  return values.length === 1 ? new Array<number>(c).fill(values[0]) : [...values];
}

/** After bindInputs: each image input becomes a uint8 frame [height, width, channels] feeding an ImageInput node. */
export function insertImageInputs(graph: Graph, images: Record<string, ImageInputOptions>): void {
  for (const [name, opt] of Object.entries(images)) {
    const v = graph.values.get(name)!;
    const shape = v.shape as number[];
    const layout = opt.layout ?? 'NCHW';
    const { c } = tensorDims(shape, layout);
    // The tensor keeps the model's edges under a new name; the input's name now means the frame.
    const tensor = freshName(graph, `${name}_tensor`);
    graph.values.set(tensor, { ...v, name: tensor });
    for (const n of graph.nodes) n.inputs = n.inputs.map((i) => (i === name ? tensor : i));
    graph.outputs = graph.outputs.map((o) => (o === name ? tensor : o));
    graph.values.set(name, { name, dtype: 'uint8', shape: [opt.height, opt.width, FORMAT_CHANNELS[opt.format]] });
    graph.nodes.unshift({
      name: `${name}_image`, opType: 'ImageInput', domain: INTERNAL_DOMAIN, inputs: [name], outputs: [tensor],
      attrs: { format: opt.format, layout, crop: opt.crop ? 1 : 0, mean: perChannel(name, 'mean', opt.mean, c, 0), std: perChannel(name, 'std', opt.std, c, 1), shape },
      origin: name,
    });
    (graph.imageInputs ??= {})[name] = opt.format;
  }
}
