// Differential fuzzing: random small graphs (chains of 2-6 supported operators with random shapes, attributes and
// dtypes) run by onnxruntime-node (the oracle) and by onnx2wasm on both targets. A mismatch is minimised to the
// shortest window of the chain that still disagrees, and reported as a builder spec one can paste into a test.

import { compile, CompileError } from '../../src/index.js';
import { encodeModel, float, type ModelSpec, type NodeSpec } from '../../src/onnx/encode.js';
import { makeTensor, type Tensor } from '../../src/ir/graph.js';
import type { DType } from '../../src/ir/dtype.js';
import { loadSync } from '../../runtime-min/index.js';
import { firstMismatch, randomTensor, rng, runOrt, type Feeds, type Outputs } from '../helpers/oracle.js';

/** One link of a chain: its nodes read `in` and write `out`; initializers are named after the link. */
interface Step { nodes: NodeSpec[]; initializers: Record<string, Tensor>; dtype: DType; shape: number[]; label: string }
interface Value { dtype: DType; shape: number[] }
type Maker = (x: Value, r: Rand, name: (s: string) => string, input: string, output: string) => Step | undefined;

interface Rand { (): number; int(lo: number, hi: number): number; pick<T>(list: readonly T[]): T }
function rand(seed: number): Rand {
  const r = rng(seed) as Rand;
  r.int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  r.pick = (list) => list[Math.floor(r() * list.length)];
  return r;
}

const OPSET = 17;
const FLOAT_UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'Floor', 'Ceil', 'Softplus', 'Erf', 'Sin', 'Cos', 'Exp', 'Sign', 'Round', 'HardSwish', 'Softsign'];
const INT_UNARY = ['Abs', 'Neg', 'Sign'];
const BINARY = ['Add', 'Sub', 'Mul', 'Max', 'Min'];
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const i64 = (v: number[]) => makeTensor('int64', [v.length], BigInt64Array.from(v.map(BigInt)));
const constOf = (dtype: DType, shape: number[], r: Rand, lo = -2, hi = 2) => randomTensor(dtype, shape, r, lo, hi);
const isFloat = (v: Value) => v.dtype === 'float32' || v.dtype === 'float64';

