// The fuzz corpus, generated from (seed, index) alone so that the harness and its worker processes agree on every
// case without passing bytes around: the hostile reproductions of issue 13 first, then seeded mutants
// (truncations, bit flips, protobuf field mutations) of the bundled example model and of builder-made graphs, and
// truncated or corrupted modules for the runtime.

import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { ErrorCode } from '../../src/errors.js';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import { makeTensor } from '../../src/ir/graph.js';
import { rng } from '../helpers/oracle.js';

const { onnx } = onnxProto;

export const DIGITS_ONNX = new URL('../../examples/digits_cnn.onnx', import.meta.url);

/** A file the worker puts beside the model before compiling it (external data and its hazards). */
export type SideFile =
  | { kind: 'bytes'; data: Uint8Array }
  | { kind: 'symlink-outside' } // a symlink to a file outside the model's folder
  | { kind: 'fifo' }
  | { kind: 'dir' };

export interface ModelCase {
  kind: 'model';
  id: string;
  bytes: Uint8Array;
  /** The error code a hostile case must give; mutants may give any clean error or compile. */
  expect?: ErrorCode;
  /** Compiled from a folder holding these files next to model.onnx (else compiled from bytes). */
  files?: Record<string, SideFile>;
  /** Also run through the CLI (exit 1 and one line, or exit 0 and the files). */
  cli?: string[];
}

export interface ModuleCase {
  kind: 'module';
  id: string;
  /** Which compiled module to start from, and how to damage it. */
  base: 'digits' | 'small';
  damage: { truncate?: number; flips?: number[] } | { raw: unknown };
  sync: boolean;
  /** A hostile case: the message the runtime must give. */
  expect?: RegExp;
}

export type FuzzCase = ModelCase | ModuleCase;

