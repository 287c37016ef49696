// The separable MaxPool (ops/pool-max-separable.ts) against onnxruntime-node, on both targets: float32 rows wide
// enough for its 8- and 4-column steps and their remainders, every stride (1, 2 and the generic lane gather),
// large SPP/SPPF windows, dilations, pads, ceil_mode, 1-D and 3-D, and NaN inputs; int8 and uint8 (16 lanes,
// the int8 model's pools) on the same geometries, exact.
import { describe, it } from 'vitest';
import { expectClose, rng, runOrt, runOurs } from '../helpers/oracle.js';
import { buildBatch, checkBatch, randomOf, type OpCase } from './reduce-cases.js';

type Attrs = Record<string, number | number[]>;
type PoolDType = 'float32' | 'int8' | 'uint8';
const RANGE: Record<PoolDType, [number, number]> = { float32: [-3, 3], int8: [-128, 128], uint8: [0, 256] };

function maxPool(r: () => number, spatial: number[], attrs: Attrs, channels = 3, dtype: PoolDType = 'float32'): OpCase {
  return { op: 'MaxPool', inputs: [randomOf(dtype, [1 + Math.floor(r() * 2), channels, ...spatial], r, ...RANGE[dtype])], attrs, outputs: 1 };
}

/** The pools of the shared int8 models and the SPPF windows, for dtype. */
function modelConfigurations(r: () => number, dtype: PoolDType): OpCase[] {
  return [
    maxPool(r, [20, 22], { kernel_shape: [2, 2], strides: [2, 2] }, 3, dtype),
    maxPool(r, [23, 37], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 3, dtype),
    maxPool(r, [17, 29], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }, 3, dtype),
    maxPool(r, [20, 20], { kernel_shape: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] }, 3, dtype),
    maxPool(r, [16, 16], { kernel_shape: [5, 5], strides: [1, 1], pads: [2, 2, 2, 2] }, 3, dtype),
    maxPool(r, [13, 19], { kernel_shape: [9, 9], strides: [1, 1], pads: [4, 4, 4, 4] }, 3, dtype),
    maxPool(r, [15, 15], { kernel_shape: [13, 13], strides: [1, 1], pads: [6, 6, 6, 6] }, 3, dtype),
    maxPool(r, [27, 27], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 3, dtype),
    maxPool(r, [111, 111], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 2, dtype),
    maxPool(r, [14, 31], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, 3, dtype),
    maxPool(r, [40, 45], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 2, dtype),
  ];
}

/** Random windows of every rank, stride, dilation and padding, the last dim wide. */
function randomWindows(r: () => number, dtype: PoolDType, count: number, wide: number): OpCase[] {
  const cases: OpCase[] = [];
  for (let i = 0; i < count; i++) {
    const dims = 1 + (i % 3);
    const kernel = Array.from({ length: dims }, () => 1 + Math.floor(r() * 5));
    const strides = Array.from({ length: dims }, () => 1 + Math.floor(r() * 4));
    const dilations = Array.from({ length: dims }, () => (r() < 0.3 ? 2 : 1));
    // pads below the kernel extent (onnxruntime's rule), independent at each end
    const pads = [...kernel, ...kernel].map((k) => Math.floor(r() * k));
    const attrs: Attrs = { kernel_shape: kernel, strides, dilations, pads };
    if (r() < 0.4) attrs.ceil_mode = 1;
    // the last dim wide (vector steps and remainders), the others small
    const spatial = kernel.map((k, d) => (k - 1) * dilations[d] + 1 + Math.floor(r() * (d === dims - 1 ? wide : 6)));
    cases.push(maxPool(r, spatial, attrs, 1 + Math.floor(r() * 3), dtype));
  }
  return cases;
}

describe('separable MaxPool vs onnxruntime', () => {
  it('model configurations: 2x2/s2, 3x3/s2 pad 1, 3x3/s1 pad 1, SPPF 5/9/13 s1, ceil_mode', async () => {
    await checkBatch(12, modelConfigurations(rng(101), 'float32'));
  });

  it('random windows: 1-D/2-D/3-D, strides 1-4, dilations, asymmetric pads, ceil_mode', async () => {
    await checkBatch(12, randomWindows(rng(202), 'float32', 24, 40));
  });

  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: the model configurations and random windows (16 lanes, rows shorter and longer than a vector), exact`, async () => {
      const r = rng(dtype === 'int8' ? 404 : 505);
      await checkBatch(12, [...modelConfigurations(r, dtype), ...randomWindows(r, dtype, 30, 70)], 0, 0);
    });
  }

  it('NaN inputs never win a window (as in the direct kernel): onnxruntime on the input with NaN as -inf', async () => {
    // onnxruntime's own NaN handling depends on the tap order, so the oracle runs on NaN replaced by -inf
    const r = rng(303);
    const c = maxPool(r, [9, 21], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
    const data = c.inputs[0]!.data as Float32Array;
    for (let i = 0; i < data.length; i += 7) data[i] = NaN;
    const { model, feeds } = buildBatch(12, [c]);
    const asInf = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, { ...t, data: (t.data as Float32Array).map((v) => (Number.isNaN(v) ? -Infinity : v)) }]));
    const expected = await runOrt(model, asInf);
    for (const target of ['simd', 'scalar'] as const) expectClose(await runOurs(model, feeds, { target }), expected, 0, 0);
  });
});