const MAKERS: Record<string, Maker> = {
  unary: (x, r, _n, i, o) => {
    const op = r.pick(isFloat(x) ? FLOAT_UNARY : INT_UNARY);
    return { nodes: [{ op, inputs: [i], outputs: [o] }], initializers: {}, dtype: x.dtype, shape: x.shape, label: op };
  },
  activation: (x, r, _n, i, o) => {
    if (!isFloat(x)) return undefined;
    const op = r.pick(['LeakyRelu', 'Elu', 'HardSigmoid', 'Selu', 'Celu', 'ThresholdedRelu']);
    const attrs = op === 'HardSigmoid' ? { alpha: float(0.1 + r()), beta: float(r()) } : op === 'Selu' ? {} : { alpha: float(0.05 + r()) };
    return { nodes: [{ op, inputs: [i], outputs: [o], attrs }], initializers: {}, dtype: x.dtype, shape: x.shape, label: op };
  },
  binary: (x, r, n, i, o) => {
    const op = r.pick(BINARY);
    // A constant broadcast against a suffix of the shape, with some dimensions 1.
    const k = r.int(0, x.shape.length);
    const shape = x.shape.slice(x.shape.length - k).map((d) => (r() < 0.3 ? 1 : d));
    const c = n('c');
    const first = r() < 0.5;
    return { nodes: [{ op, inputs: first ? [i, c] : [c, i], outputs: [o] }], initializers: { [c]: constOf(x.dtype, shape, r) }, dtype: x.dtype, shape: x.shape, label: `${op} [${shape}]` };
  },
  div: (x, r, n, i, o) => {
    if (!isFloat(x)) return undefined;
    const c = n('c');
    const t = constOf(x.dtype, [x.shape[x.shape.length - 1] ?? 1].slice(0, x.shape.length), r, 0.5, 2);
    return { nodes: [{ op: 'Div', inputs: [i, c], outputs: [o] }], initializers: { [c]: t }, dtype: x.dtype, shape: x.shape, label: 'Div' };
  },
  clip: (x, r, n, i, o) => {
    const lo = n('lo'), hi = n('hi');
    const v = r() - 1;
    return {
      nodes: [{ op: 'Clip', inputs: [i, lo, hi], outputs: [o] }],
      initializers: { [lo]: makeTensor(x.dtype, [], constOf(x.dtype, [1], r, -1, 0).data), [hi]: makeTensor(x.dtype, [], constOf(x.dtype, [1], r, v + 1, 2).data) },
      dtype: x.dtype, shape: x.shape, label: 'Clip',
    };
  },
  transpose: (x, r, _n, i, o) => {
    if (x.shape.length < 2) return undefined;
    const perm = x.shape.map((_, k) => k).sort(() => r() - 0.5);
    return { nodes: [{ op: 'Transpose', inputs: [i], outputs: [o], attrs: { perm } }], initializers: {}, dtype: x.dtype, shape: perm.map((p) => x.shape[p]), label: `Transpose [${perm}]` };
  },
  reshape: (x, r, n, i, o) => {
    const total = numel(x.shape);
    const shape: number[] = [];
    let left = total;
    while (left > 1 && shape.length < 3) {
      const divisors = Array.from({ length: left }, (_, k) => k + 1).filter((d) => left % d === 0);
      const d = r.pick(divisors);
      shape.push(d);
      left /= d;
    }
    if (left > 1 || !shape.length) shape.push(left);
    const s = n('shape');
    const spec = shape.slice();
    if (r() < 0.3) spec[r.int(0, spec.length - 1)] = -1;
    return { nodes: [{ op: 'Reshape', inputs: [i, s], outputs: [o] }], initializers: { [s]: i64(spec) }, dtype: x.dtype, shape, label: `Reshape [${spec}]` };
  },
  softmax: (x, r, _n, i, o) => {
    if (!isFloat(x) || !x.shape.length) return undefined;
    const op = r.pick(['Softmax', 'LogSoftmax']);
    const axis = r.int(-x.shape.length, x.shape.length - 1);
    return { nodes: [{ op, inputs: [i], outputs: [o], attrs: { axis } }], initializers: {}, dtype: x.dtype, shape: x.shape, label: `${op} axis ${axis}` };
  },
  reduce: (x, r, n, i, o) => {
    if (!x.shape.length) return undefined;
    const op = r.pick(isFloat(x) ? ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceLogSumExp', 'ReduceProd'] : ['ReduceSum', 'ReduceMax', 'ReduceMin']);
    const axes = [...new Set(Array.from({ length: r.int(1, x.shape.length) }, () => r.int(0, x.shape.length - 1)))].sort();
    const keepdims = r() < 0.5 ? 1 : 0;
    const shape = keepdims ? x.shape.map((d, k) => (axes.includes(k) ? 1 : d)) : x.shape.filter((_, k) => !axes.includes(k));
    const asInput = op === 'ReduceSum'; // opset 17: ReduceSum takes axes as an input, the others as an attribute
    const a = n('axes');
    return {
      nodes: [{ op, inputs: asInput ? [i, a] : [i], outputs: [o], attrs: asInput ? { keepdims } : { axes, keepdims } }],
      initializers: asInput ? { [a]: i64(axes) } : {}, dtype: x.dtype, shape, label: `${op} axes [${axes}] keepdims ${keepdims}`,
    };
  },
  matmul: (x, r, n, i, o) => {
    if (!isFloat(x) || x.shape.length < 1) return undefined;
    const k = x.shape[x.shape.length - 1], m = r.int(1, 6);
    const w = n('w');
    const shape = x.shape.length === 1 ? [m] : [...x.shape.slice(0, -1), m];
    return { nodes: [{ op: 'MatMul', inputs: [i, w], outputs: [o] }], initializers: { [w]: constOf(x.dtype, [k, m], r, -1, 1) }, dtype: x.dtype, shape, label: `MatMul [${k},${m}]` };
  },
  conv: (x, r, n, i, o) => {
    if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const [b, c, h, wd] = x.shape;
    const kh = r.int(1, Math.min(3, h + 2)), kw = r.int(1, Math.min(3, wd + 2));
    const pads = [r.int(0, 1), r.int(0, 1), r.int(0, 1), r.int(0, 1)];
    const strides = [r.int(1, 2), r.int(1, 2)];
    const dil = [1, 1];
    const oh = Math.floor((h + pads[0] + pads[2] - kh) / strides[0]) + 1, ow = Math.floor((wd + pads[1] + pads[3] - kw) / strides[1]) + 1;
    if (oh < 1 || ow < 1) return undefined;
    const m = r.int(1, 4), w = n('w'), bias = n('b');
    const group = c % 2 === 0 && m % 2 === 0 && r() < 0.3 ? 2 : 1;
    const op = r() < 0.5 ? 'Conv' : 'ConvBias';
    return {
      nodes: [{ op: 'Conv', inputs: op === 'Conv' ? [i, w] : [i, w, bias], outputs: [o], attrs: { kernel_shape: [kh, kw], pads, strides, dilations: dil, group } }],
      initializers: { [w]: constOf('float32', [m, c / group, kh, kw], r, -1, 1), ...(op === 'Conv' ? {} : { [bias]: constOf('float32', [m], r) }) },
      dtype: 'float32', shape: [b, m, oh, ow], label: `Conv k${kh}x${kw} s${strides} p${pads} g${group}`,
    };
  },
  pool: (x, r, _n, i, o) => {
    if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const [b, c, h, wd] = x.shape;
    const op = r.pick(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);
    if (op.startsWith('Global')) return { nodes: [{ op, inputs: [i], outputs: [o] }], initializers: {}, dtype: 'float32', shape: [b, c, 1, 1], label: op };
    const k = [r.int(1, Math.min(3, h)), r.int(1, Math.min(3, wd))];
    const strides = [r.int(1, 2), r.int(1, 2)];
    const pads = [0, 0, 0, 0].map(() => r.int(0, 1)).map((p, j) => Math.min(p, k[j % 2] - 1));
    const oh = Math.floor((h + pads[0] + pads[2] - k[0]) / strides[0]) + 1, ow = Math.floor((wd + pads[1] + pads[3] - k[1]) / strides[1]) + 1;
    const attrs: NodeSpec['attrs'] = { kernel_shape: k, strides, pads, ...(op === 'AveragePool' ? { count_include_pad: r.int(0, 1) } : {}) };
    return { nodes: [{ op, inputs: [i], outputs: [o], attrs }], initializers: {}, dtype: 'float32', shape: [b, c, oh, ow], label: `${op} k${k} s${strides} p${pads}` };
  },
  slice: (x, r, n, i, o) => {
    if (!x.shape.length) return undefined;
    const axis = r.int(0, x.shape.length - 1), d = x.shape[axis];
    const step = r.pick([1, 1, 2, -1]);
    const start = r.int(-d, d), end = step > 0 ? r.int(-d, d + 1) : r.int(-d - 1, d);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = step > 0 ? clamp(start, 0, d) : clamp(start, 0, d - 1), e = step > 0 ? clamp(end, 0, d) : clamp(end, -1, d - 1);
    const len = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
    if (len === 0) return undefined;
    const names = ['starts', 'ends', 'axes', 'steps'].map(n);
    return {
      nodes: [{ op: 'Slice', inputs: [i, ...names], outputs: [o] }],
      initializers: { [names[0]]: i64([start]), [names[1]]: i64([end]), [names[2]]: i64([axis]), [names[3]]: i64([step]) },
      dtype: x.dtype, shape: x.shape.map((v, k) => (k === axis ? len : v)), label: `Slice axis ${axis} ${start}:${end}:${step}`,
    };
  },
  concat: (x, r, _n, i, o) => {
    if (!x.shape.length) return undefined;
    const axis = r.int(0, x.shape.length - 1);
    return { nodes: [{ op: 'Concat', inputs: [i, i], outputs: [o], attrs: { axis } }], initializers: {}, dtype: x.dtype, shape: x.shape.map((v, k) => (k === axis ? 2 * v : v)), label: `Concat axis ${axis}` };
  },
  pad: (x, r, n, i, o) => {
    if (!x.shape.length) return undefined;
    const mode = r.pick(['constant', 'reflect', 'edge']);
    const pads = [...x.shape, ...x.shape].map((d) => (mode === 'reflect' ? r.int(0, d - 1) : r.int(0, 2)));
    const p = n('pads');
    return {
      nodes: [{ op: 'Pad', inputs: [i, p], outputs: [o], attrs: { mode } }], initializers: { [p]: i64(pads) },
      dtype: x.dtype, shape: x.shape.map((d, k) => d + pads[k] + pads[k + x.shape.length]), label: `Pad ${mode} [${pads}]`,
    };
  },
  gather: (x, r, n, i, o) => {
    if (!x.shape.length) return undefined;
    const axis = r.int(0, x.shape.length - 1), d = x.shape[axis];
    const idx = Array.from({ length: r.int(1, 4) }, () => r.int(-d, d - 1));
    const g = n('idx');
    return {
      nodes: [{ op: 'Gather', inputs: [i, g], outputs: [o], attrs: { axis } }], initializers: { [g]: i64(idx) },
      dtype: x.dtype, shape: [...x.shape.slice(0, axis), idx.length, ...x.shape.slice(axis + 1)], label: `Gather axis ${axis} [${idx}]`,
    };
  },
  cast: (x, r, _n, i, o) => {
    const to = r.pick((['float32', 'int32', 'float64', 'int64'] as DType[]).filter((d) => d !== x.dtype));
    const code = { float32: 1, int32: 6, float64: 11, int64: 7 }[to as 'float32'];
    return { nodes: [{ op: 'Cast', inputs: [i], outputs: [o], attrs: { to: code } }], initializers: {}, dtype: to, shape: x.shape, label: `Cast to ${to}` };
  },
  flatten: (x, r, _n, i, o) => {
    const axis = r.int(0, x.shape.length);
    const shape = [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))];
    return { nodes: [{ op: 'Flatten', inputs: [i], outputs: [o], attrs: { axis } }], initializers: {}, dtype: x.dtype, shape, label: `Flatten axis ${axis}` };
  },
  unsqueeze: (x, r, n, i, o) => {
    if (x.shape.length >= 4) return undefined;
    const axis = r.int(0, x.shape.length), a = n('axes');
    const shape = [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)];
    return { nodes: [{ op: 'Unsqueeze', inputs: [i, a], outputs: [o] }], initializers: { [a]: i64([axis]) }, dtype: x.dtype, shape, label: `Unsqueeze ${axis}` };
  },
  expand: (x, r, n, i, o) => {
    const shape = x.shape.map((d) => (d === 1 ? r.int(1, 3) : d));
    const lead = x.shape.length < 4 && r() < 0.5 ? [r.int(1, 3)] : [];
    const s = n('shape');
    return { nodes: [{ op: 'Expand', inputs: [i, s], outputs: [o] }], initializers: { [s]: i64([...lead, ...shape]) }, dtype: x.dtype, shape: [...lead, ...shape], label: `Expand [${lead},${shape}]` };
  },
  tile: (x, r, n, i, o) => {
    const reps = x.shape.map(() => r.int(1, 2)), t = n('reps');
    return { nodes: [{ op: 'Tile', inputs: [i, t], outputs: [o] }], initializers: { [t]: i64(reps) }, dtype: x.dtype, shape: x.shape.map((d, k) => d * reps[k]), label: `Tile [${reps}]` };
  },
  where: (x, r, n, i, o) => {
    const c = n('c'), b = n('b'), z = n('z');
    return {
      nodes: [{ op: 'Greater', inputs: [i, c], outputs: [b] }, { op: 'Where', inputs: [b, i, z], outputs: [o] }],
      initializers: { [c]: constOf(x.dtype, [], r), [z]: constOf(x.dtype, x.shape.slice(-1), r) }, dtype: x.dtype, shape: x.shape, label: 'Greater -> Where',
    };
  },
  argmax: (x, r, _n, i, o) => {
    if (!x.shape.length) return undefined;
    const op = r.pick(['ArgMax', 'ArgMin']), axis = r.int(0, x.shape.length - 1), keepdims = r.int(0, 1), last = r.int(0, 1);
    const shape = keepdims ? x.shape.map((d, k) => (k === axis ? 1 : d)) : x.shape.filter((_, k) => k !== axis);
    return { nodes: [{ op, inputs: [i], outputs: [o], attrs: { axis, keepdims, select_last_index: last } }], initializers: {}, dtype: 'int64', shape, label: `${op} axis ${axis} keepdims ${keepdims} last ${last}` };
  },
  cumsum: (x, r, n, i, o) => {
    if (!x.shape.length) return undefined;
    const axis = r.int(0, x.shape.length - 1), a = n('axis'), exclusive = r.int(0, 1), reverse = r.int(0, 1);
    return {
      nodes: [{ op: 'CumSum', inputs: [i, a], outputs: [o], attrs: { exclusive, reverse } }], initializers: { [a]: makeTensor('int64', [], BigInt64Array.of(BigInt(axis))) },
      dtype: x.dtype, shape: x.shape, label: `CumSum axis ${axis} exclusive ${exclusive} reverse ${reverse}`,
    };
  },
  gemm: (x, r, n, i, o) => {
    if (x.dtype !== 'float32' || x.shape.length !== 2) return undefined;
    const [m, k] = x.shape, nOut = r.int(1, 6), transB = r.int(0, 1), w = n('w'), c = n('c');
    const alpha = 0.5 + r(), beta = r();
    return {
      nodes: [{ op: 'Gemm', inputs: [i, w, c], outputs: [o], attrs: { transB, alpha: float(alpha), beta: float(beta) } }],
      initializers: { [w]: constOf('float32', transB ? [nOut, k] : [k, nOut], r, -1, 1), [c]: constOf('float32', r() < 0.5 ? [nOut] : [m, nOut], r) },
      dtype: 'float32', shape: [m, nOut], label: `Gemm transB ${transB}`,
    };
  },
  sqrtlog: (x, r, _n, i, o) => {
    if (!isFloat(x)) return undefined;
    const op = r.pick(['Sqrt', 'Log', 'Reciprocal']), mid = `${o}_abs`;
    return { nodes: [{ op: 'Abs', inputs: [i], outputs: [mid] }, { op, inputs: [mid], outputs: [o] }], initializers: {}, dtype: x.dtype, shape: x.shape, label: `Abs -> ${op}` };
  },
  layernorm: (x, r, n, i, o) => {
    if (x.dtype !== 'float32' || !x.shape.length) return undefined;
    const axis = r.int(-x.shape.length, x.shape.length - 1);
    const norm = x.shape.slice(axis < 0 ? axis + x.shape.length : axis);
    const s = n('scale'), b = n('bias');
    return {
      nodes: [{ op: 'LayerNormalization', inputs: [i, s, b], outputs: [o], attrs: { axis, epsilon: float(1e-5) } }],
      initializers: { [s]: constOf('float32', norm, r), [b]: constOf('float32', norm, r) }, dtype: x.dtype, shape: x.shape, label: `LayerNormalization axis ${axis}`,
    };
  },
};