/** Edit the ModelProto of a builder model (for what the builder cannot express). */
export function editModel(spec: ModelSpec | Uint8Array, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(spec instanceof Uint8Array ? spec : encodeModel(spec));
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

const f32 = (shape: number[], values?: number[]) => makeTensor('float32', shape, values ? Float32Array.from(values) : undefined);
const i64 = (values: number[]) => makeTensor('int64', [values.length], BigInt64Array.from(values.map(BigInt)));
const scalar64 = (v: number) => makeTensor('int64', [], BigInt64Array.of(BigInt(v)));

/** A small builder graph with a weight initializer: the base of many hostile cases. */
const addWeight = (): ModelSpec => ({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
  outputs: [{ name: 'y' }],
  nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
  initializers: { w: f32([2, 3], [1, 2, 3, 4, 5, 6]) },
});

const reluOf = (opset = 13): ModelSpec => ({
  opset,
  inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
  outputs: [{ name: 'y' }],
  nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
});

const externalWeight = (entries: Record<string, string>) => editModel(addWeight(), (m) => {
  const w = m.graph!.initializer[0];
  w.rawData = new Uint8Array(0);
  w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  w.externalData = Object.entries(entries).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
});
const weightBytes = () => new Uint8Array(f32([2, 3], [1, 2, 3, 4, 5, 6]).data.buffer);

/** The reproductions of issue 13 (and their neighbours), each with the error it must give. */
export function hostileCases(): ModelCase[] {
  const withDims = (dims: (number | string)[]) => editModel(addWeight(), (m) => { m.graph!.initializer[0].dims = dims as number[]; });
  const inputDims = (dims: (number | string)[]) => editModel(reluOf(), (m) => {
    m.graph!.input[0].type!.tensorType!.shape!.dim = dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d as number }));
  });
  const rangeOf = (dtype: 'int64' | 'float32', limit: number): ModelSpec => ({
    opset: 13, inputs: [], outputs: [{ name: 'y' }],
    nodes: [{ op: 'Range', inputs: ['s', 'l', 'd'], outputs: ['y'] }],
    initializers: dtype === 'int64' ? { s: scalar64(0), l: scalar64(limit), d: scalar64(1) }
      : { s: f32([], [0]), l: f32([], [limit]), d: f32([], [1]) },
  });
  const cases: [string, ErrorCode, Uint8Array, Partial<ModelCase>?][] = [
    ['not onnx: empty', 'NOT_ONNX', new Uint8Array(0)],
    ['not onnx: text', 'NOT_ONNX', new TextEncoder().encode('hello, world\n')],
    ['initializer dims [-4]', 'INVALID_MODEL', withDims([-4])],
    ['initializer dims [1e10]', 'TOO_LARGE', withDims([1e10])],
    ['initializer dims [65536, 65536] (16 GiB)', 'TOO_LARGE', withDims([65536, 65536])],
    ['initializer dims [2^53]', 'INVALID_MODEL', withDims(['9007199254740992'])],
    ['initializer dims x width overflow [2^31, 2^31, 2^31]', 'TOO_LARGE', withDims([2 ** 31, 2 ** 31, 2 ** 31])],
    ['input dims [2^53]', 'INVALID_MODEL', inputDims(['9007199254740992'])],
    ['input dims [2^40, 4]', 'TOO_LARGE', inputDims([2 ** 40, 4])],
    ['input dims [-1, 3]', 'INVALID_MODEL', inputDims([-1, 3])],
    ['inputs and outputs past 4 GiB together', 'TOO_LARGE', inputDims([3 * 2 ** 27, 2])],
    ['external data offset -1', 'INVALID_MODEL', externalWeight({ location: 'w.bin', offset: '-1', length: '24' }), { files: { 'w.bin': { kind: 'bytes', data: weightBytes() } } }],
    ['external data offset 3.5e9', 'INVALID_MODEL', externalWeight({ location: 'w.bin', offset: '3500000000', length: '24' }), { files: { 'w.bin': { kind: 'bytes', data: weightBytes() } } }],
    ['external data length 3.5e9', 'INVALID_MODEL', externalWeight({ location: 'w.bin', length: '3500000000' }), { files: { 'w.bin': { kind: 'bytes', data: weightBytes() } } }],
    ['external data length 2.5', 'INVALID_MODEL', externalWeight({ location: 'w.bin', length: '2.5' }), { files: { 'w.bin': { kind: 'bytes', data: weightBytes() } } }],
    ['external data shorter than the tensor', 'INVALID_MODEL', externalWeight({ location: 'w.bin' }), { files: { 'w.bin': { kind: 'bytes', data: weightBytes().subarray(0, 10) } } }],
    ['external data through a symlink out of the folder', 'INVALID_MODEL', externalWeight({ location: 'w.bin' }), { files: { 'w.bin': { kind: 'symlink-outside' } } }],
    ['external data that is a FIFO', 'INVALID_MODEL', externalWeight({ location: 'w.bin' }), { files: { 'w.bin': { kind: 'fifo' } } }],
    ['external data location "."', 'INVALID_MODEL', externalWeight({ location: '.' }), { files: {} }],
    ['external data location "../x"', 'INVALID_MODEL', externalWeight({ location: '../x' }), { files: {} }],
    ['external data location absolute', 'INVALID_MODEL', externalWeight({ location: '/etc/hostname' }), { files: {} }],
    ['external data file missing', 'FILE', externalWeight({ location: 'missing.bin' }), { files: {} }],
    ['sparse initializer without values', 'INVALID_MODEL', editModel(reluOf(), (m) => {
      m.graph!.sparseInitializer = [onnx.SparseTensorProto.create({ dims: [4], indices: onnx.TensorProto.create({ dataType: 7, dims: [1], int64Data: [0] }) })];
    })],
    ['sparse indices out of range', 'INVALID_MODEL', editModel(addWeight(), (m) => {
      m.graph!.initializer = [];
      m.graph!.sparseInitializer = [onnx.SparseTensorProto.create({
        dims: [2, 3],
        values: onnx.TensorProto.create({ name: 'w', dataType: 1, dims: [2], floatData: [1, 2] }),
        indices: onnx.TensorProto.create({ dataType: 7, dims: [2], int64Data: [0, 6] }),
      })];
    })],
    ['Cast to=999', 'INVALID_MODEL', encodeModel({ ...reluOf(), nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to: 999 } }] })],
    ['Range(0, 1e9, 1) int64 on constants', 'TOO_LARGE', encodeModel(rangeOf('int64', 1e9))],
    ['Range(0, 1e9, 1) float32 on constants', 'TOO_LARGE', encodeModel(rangeOf('float32', 1e9))],
    ['Pad by 1e9 on constants', 'TOO_LARGE', encodeModel({
      opset: 13, inputs: [], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Pad', inputs: ['c', 'p'], outputs: ['y'] }],
      initializers: { c: f32([2], [1, 2]), p: i64([1e9, 1e9]) },
    })],
    ['ConstantOfShape [2^31] float32', 'TOO_LARGE', encodeModel({
      opset: 13, inputs: [], outputs: [{ name: 'y' }],
      nodes: [{ op: 'ConstantOfShape', inputs: ['s'], outputs: ['y'], attrs: { value: f32([1], [1]) } }],
      initializers: { s: i64([2 ** 31]) },
    })],
    ['Conv strides [2^32, 1] (would wrap to 0 in the kernel)', 'INVALID_MODEL', encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 4, 4] }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: [2 ** 32, 1] } }],
      initializers: { w: f32([1, 1, 2, 2], [1, 2, 3, 4]) },
    })],
    ['graph output that no node produces', 'INVALID_MODEL', encodeModel({ ...reluOf(), outputs: [{ name: 'y' }, { name: 'ghost', dtype: 'float32', shape: [2, 3] }] })],
    ['two nodes writing one name', 'INVALID_MODEL', encodeModel({ ...reluOf(), nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }, { op: 'Neg', inputs: ['x'], outputs: ['y'] }] })],
    ['a node overwriting a graph input', 'INVALID_MODEL', encodeModel({ ...reluOf(), nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['x'] }, { op: 'Relu', inputs: ['x'], outputs: ['y'] }] })],
    ['a node overwriting an initializer', 'INVALID_MODEL', encodeModel({ ...addWeight(), nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['w'] }, { op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }] })],
    ['duplicate input names', 'INVALID_MODEL', editModel(reluOf(), (m) => { m.graph!.input.push(m.graph!.input[0]); })],
    ['duplicate initializer names', 'INVALID_MODEL', editModel(addWeight(), (m) => { m.graph!.initializer.push(m.graph!.initializer[0]); })],
    ['an input with no shape', 'SYMBOLIC_SHAPE', editModel(reluOf(), (m) => { m.graph!.input[0].type!.tensorType!.shape = null; })],
    ['opset 99', 'INVALID_MODEL', encodeModel(reluOf(99))],
    ['a cycle', 'INVALID_MODEL', encodeModel({ ...reluOf(), nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['a'] }, { op: 'Relu', inputs: ['a'], outputs: ['b'] }, { op: 'Relu', inputs: ['b'], outputs: ['y'] }] })],
    ['CLI: -o m.wasm --json into a folder', 'BAD_OPTION', encodeModel(reluOf()), { files: { out: { kind: 'dir' } }, cli: ['-o', 'out/m.wasm', '--json', 'out/'] }],
  ];
  return cases.map(([id, expect, bytes, extra]) => ({ kind: 'model', id, expect, bytes, ...extra }));
}

