// Single-operator timing of ConvTranspose and Conv shapes (1-D, stems, grouped, dilated, depthwise) against
// onnxruntime-web (wasm, SIMD, 1 thread): each graph is one node built with the project's ONNX builder; the two
// engines alternate run by run in one process and each keeps its fastest run (min of N).
//
//   npx tsx benchmarks/conv-ops.ts [name filter] [runs, default 15]
//
// Prints one line per configuration: ours, theirs, the ratio (ours / theirs) and the kernel variant that ran.

import { compile } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import { createOrtWeb, createOurs } from './engines.js';
import { randomInput } from './models/builder.js';

interface OpCase { name: string; op: 'Conv' | 'ConvTranspose'; x: number[]; w: number[]; attrs: Record<string, number | number[]> }

export const CONV_OP_CASES: OpCase[] = [
  // issue 10's table
  { name: 'ConvTranspose 2x2 s2 64->32 @64x64', op: 'ConvTranspose', x: [1, 64, 64, 64], w: [64, 32, 2, 2], attrs: { strides: [2, 2] } },
  { name: 'ConvTranspose 4x4 s2 p1 32->16 @80x80', op: 'ConvTranspose', x: [1, 32, 80, 80], w: [32, 16, 4, 4], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'ConvTranspose 3x3 s1 64->64 @32x32', op: 'ConvTranspose', x: [1, 64, 32, 32], w: [64, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'Conv 1-D depthwise k7 128ch L500', op: 'Conv', x: [1, 128, 500], w: [128, 1, 7], attrs: { group: 128, pads: [3, 3] } },
  // other ConvTranspose shapes
  { name: 'ConvTranspose 2x2 s2 128->64 @32x32', op: 'ConvTranspose', x: [1, 128, 32, 32], w: [128, 64, 2, 2], attrs: { strides: [2, 2] } },
  { name: 'ConvTranspose 2x2 s2 256->128 @16x16', op: 'ConvTranspose', x: [1, 256, 16, 16], w: [256, 128, 2, 2], attrs: { strides: [2, 2] } },
  { name: 'ConvTranspose 3x3 s2 p1 op1 32->32 @64x64', op: 'ConvTranspose', x: [1, 32, 64, 64], w: [32, 32, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
  { name: 'ConvTranspose 4x4 s2 p1 depthwise 64 @32x32', op: 'ConvTranspose', x: [1, 64, 32, 32], w: [64, 1, 4, 4], attrs: { group: 64, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: 'ConvTranspose 1-D k16 s8 256->128 L100', op: 'ConvTranspose', x: [1, 256, 100], w: [256, 128, 16], attrs: { strides: [8], pads: [4, 4] } },
  // other 1-D convolutions
  { name: 'Conv 1-D pointwise 128->128 L500', op: 'Conv', x: [1, 128, 500], w: [128, 128, 1], attrs: {} },
  { name: 'Conv 1-D k3 dilation 2 64->64 L500', op: 'Conv', x: [1, 64, 500], w: [64, 64, 3], attrs: { dilations: [2], pads: [2, 2] } },
  { name: 'Conv 1-D k5 s2 64->128 L1000', op: 'Conv', x: [1, 64, 1000], w: [128, 64, 5], attrs: { strides: [2], pads: [2, 2] } },
  { name: 'Conv 1-D k3 4 groups 128ch L500', op: 'Conv', x: [1, 128, 500], w: [128, 32, 3], attrs: { group: 4, pads: [1, 1] } },
  // common 2-D shapes
  { name: 'Conv 7x7 s2 3->64 @224 (stem)', op: 'Conv', x: [1, 3, 224, 224], w: [64, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } },
  { name: 'Conv 11x11 s4 3->64 @224 (stem)', op: 'Conv', x: [1, 3, 224, 224], w: [64, 3, 11, 11], attrs: { strides: [4, 4], pads: [2, 2, 2, 2] } },
  { name: 'Conv 3x3 32 groups 128->128 @28', op: 'Conv', x: [1, 128, 28, 28], w: [128, 4, 3, 3], attrs: { group: 32, pads: [1, 1, 1, 1] } },
  { name: 'Conv 3x3 dilation 2 64->64 @56', op: 'Conv', x: [1, 64, 56, 56], w: [64, 64, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'Conv 5x5 48->128 @27 (AlexNet conv2)', op: 'Conv', x: [1, 48, 27, 27], w: [128, 48, 5, 5], attrs: { pads: [2, 2, 2, 2] } },
  { name: 'Conv 5x5 32->32 @64', op: 'Conv', x: [1, 32, 64, 64], w: [32, 32, 5, 5], attrs: { pads: [2, 2, 2, 2] } },
  { name: 'Conv 5x5 s2 32->64 @56', op: 'Conv', x: [1, 32, 56, 56], w: [64, 32, 5, 5], attrs: { strides: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'Conv 5x5 depthwise 96 @56', op: 'Conv', x: [1, 96, 56, 56], w: [96, 1, 5, 5], attrs: { group: 96, pads: [2, 2, 2, 2] } },
  { name: 'Conv 5x5 depthwise s2 96 @56', op: 'Conv', x: [1, 96, 56, 56], w: [96, 1, 5, 5], attrs: { group: 96, strides: [2, 2], pads: [2, 2, 2, 2] } },
  { name: 'Conv 1x1 64->64 @64x64', op: 'Conv', x: [1, 64, 64, 64], w: [64, 64, 1, 1], attrs: {} },
  { name: 'Conv 1x1 128->128 @32x32', op: 'Conv', x: [1, 128, 32, 32], w: [128, 128, 1, 1], attrs: {} },
  { name: 'Conv 1x1 256->64 @56x56', op: 'Conv', x: [1, 256, 56, 56], w: [64, 256, 1, 1], attrs: {} },
  { name: 'Conv 3x3 s2 64->64 @64x64', op: 'Conv', x: [1, 64, 64, 64], w: [64, 64, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
];

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const runs = Number(process.argv[3] ?? 15);
  for (const c of CONV_OP_CASES.filter((q) => q.name.includes(filter))) {
    const cout = c.op === 'Conv' ? c.w[0] : c.w[1] * Number(c.attrs.group ?? 1);
    const model = encodeModel({
      opset: 17, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }], outputs: [{ name: 'y' }],
      nodes: [{ op: c.op, inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: c.attrs }],
      initializers: { w: randomInput(c.w, 1), b: randomInput([cout], 2) },
    });
    const feeds = { x: randomInput(c.x, 3) };
    const { wasm, report } = await compile(model);
    const ours = createOurs(wasm, feeds);
    const ort = await createOrtWeb(model, feeds);
    for (let i = 0; i < 3; i++) { ours.run(); await ort.run(); } // warm up both
    let mine = Infinity, theirs = Infinity;
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      ours.run();
      mine = Math.min(mine, performance.now() - t);
      t = performance.now();
      await ort.run();
      theirs = Math.min(theirs, performance.now() - t);
    }
    await ort.release();
    const variant = Object.keys(report.variants).join(' ');
    console.log(`${c.name.padEnd(46)} ${mine.toFixed(3).padStart(8)} ms / ${theirs.toFixed(3).padStart(8)} ms  ratio ${(mine / theirs).toFixed(2)}  ${variant}`);
  }
}

await main();