export interface Chain { input: Value; steps: Step[] }

/**
 * Operators whose output jumps at some input value. After an inexact step, a last-bit difference between two
 * correct implementations (exp, tanh and sums differ by CPU) can land on either side of the jump.
 */
const DISCONTINUOUS = new Set(['Floor', 'Ceil', 'Round', 'Sign', 'ArgMax', 'ArgMin', 'Greater', 'ThresholdedRelu']);
const jumps = (step: Step, from: Value) =>
  step.nodes.some((n) => DISCONTINUOUS.has(n.op)) || (step.nodes[0].op === 'Cast' && isFloat(from) && !isFloat(step));

/**
 * A random chain of 2-6 operators on a random input. `continuous` keeps discontinuous operators to the first step
 * (on the exact input), so that the chain's result is the same on any CPU: the short run in `npm test` uses it.
 */
export function randomChain(seed: number, continuous = false): Chain {
  const r = rand(seed);
  const rank = r.int(1, 4);
  const dtype: DType = r() < 0.8 ? 'float32' : r.pick(['int32', 'int64', 'float64'] as DType[]);
  const input: Value = { dtype, shape: Array.from({ length: rank }, () => r.int(1, 5)) };
  const steps: Step[] = [];
  const length = r.int(2, 6);
  let x = input;
  for (let k = 0, tries = 0; k < length && tries < 50; tries++) {
    const kind = r.pick(Object.keys(MAKERS));
    const step = MAKERS[kind](x, r, (s) => `${s}${k}`, `v${k}`, `v${k + 1}`);
    if (!step || numel(step.shape) === 0 || numel(step.shape) > 4096) continue;
    if (continuous && k > 0 && jumps(step, x)) continue;
    steps.push(step);
    x = step;
    k++;
  }
  return { input, steps };
}