/** The runtime's reproductions: each must throw an Error with this message, never hang. */
export function hostileModules(): ModuleCase[] {
  const raw = (id: string, value: unknown, expect: RegExp, sync = false): ModuleCase => ({ kind: 'module', id, base: 'small', damage: { raw: value }, sync, expect });
  const name = new TextEncoder().encode('onnx2wasm.manifest');
  const withManifest = (json: string) => {
    const body = new TextEncoder().encode(json);
    const size = 1 + name.length + body.length; // under 16 KiB: two LEB128 bytes
    return Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, (size & 127) | 128, size >> 7, name.length, ...name, ...body);
  };
  return [
    raw('truncated in the data section header', Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 11, 128), /truncated module/),
    raw('truncated in the data section header (sync)', Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 11, 128), /truncated module/, true),
    { kind: 'module', id: 'first 20,000 bytes of digits_cnn.wasm', base: 'digits', damage: { truncate: 20000 }, sync: false, expect: /truncated module/ },
    { kind: 'module', id: 'first 20,000 bytes of digits_cnn.wasm (sync)', base: 'digits', damage: { truncate: 20000 }, sync: true, expect: /truncated module/ },
    raw('a module from another program (imports, no manifest)', Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 7, 1, 1, 97, 1, 98, 0, 0), /not an onnx2wasm module/),
    raw('a manifest that is not JSON', withManifest('{"format":1,'), /bad manifest/),
    raw('a manifest of format 2', withManifest('{"format":2}'), /unsupported manifest format 2/),
    raw('a manifest with a malformed input', withManifest('{"format":1,"inputs":[{"name":"x","dtype":"float32","shape":[-1],"offset":0,"bytes":4}],"outputs":[],"memory":{}}'), /bad manifest/),
    raw('null', null, /got null/),
    raw('a path string', 'model.wasm', /got string/),
    raw('a path string (sync)', 'model.wasm', /got string/, true),
    raw('not a wasm file', new TextEncoder().encode('<!doctype html>'), /not a WebAssembly module/),
  ];
}

