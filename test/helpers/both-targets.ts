// Differential check of one model on both targets against onnxruntime-node (one ORT run, two compiles).

import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { expectClose, runOrt, runOurs, type Feeds } from './oracle.js';

export async function checkBothTargets(spec: ModelSpec, feeds: Feeds, rtol = 1e-3, atol = 1e-5): Promise<void> {
  const model = encodeModel(spec);
  const expected = await runOrt(model, feeds);
  for (const target of ['simd', 'scalar'] as const) expectClose(await runOurs(model, feeds, { target }), expected, rtol, atol);
}

/**
 * int8 outputs: equal to the spec arithmetic's `reference` exactly, and within one unit of onnxruntime-node
 * (whose int8 kernels round differently on different CPUs, so an exact comparison with it is not a valid test).
 */
export async function checkQuantizedBothTargets(spec: ModelSpec, feeds: Feeds, reference: Record<string, Tensor>): Promise<void> {
  const model = encodeModel(spec);
  const ort = await runOrt(model, feeds);
  expectClose(reference, ort, 0, 1); // the reference itself agrees with onnxruntime within one unit
  for (const target of ['simd', 'scalar'] as const) {
    const ours = await runOurs(model, feeds, { target });
    expectClose(ours, reference, 0, 0);
    expectClose(ours, ort, 0, 1);
  }
}