/** The model of steps [from, to) of a chain: its input is the value before step `from`. */
export function chainModel(chain: Chain, from = 0, to = chain.steps.length): ModelSpec {
  const input = from === 0 ? chain.input : chain.steps[from - 1];
  const steps = chain.steps.slice(from, to);
  const last = `v${to}`;
  return {
    opset: OPSET,
    inputs: [{ name: `v${from}`, dtype: input.dtype, shape: input.shape }],
    outputs: [{ name: last }],
    nodes: steps.flatMap((s) => s.nodes),
    initializers: Object.assign({}, ...steps.map((s) => s.initializers)),
  };
}

export type DiffOutcome = 'agree' | 'mismatch' | 'ort-refuses' | 'we-refuse' | 'internal';
export interface DiffResult { seed: number; outcome: DiffOutcome; detail?: string; labels: string[]; repro?: string }

/** Values of the input in a range where every chain's operators are defined (Exp stays finite, and so on). */
function feedsFor(spec: ModelSpec, seed: number): Feeds {
  const v = spec.inputs[0];
  return { [v.name]: randomTensor(v.dtype, v.shape as number[], rng(seed), -3, 3) };
}

/** onnxruntime-node against onnx2wasm on both targets: the first disagreement, if any. */
async function compare(spec: ModelSpec, seed: number): Promise<{ outcome: DiffOutcome; detail?: string }> {
  const model = encodeModel(spec);
  const feeds = feedsFor(spec, seed);
  let expected: Outputs;
  try {
    expected = await runOrt(model, feeds);
  } catch (e) {
    return { outcome: 'ort-refuses', detail: String((e as Error).message).split('\n')[0] };
  }
  for (const target of ['simd', 'scalar'] as const) {
    let actual: Outputs;
    try {
      const { wasm } = await compile(model, { target });
      actual = loadSync(wasm, { warmup: false }).run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.data])));
    } catch (e) {
      if (e instanceof CompileError && e.code !== 'INTERNAL') return { outcome: 'we-refuse', detail: `${target}: ${e.code}: ${e.message}` };
      return { outcome: 'internal', detail: `${target}: ${(e as Error).message}` };
    }
    for (const [name, e] of Object.entries(expected)) {
      const a = actual[name];
      if (!a || a.shape.join() !== e.shape.join()) return { outcome: 'mismatch', detail: `${target}: output shape [${a?.shape}], onnxruntime [${e.shape}]` };
      const bad = firstMismatch(a.data, e.data, 1e-3, 1e-4);
      if (bad) return { outcome: 'mismatch', detail: `${target}: ${bad}` };
    }
  }
  return { outcome: 'agree' };
}