// --- seeded mutants ---

/** Builder graphs the mutants start from: small, valid, covering weights, shape constants and several ops. */
export function builderGraphs(): ModelSpec[] {
  const r = rng(7);
  const weights = (shape: number[]) => f32(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() - 0.5));
  return [
    {
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 5, 5] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Reshape', inputs: ['p', 'shape'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'g', 'gb'], outputs: ['y'], attrs: { transB: 1 } },
      ],
      initializers: { w: weights([3, 2, 3, 3]), b: weights([3]), shape: i64([1, 12]), g: weights([4, 12]), gb: weights([4]) },
    },
    {
      opset: 17, inputs: [{ name: 'a', dtype: 'float32', shape: [2, 4] }, { name: 'ids', dtype: 'int64', shape: [3] }], outputs: [{ name: 'y' }, { name: 'z' }],
      nodes: [
        { op: 'MatMul', inputs: ['a', 'm'], outputs: ['mm'] },
        { op: 'Softmax', inputs: ['mm'], outputs: ['y'], attrs: { axis: -1 } },
        { op: 'Gather', inputs: ['m', 'ids'], outputs: ['g'], attrs: { axis: 0 } },
        { op: 'ReduceSum', inputs: ['g', 'axes'], outputs: ['s'], attrs: { keepdims: 0 } },
        { op: 'Concat', inputs: ['s', 's'], outputs: ['z'], attrs: { axis: 0 } },
      ],
      initializers: { m: weights([4, 4]), axes: i64([1]) },
    },
    {
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0] } },
        { op: 'Pad', inputs: ['t', 'pads'], outputs: ['p'], attrs: { mode: 'reflect' } },
        { op: 'Slice', inputs: ['p', 'starts', 'ends', 'axes'], outputs: ['s'] },
        { op: 'Tanh', inputs: ['s'], outputs: ['y'] },
      ],
      initializers: { pads: i64([1, 1, 1, 1]), starts: i64([0, 1]), ends: i64([5, 4]), axes: i64([0, 1]) },
    },
  ];
}

export type Mutation = 'truncate' | 'flip' | 'field';

/** The mutant of `base` made by one seeded mutation; returns its bytes and a label. */
export function mutate(base: Uint8Array, r: () => number): { bytes: Uint8Array; label: string } {
  const pick = r();
  const int = (n: number) => Math.floor(r() * n);
  if (pick < 0.25) {
    const at = int(base.length);
    return { bytes: base.slice(0, at), label: `truncated at ${at}` };
  }
  if (pick < 0.5) {
    const bytes = base.slice();
    const flips: number[] = [];
    for (let k = 1 + int(4); k > 0; k--) {
      const bit = int(bytes.length * 8);
      bytes[bit >> 3] ^= 1 << (bit & 7);
      flips.push(bit);
    }
    return { bytes, label: `bits ${flips.join(',')} flipped` };
  }
  let label = '';
  const bytes = editModel(base, (m) => { label = mutateField(m, r); });
  return { bytes, label };
}

const EXTREMES = [-1, 0, 1, 2, 7, 255, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 1e9, 2 ** 53, -(2 ** 53)];
const OPS = ['Relu', 'Add', 'Conv', 'Gemm', 'MatMul', 'Reshape', 'Gather', 'Concat', 'Pad', 'Slice', 'Cast', 'Range', 'Expand', 'Tile', 'Frobnicate', ''];

