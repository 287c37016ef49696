// What the suite measures: the built-in models, or every DIR/*/model.onnx with its test_data_set_0 inputs
// (seeded random inputs when the folder has none); in the int8 section, every QDQ model paired with the fp32
// model of the same name.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { decodeTensor } from '../src/onnx/decode.js';
import { fromNumbers, isFloat, ONNX_DTYPE, type DType } from '../src/ir/dtype.js';
import type { Tensor } from '../src/ir/graph.js';
import { seededRandom } from './models/builder.js';
import { BUILTIN_MODELS, type BuiltinModel } from './models/index.js';
import { DYNAMIC_QUANT_NAME, dynamicQuantCnn } from './models/dynamic-quant.js';
import { SINGLE_OP_MODELS } from './models/single-ops.js';
import { ZOO_MODELS } from './models/zoo.js';

export interface BenchCase {
  name: string;
  description: string;
  /** The model file when it came from a folder (compile() gets the path, so external data resolves). */
  path?: string;
  bytes: Uint8Array;
  feeds: Record<string, Tensor>;
  inputSource: 'builtin' | 'test_data_set_0' | 'seeded random';
  /** Set when the inputs could not be prepared (the model is then reported, not measured). */
  error?: string;
  /**
   * int8 section: the fp32 model this QDQ model was quantized from. onnx2wasm's fp32 module of it runs on the
   * same feeds as a fourth engine; the QDQ model's outputs are checked against onnxruntime-node at 'basic'.
   */
  fp32Path?: string;
  /** A built-in model's fp32 twin (instead of fp32Path). */
  fp32Bytes?: Uint8Array;
  /** zoo section: a zoo network or a single-operator configuration. */
  group?: 'zoo' | 'ops';
}

export function builtinCases(filter?: RegExp): BenchCase[] {
  return BUILTIN_MODELS.map((make) => make())
    .filter((m) => !filter || filter.test(m.name))
    .map((m) => ({ ...m, inputSource: 'builtin' as const }));
}

/**
 * The zoo section's cases (issue 10): the zoo's networks and/or the single-operator configurations. Only the
 * models whose name matches the filter are built (the large ones take a while to make).
 */
export function zooCases(groups: { zoo?: boolean; ops?: boolean }, filter?: RegExp): BenchCase[] {
  const made = (makers: Record<string, () => Omit<BuiltinModel, 'name'>>, group: 'zoo' | 'ops') =>
    Object.entries(makers).filter(([name]) => !filter || filter.test(name))
      .map(([name, make]): BenchCase => ({ name, ...make(), inputSource: 'builtin', group }));
  return [...(groups.zoo ? made(ZOO_MODELS, 'zoo') : []), ...(groups.ops ? made(SINGLE_OP_MODELS, 'ops') : [])];
}

/** Every DIR/NAME/model.onnx, sorted by name. Folders whose inputs cannot be read still yield a case. */
export function folderCases(dir: string, filter?: RegExp): BenchCase[] {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'model.onnx')))
    .map((e) => e.name)
    .filter((name) => !filter || filter.test(name))
    .sort();
  return names.map((name) => {
    const path = join(dir, name, 'model.onnx');
    const bytes = new Uint8Array(readFileSync(path));
    const testData = join(dir, name, 'test_data_set_0');
    const fromTestData = existsSync(join(testData, 'input_0.pb'));
    const inputSource = fromTestData ? 'test_data_set_0' as const : 'seeded random' as const;
    try {
      const feeds = fromTestData ? readTestInputs(bytes, testData) : randomFeeds(bytes);
      return { name, description: path, path, bytes, feeds, inputSource };
    } catch (e) {
      return { name, description: path, path, bytes, feeds: {}, inputSource, error: `reading inputs: ${(e as Error).message}` };
    }
  });
}

/**
 * The int8 section: every QDQ model INT8_DIR/NAME/model.onnx (with its own test_data_set_0 inputs), paired with
 * FP32_DIR/NAME/model.onnx (a missing fp32 model is reported in the model's row, not skipped).
 */
export function int8Cases(int8Dir: string, fp32Dir: string, filter?: RegExp, builtin = false): BenchCase[] {
  const cases: BenchCase[] = folderCases(int8Dir, filter).map((c) => ({ ...c, fp32Path: join(fp32Dir, c.name, 'model.onnx') }));
  if (builtin && (!filter || filter.test(DYNAMIC_QUANT_NAME))) cases.push(dynamicQuantCase());
  return cases;
}

/** The built-in dynamically quantized conv net (benchmarks/models/dynamic-quant.ts) with its fp32 twin. */
export function dynamicQuantCase(): BenchCase {
  const { dynamic, fp32, feeds } = dynamicQuantCnn();
  return {
    name: DYNAMIC_QUANT_NAME, description: 'built-in: DynamicQuantizeLinear + ConvInteger conv net, as quantize_dynamic writes it',
    bytes: dynamic, feeds, inputSource: 'builtin', fp32Bytes: fp32,
  };
}

/** The model's graph inputs (initializers excluded), in order, read without decoding the weights. */
function graphInputs(bytes: Uint8Array): { name: string; elemType: number; dims: (number | null)[] }[] {
  const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((vi) => !initializers.has(vi.name)).map((vi) => ({
    name: vi.name!,
    elemType: vi.type?.tensorType?.elemType ?? 1,
    dims: (vi.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && !d.dimParam ? Number(d.dimValue) : null)),
  }));
}

function readTestInputs(bytes: Uint8Array, folder: string): Record<string, Tensor> {
  const inputs = graphInputs(bytes);
  const feeds: Record<string, Tensor> = {};
  for (let k = 0; existsSync(join(folder, `input_${k}.pb`)); k++) {
    const proto = onnxProto.onnx.TensorProto.decode(readFileSync(join(folder, `input_${k}.pb`)));
    // The file's name field usually names the input; fall back to position.
    const name = inputs.some((i) => i.name === proto.name) ? proto.name : inputs[k]?.name ?? proto.name;
    feeds[name] = decodeTensor(proto);
  }
  return feeds;
}

/** Seeded inputs: floats in [-1, 1), integers in [0, 10) (small enough to be valid indices), symbolic dims 1. */
function randomFeeds(bytes: Uint8Array): Record<string, Tensor> {
  const random = seededRandom(12345);
  const feeds: Record<string, Tensor> = {};
  for (const input of graphInputs(bytes)) {
    const dtype: DType = ONNX_DTYPE[input.elemType] ?? 'float32';
    const shape = input.dims.map((d) => d ?? 1);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => (isFloat(dtype) ? random() * 2 - 1 : Math.floor(random() * 10)));
    feeds[input.name] = { dtype, shape, data: fromNumbers(dtype, values) };
  }
  return feeds;
}