/** The shortest window [from, to) of the chain that still gives the same kind of failure. */
async function minimise(chain: Chain, seed: number, outcome: DiffOutcome): Promise<{ spec: ModelSpec; detail?: string }> {
  let best = { from: 0, to: chain.steps.length };
  let detail: string | undefined;
  for (let to = 1; to <= chain.steps.length; to++) {
    const r = await compare(chainModel(chain, 0, to), seed);
    if (r.outcome === outcome) { best = { from: 0, to }; detail = r.detail; break; }
  }
  for (let from = best.to - 1; from > 0; from--) {
    const r = await compare(chainModel(chain, from, best.to), seed);
    if (r.outcome === outcome) { best = { from, to: best.to }; detail = r.detail; break; }
  }
  return { spec: chainModel(chain, best.from, best.to), detail };
}

/** A builder spec as text a test can take (typed arrays written as plain arrays). */
function specText(spec: ModelSpec): string {
  return JSON.stringify(spec, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x)) : v));
}

export async function diffCase(seed: number, continuous = false): Promise<DiffResult> {
  const chain = randomChain(seed, continuous);
  const labels = chain.steps.map((s) => s.label);
  const r = await compare(chainModel(chain), seed);
  if (r.outcome === 'mismatch' || r.outcome === 'internal') {
    const m = await minimise(chain, seed, r.outcome);
    return { seed, outcome: r.outcome, detail: m.detail ?? r.detail, labels, repro: specText(m.spec) };
  }
  return { seed, outcome: r.outcome, detail: r.detail, labels };
}