/** One protobuf-level mutation: a field of a node, attribute, initializer, value info or the opset. */
function mutateField(m: onnxProto.onnx.ModelProto, r: () => number): string {
  const g = m.graph!;
  const int = (n: number) => Math.floor(r() * n);
  const any = <T>(list: T[]): T | undefined => (list.length ? list[int(list.length)] : undefined);
  const extreme = () => EXTREMES[int(EXTREMES.length)];
  const names = [...g.node.flatMap((n) => n.output), ...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), 'nowhere', ''];
  switch (int(12)) {
    case 0: { const n = any(g.node); if (!n) return 'no node'; n.opType = any(OPS)!; return `node ${n.name} op -> ${n.opType}`; }
    case 1: { const n = any(g.node); if (!n?.input.length) return 'no input'; const i = int(n.input.length); n.input[i] = any(names)!; return `node ${n.name} input ${i} -> "${n.input[i]}"`; }
    case 2: { const n = any(g.node); if (!n) return 'no node'; n.output[0] = any(names)!; return `node ${n.name} output -> "${n.output[0]}"`; }
    case 3: {
      const a = any(g.node.flatMap((n) => n.attribute)); if (!a) return 'no attribute';
      if (a.ints?.length) { a.ints[int(a.ints.length)] = extreme(); return `attribute ${a.name} ints -> [${a.ints}]`; }
      a.i = extreme(); a.type = onnx.AttributeProto.AttributeType.INT; return `attribute ${a.name} -> ${a.i}`;
    }
    case 4: { const t = any(g.initializer); if (!t) return 'no initializer'; if (t.dims.length) t.dims[int(t.dims.length)] = extreme(); else t.dims = [extreme()]; return `initializer ${t.name} dims -> [${t.dims}]`; }
    case 5: { const t = any(g.initializer); if (!t) return 'no initializer'; t.dataType = int(26); return `initializer ${t.name} dtype -> ${t.dataType}`; }
    case 6: { const t = any(g.initializer); if (!t?.rawData?.length) return 'no raw data'; t.rawData = t.rawData.subarray(0, int(t.rawData.length)); return `initializer ${t.name} raw data cut to ${t.rawData.length}`; }
    case 7: {
      const v = any(g.input); const dims = v?.type?.tensorType?.shape?.dim; if (!dims?.length) return 'no input dims';
      const k = int(dims.length); const e = extreme();
      dims[k] = r() < 0.2 ? onnx.TensorShapeProto.Dimension.create({ dimParam: 'n' }) : onnx.TensorShapeProto.Dimension.create({ dimValue: e });
      return `input ${v!.name} dim ${k} -> ${dims[k].dimParam || e}`;
    }
    case 8: { const v = any(g.input); if (!v?.type?.tensorType) return 'no input'; v.type.tensorType.elemType = int(26); return `input ${v.name} dtype -> ${v.type.tensorType.elemType}`; }
    case 9: { const v = any(g.output); if (!v) return 'no output'; v.name = any(names)!; return `output -> "${v.name}"`; }
    case 10: { m.opsetImport[0].version = any([0, 1, 6, 7, 9, 11, 99, -1])!; return `opset -> ${m.opsetImport[0].version}`; }
    default: {
      const k = int(g.node.length); const [n] = g.node.splice(k, 1); if (r() < 0.5 && n) g.node.unshift(n);
      return `node ${k} ${n ? 'moved first or removed' : 'none'}`;
    }
  }
}

/** Case `i` of the corpus for `seed`: hostile model cases, hostile modules, then seeded mutants. */
let hostile: ModelCase[] | undefined, modules: ModuleCase[] | undefined;
export function caseAt(seed: number, i: number): FuzzCase {
  hostile ??= hostileCases();
  modules ??= hostileModules();
  if (i < hostile.length) return hostile[i];
  if (i < hostile.length + modules.length) return modules[i - hostile.length];
  const r = rng(seed * 1_000_003 + i);
  const pick = r();
  if (pick < 0.15) {
    const base = r() < 0.5 ? 'digits' : 'small';
    const sync = r() < 0.5;
    if (r() < 0.5) return { kind: 'module', id: `${base} module truncated (case ${i})`, base, damage: { truncate: r() }, sync };
    const flips = Array.from({ length: 1 + Math.floor(r() * 4) }, () => r());
    return { kind: 'module', id: `${base} module with bit flips (case ${i})`, base, damage: { flips }, sync };
  }
  const fromDigits = pick < 0.45;
  const graphs = builderGraphs();
  const base = fromDigits ? new Uint8Array(readFileSync(DIGITS_ONNX)) : encodeModel(graphs[Math.floor(r() * graphs.length)]);
  const { bytes, label } = mutate(base, r);
  const cli = r() < 0.1 ? ['-o', 'm.wasm', '--json', 'r.json'] : undefined;
  return { kind: 'model', id: `${fromDigits ? 'digits_cnn' : 'builder graph'}: ${label} (case ${i})`, bytes, cli, files: cli ? {} : undefined };
}

export const hostileCount = () => hostileCases().length + hostileModules().length;
