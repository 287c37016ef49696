// Shared attribute parsing and output geometry for Conv and ConvTranspose (any number of spatial dims).

import type { AttrReader } from './types.js';

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

export interface ConvAttrs {
  autoPad: AutoPad;
  dilations?: number[];
  group: number;
  kernelShape?: number[];
  pads?: number[];
  strides?: number[];
}

export function readConvAttrs(a: AttrReader): ConvAttrs {
  const autoPad = a.string('auto_pad', 'NOTSET') as AutoPad;
  return {
    autoPad,
    dilations: a.has('dilations') ? a.ints('dilations') : undefined,
    group: a.int('group', 1),
    kernelShape: a.has('kernel_shape') ? a.ints('kernel_shape') : undefined,
    pads: a.has('pads') ? a.ints('pads') : undefined,
    strides: a.has('strides') ? a.ints('strides') : undefined,
  };
}

/** Resolved per-axis geometry of one convolution. */
export interface ConvGeometry {
  /** Spatial input, kernel, output sizes. */
  inSize: number[];
  kernel: number[];
  outSize: number[];
  strides: number[];
  dilations: number[];
  /** Padding at the beginning of each axis (the end padding is implied by outSize). */
  padBegin: number[];
  padEnd: number[];
}

/** Validates the common attributes against the spatial rank; fails with a clear message. */
export function checkAxes(attrs: ConvAttrs, rank: number, kernel: number[], fail: (m: string) => never): void {
  const { strides, dilations, pads, kernelShape } = attrs;
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(attrs.autoPad)) fail(`auto_pad "${attrs.autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  // Kernels address with i32: values past 2^31 would wrap (a stride of 2^32 would divide by zero).
  const i32 = (v: number, min: number) => v >= min && v < 2 ** 31;
  if (strides && (strides.length !== rank || !strides.every((s) => i32(s, 1)))) fail(`strides [${strides}] must have ${rank} values from 1 to 2^31-1`);
  if (dilations && (dilations.length !== rank || !dilations.every((s) => i32(s, 1)))) fail(`dilations [${dilations}] must have ${rank} values from 1 to 2^31-1`);
  if (pads && (pads.length !== 2 * rank || !pads.every((p) => i32(p, 0)))) fail(`pads [${pads}] must have ${2 * rank} values from 0 to 2^31-1`);
  if (kernelShape && kernelShape.join() !== kernel.join()) fail(`kernel_shape [${kernelShape}] does not match the weights' spatial shape [${kernel}]`);
  if (attrs.group < 1) fail(`group ${attrs.group} must be >= 1`);
}

export function convGeometry(attrs: ConvAttrs, inSize: number[], kernel: number[], fail: (m: string) => never): ConvGeometry {
  const rank = inSize.length;
  checkAxes(attrs, rank, kernel, fail);
  const strides = attrs.strides ?? inSize.map(() => 1);
  const dilations = attrs.dilations ?? inSize.map(() => 1);
  const padBegin: number[] = [], padEnd: number[] = [], outSize: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dk = (kernel[i] - 1) * dilations[i] + 1;
    let pb = 0, pe = 0, out: number;
    if (attrs.autoPad === 'SAME_UPPER' || attrs.autoPad === 'SAME_LOWER') {
      out = Math.ceil(inSize[i] / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + dk - inSize[i]);
      pb = attrs.autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      pe = total - pb;
    } else {
      if (attrs.autoPad === 'NOTSET' && attrs.pads) { pb = attrs.pads[i]; pe = attrs.pads[i + rank]; }
      out = Math.floor((inSize[i] + pb + pe - dk) / strides[i]) + 1;
    }
    if (out < 1) fail(`output size along spatial axis ${i} would be ${out} (input ${inSize[i]}, kernel ${kernel[i]}, dilation ${dilations[i]}, pads ${pb}+${pe})`);
    padBegin.push(pb); padEnd.push(pe); outSize.push(out);
  }
  return { inSize, kernel, outSize, strides, dilations, padBegin, padEnd };
}

/** A 1-D geometry as the equivalent 2-D one (a height of 1, kernel 1); other ranks unchanged. Same memory layout. */
export function liftTo2d(g: ConvGeometry): ConvGeometry {
  if (g.inSize.length !== 1) return g;
  return {
    inSize: [1, ...g.inSize], kernel: [1, ...g.kernel], outSize: [1, ...g.outSize], strides: [1, ...g.strides],
    dilations: [1, ...g.dilations], padBegin: [0, ...g.padBegin], padEnd: [0, ...g.padEnd],
  };
}
