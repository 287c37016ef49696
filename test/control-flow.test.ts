// If, Loop, Scan and the bounded data-dependent outputs, built with the project's ONNX builder and checked against
// onnxruntime-node on both targets.

import { describe, expect, it } from 'vitest';
import { compile, CompileError } from '../src/index.js';
import { encodeModel, graph, type ModelSpec, type NodeSpec } from '../src/onnx/encode.js';
import { makeTensor, type Tensor } from '../src/ir/graph.js';
import { load } from '../runtime-min/index.js';
import { checkBothTargets } from './helpers/both-targets.js';
import { expectClose, rng, runOrt, runOurs, type Feeds } from './helpers/oracle.js';

const f32 = (shape: number[], seed: number, scale = 1): Tensor => {
  const r = rng(seed);
  return makeTensor('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale));
};
const bool = (v: boolean): Tensor => makeTensor('bool', [], Uint8Array.of(v ? 1 : 0));
const i64 = (v: number[], shape = [v.length]): Tensor => makeTensor('int64', shape, BigInt64Array.from(v.map(BigInt)));

/** A branch computing out = op(x (outer scope), W) with its own weights. */
const branch = (name: string, nodes: NodeSpec[], out: string, initializers: Record<string, Tensor> = {}) =>
  graph({ name, inputs: [], outputs: [{ name: out }], nodes, initializers });

describe('If', () => {
  // then: a 4->3 linear layer + Relu; else: a 4->2 linear layer + Tanh: different sub-networks and output shapes.
  const selector: ModelSpec = {
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 4] }, { name: 'mode', dtype: 'bool', shape: [] }],
    outputs: [{ name: 'y', dtype: 'float32' }],
    nodes: [{
      op: 'If', name: 'select_head', inputs: ['mode'], outputs: ['y'], attrs: {
        then_branch: branch('relu_head', [{ op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] }, { op: 'Relu', inputs: ['h'], outputs: ['t'] }], 't', { W1: f32([4, 3], 1) }),
        else_branch: branch('tanh_head', [{ op: 'MatMul', inputs: ['x', 'W2'], outputs: ['g'] }, { op: 'Tanh', inputs: ['g'], outputs: ['e'] }], 'e', { W2: f32([4, 2], 2) }),
      },
    }],
  };

  it('on an input bound with constants: the taken branch is inlined (both choices)', async () => {
    const model = encodeModel(selector);
    for (const mode of [true, false]) {
      const x = f32([2, 4], 3);
      const expected = await runOrt(model, { x, mode: bool(mode) });
      for (const target of ['simd', 'scalar'] as const) {
        const got = await runOurs(model, { x }, { target, constants: { mode: { data: [mode ? 1 : 0], shape: [] } } });
        expectClose(got, expected);
      }
      const { report } = await compile(model, { constants: { mode: { data: [mode ? 1 : 0], shape: [] } } });
      expect(report.ops).toEqual(mode ? { MatMul: 1 } : { MatMul: 1, Tanh: 1 }); // Relu fuses into the MatMul
    }
  });

  it('on an unbound input with differing branch shapes: a one-line error naming the If and suggesting --constant', async () => {
    const err = await compile(encodeModel(selector)).catch((e) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect(err.code).toBe('DATA_DEPENDENT');
    expect(err.node).toBe('select_head');
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/node "select_head" \(If, opset 17\).*then float32 2x3, else float32 2x2.*--constant mode=/);
  });

  it('on a folded expression of a bound input (a VAD\'s `if sample_rate == 16000`); unbound, the error names that input', async () => {
    // 16 kHz: frames of 4 samples -> a 4->2 projection; otherwise frames of 2 samples -> a 2->2 projection.
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'audio', dtype: 'float32', shape: [1, 8] }, { name: 'sr', dtype: 'int64', shape: [] }],
      outputs: [{ name: 'feat', dtype: 'float32' }],
      initializers: { k16: i64([16000], []), shape16: i64([2, 4]), shape8: i64([4, 2]) },
      nodes: [
        { op: 'Equal', inputs: ['sr', 'k16'], outputs: ['is16k'] },
        {
          op: 'If', name: 'by_rate', inputs: ['is16k'], outputs: ['feat'], attrs: {
            then_branch: branch('wide', [{ op: 'Reshape', inputs: ['audio', 'shape16'], outputs: ['f16'] }, { op: 'MatMul', inputs: ['f16', 'P16'], outputs: ['o16'] }], 'o16', { P16: f32([4, 2], 19) }),
            else_branch: branch('narrow', [{ op: 'Reshape', inputs: ['audio', 'shape8'], outputs: ['f8'] }, { op: 'MatMul', inputs: ['f8', 'P8'], outputs: ['o8'] }], 'o8', { P8: f32([2, 2], 20) }),
          },
        },
      ],
    };
    const model = encodeModel(spec);
    for (const sr of [16000, 8000]) {
      const audio = f32([1, 8], 21);
      const expected = await runOrt(model, { audio, sr: i64([sr], []) });
      for (const target of ['simd', 'scalar'] as const) {
        expectClose(await runOurs(model, { audio }, { target, constants: { sr: { data: [sr], shape: [] } } }), expected);
      }
    }
    const err = await compile(model).catch((e) => e);
    expect(err.code).toBe('DATA_DEPENDENT');
    expect(err.message).toMatch(/node "by_rate" \(If, opset 17\).*then float32 2x2, else float32 4x2.*bind input "sr".*--constant sr=/);
  });

  it('at run time with equal branch shapes: one branch runs (wasm if/else)', async () => {
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 5] }, { name: 'c', dtype: 'bool', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [{
        op: 'If', name: 'branchy', inputs: ['c'], outputs: ['y'], attrs: {
          then_branch: branch('t', [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['a'] }, { op: 'Sigmoid', inputs: ['a'], outputs: ['b'] }], 'b', { two: makeTensor('float32', [], Float32Array.of(2)) }),
          else_branch: branch('e', [{ op: 'Neg', inputs: ['x'], outputs: ['n'] }], 'n'),
        },
      }],
    };
    for (const c of [true, false]) await checkBothTargets(spec, { x: f32([3, 5], 4), c: bool(c) });
    // run() holds the if/else (kernels are functions of their own).
    expect(await runFunctionText(encodeModel(spec))).toMatch(/\bif\b[\s\S]*\belse\b/);
  });

  it('nested Ifs reading outer values, conditions at run time', async () => {
    // outer: c1 ? (c2 ? x + bias : x * x) : Abs(x) - bias; the inner If reads x and bias from two scopes up.
    const inner = {
      op: 'If', name: 'inner', inputs: ['c2'], outputs: ['r'], attrs: {
        then_branch: branch('in_t', [{ op: 'Add', inputs: ['x', 'bias'], outputs: ['s'] }], 's'),
        else_branch: branch('in_e', [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['m'] }], 'm'),
      },
    };
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }, { name: 'c1', dtype: 'bool', shape: [] }, { name: 'c2', dtype: 'bool', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      initializers: { bias: f32([3], 5) },
      nodes: [{
        op: 'If', name: 'outer', inputs: ['c1'], outputs: ['y'], attrs: {
          then_branch: branch('out_t', [inner], 'r'),
          else_branch: branch('out_e', [{ op: 'Abs', inputs: ['x'], outputs: ['ab'] }, { op: 'Sub', inputs: ['ab', 'bias'], outputs: ['d'] }], 'd'),
        },
      }],
    };
    for (const [c1, c2] of [[true, true], [true, false], [false, true]]) {
      await checkBothTargets(spec, { x: f32([2, 3], 6), c1: bool(c1), c2: bool(c2) });
    }
    // Both conditions bound: everything inlines, nodes named after their origin.
    const { report } = await compile(encodeModel(spec), { constants: { c1: { data: [1], shape: [] }, c2: { data: [1], shape: [] } } });
    expect(report.ops).toEqual({ Add: 1 });
  });
});

describe('Loop', () => {
  it('accumulates a state over a constant trip count with scan outputs (a wasm loop)', async () => {
    // state s (1x4): s = s * 0.9 + x * i; scan output: s each iteration. 40 iterations: not unrolled.
    const body = graph({
      name: 'body',
      inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'cin', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 'cout', dtype: 'bool', shape: [] }, { name: 's2', dtype: 'float32', shape: [1, 4] }, { name: 'row', dtype: 'float32', shape: [1, 4] }],
      nodes: [
        { op: 'Identity', inputs: ['cin'], outputs: ['cout'] },
        { op: 'Cast', inputs: ['i'], outputs: ['fi'], attrs: { to: 1 } },
        { op: 'Mul', inputs: ['x', 'fi'], outputs: ['xi'] },
        { op: 'Mul', inputs: ['s', 'decay'], outputs: ['sd'] },
        { op: 'Add', inputs: ['sd', 'xi'], outputs: ['s2'] },
        { op: 'Identity', inputs: ['s2'], outputs: ['row'] },
      ],
      initializers: { decay: makeTensor('float32', [], Float32Array.of(0.9)) },
    });
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4] }, { name: 's0', dtype: 'float32', shape: [1, 4] }],
      outputs: [{ name: 's_final', dtype: 'float32' }, { name: 'history', dtype: 'float32' }],
      initializers: { trips: i64([40], []), go: makeTensor('bool', [], Uint8Array.of(1)) },
      nodes: [{ op: 'Loop', name: 'accumulate', inputs: ['trips', 'go', 's0'], outputs: ['s_final', 'history'], attrs: { body } }],
    };
    await checkBothTargets(spec, { x: f32([1, 4], 7), s0: f32([1, 4], 8) });
    const { manifest } = await compile(encodeModel(spec));
    expect(manifest.outputs[1].shape).toEqual([40, 1, 4]);
    expect(await runFunctionText(encodeModel(spec))).toMatch(/\bloop\b/);
  });

  it('a run-time trip count and a condition computed in the body (a bounded while loop)', async () => {
    // s += x while sum(s) < limit, at most n times: both the trip count and the condition are run-time values.
    const body = graph({
      name: 'step',
      inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'cin', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [3] }],
      outputs: [{ name: 'cout', dtype: 'bool', shape: [] }, { name: 's2', dtype: 'float32', shape: [3] }],
      nodes: [
        { op: 'Add', inputs: ['s', 'x'], outputs: ['s2'] },
        { op: 'ReduceSum', inputs: ['s2'], outputs: ['total'], attrs: { keepdims: 0 } },
        { op: 'Less', inputs: ['total', 'limit'], outputs: ['cout'] },
      ],
    });
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3] }, { name: 'n', dtype: 'int64', shape: [] }, { name: 'limit', dtype: 'float32', shape: [] }],
      outputs: [{ name: 's_out', dtype: 'float32' }],
      initializers: { s0: makeTensor('float32', [3], new Float32Array(3)), go: makeTensor('bool', [], Uint8Array.of(1)) },
      nodes: [{ op: 'Loop', name: 'accumulate_until', inputs: ['n', 'go', 's0'], outputs: ['s_out'], attrs: { body } }],
    };
    const x = makeTensor('float32', [3], Float32Array.of(0.5, 1, 1.5));
    const scalar = (v: number) => makeTensor('float32', [], Float32Array.of(v));
    for (const [n, limit] of [[10, 11], [2, 100], [0, 5], [10, 1000]]) {
      await checkBothTargets(spec, { x, n: i64([n], []), limit: scalar(limit) });
    }
    expect(await runFunctionText(encodeModel(spec))).toMatch(/\bloop\b/);
  });
});

describe('nesting', () => {
  it('an If on the iteration number inside a Loop body (a wasm if/else inside a wasm loop); output is deterministic', async () => {
    // s = (i mod 3 == 0) ? s * 0.5 + x : s - x * 0.25, 30 times; the condition changes every iteration.
    const body = graph({
      name: 'body',
      inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'cin', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'cout', dtype: 'bool', shape: [] }, { name: 's2', dtype: 'float32', shape: [2, 3] }],
      nodes: [
        { op: 'Identity', inputs: ['cin'], outputs: ['cout'] },
        { op: 'Mod', inputs: ['i', 'three'], outputs: ['r'] },
        { op: 'Equal', inputs: ['r', 'zero'], outputs: ['every3'] },
        {
          op: 'If', name: 'pick', inputs: ['every3'], outputs: ['s2'], attrs: {
            then_branch: branch('halve', [{ op: 'Mul', inputs: ['s', 'half'], outputs: ['h'] }, { op: 'Add', inputs: ['h', 'x'], outputs: ['t'] }], 't'),
            else_branch: branch('shrink', [{ op: 'Mul', inputs: ['x', 'quarter'], outputs: ['q'] }, { op: 'Sub', inputs: ['s', 'q'], outputs: ['e'] }], 'e'),
          },
        },
      ],
    });
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      initializers: {
        n: i64([30], []), s0: f32([2, 3], 16), three: i64([3], []), zero: i64([0], []),
        half: makeTensor('float32', [], Float32Array.of(0.5)), quarter: makeTensor('float32', [], Float32Array.of(0.25)),
      },
      nodes: [{ op: 'Loop', name: 'steps', inputs: ['n', '', 's0'], outputs: ['y'], attrs: { body } }],
    };
    await checkBothTargets(spec, { x: f32([2, 3], 17) });
    const text = await runFunctionText(encodeModel(spec));
    expect(text).toMatch(/\bloop\b[\s\S]*\bif\b[\s\S]*\belse\b/);
    const [a, b] = [await compile(encodeModel(spec)), await compile(encodeModel(spec))];
    expect(Buffer.from(a.wasm).equals(Buffer.from(b.wasm))).toBe(true);
  });
});

describe('Scan', () => {
  it('an RNN: h_t = tanh(x_t W + h_(t-1) R + b) over 24 steps, hidden states stacked', async () => {
    const body = graph({
      name: 'cell',
      inputs: [{ name: 'h', dtype: 'float32', shape: [1, 8] }, { name: 'xt', dtype: 'float32', shape: [1, 5] }],
      outputs: [{ name: 'h2', dtype: 'float32', shape: [1, 8] }, { name: 'ht', dtype: 'float32', shape: [1, 8] }],
      nodes: [
        { op: 'MatMul', inputs: ['xt', 'W'], outputs: ['a'] },
        { op: 'MatMul', inputs: ['h', 'R'], outputs: ['b'] },
        { op: 'Add', inputs: ['a', 'b'], outputs: ['c'] },
        { op: 'Add', inputs: ['c', 'B'], outputs: ['d'] },
        { op: 'Tanh', inputs: ['d'], outputs: ['h2'] },
        { op: 'Identity', inputs: ['h2'], outputs: ['ht'] },
      ],
    });
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'h0', dtype: 'float32', shape: [1, 8] }, { name: 'xs', dtype: 'float32', shape: [24, 1, 5] }],
      outputs: [{ name: 'h_last', dtype: 'float32' }, { name: 'hs', dtype: 'float32' }],
      initializers: { W: f32([5, 8], 9, 0.5), R: f32([8, 8], 10, 0.5), B: f32([8], 11, 0.1) },
      nodes: [{ op: 'Scan', name: 'rnn', inputs: ['h0', 'xs'], outputs: ['h_last', 'hs'], attrs: { body, num_scan_inputs: 1 } }],
    };
    await checkBothTargets(spec, { h0: f32([1, 8], 12), xs: f32([24, 1, 5], 13) });
    // Reversed input and an output axis of 1.
    spec.nodes[0].attrs = { body, num_scan_inputs: 1, scan_input_directions: [1], scan_output_axes: [1] };
    await checkBothTargets(spec, { h0: f32([1, 8], 12), xs: f32([24, 1, 5], 13) });
  });
});

describe('bounded data-dependent outputs', () => {
  it('a detector head with NonMaxSuppression: run() returns the actual number of boxes', async () => {
    // scores = Sigmoid(logits), boxes = anchors + deltas; NMS keeps at most 8 per class.
    const spec: ModelSpec = {
      opset: 13,
      inputs: [{ name: 'deltas', dtype: 'float32', shape: [1, 12, 4] }, { name: 'logits', dtype: 'float32', shape: [1, 2, 12] }],
      outputs: [{ name: 'selected', dtype: 'int64' }],
      initializers: {
        anchors: makeTensor('float32', [1, 12, 4], Float32Array.from({ length: 48 }, (_, i) => [0, 0, 1, 1][i % 4] + Math.floor(i / 4) * 0.4)),
        max_per_class: i64([8]), iou: makeTensor('float32', [1], Float32Array.of(0.4)), score_min: makeTensor('float32', [1], Float32Array.of(0.3)),
      },
      nodes: [
        { op: 'Add', inputs: ['anchors', 'deltas'], outputs: ['boxes'] },
        { op: 'Sigmoid', inputs: ['logits'], outputs: ['scores'] },
        { op: 'NonMaxSuppression', name: 'nms', inputs: ['boxes', 'scores', 'max_per_class', 'iou', 'score_min'], outputs: ['selected'] },
      ],
    };
    const feeds: Feeds = { deltas: f32([1, 12, 4], 14, 0.2), logits: f32([1, 2, 12], 15, 3) };
    await checkBothTargets(spec, feeds);
    const { wasm, manifest } = await compile(encodeModel(spec));
    expect(manifest.outputs[0].shape).toEqual([16, 3]); // the bound: 1 batch x 2 classes x 8
    expect(manifest.outputs[0].dynamic?.axes).toEqual([0]);
    const model = await load(wasm);
    const out = model.run({ deltas: feeds.deltas.data, logits: feeds.logits.data }).selected;
    const expected = (await runOrt(encodeModel(spec), feeds)).selected;
    expect(out.shape).toEqual(expected.shape);
    expect(expected.shape[0]).toBeGreaterThan(0);
    expect(expected.shape[0]).toBeLessThan(16); // overlapping anchors are suppressed: fewer than the bound
    // The C ABI gives the same dims.
    const inst = await WebAssembly.instantiate(wasm);
    const exp = inst.instance.exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
    new Uint8Array(exp.memory.buffer, manifest.inputs[0].offset, manifest.inputs[0].bytes).set(new Uint8Array(feeds.deltas.data.buffer));
    new Uint8Array(exp.memory.buffer, manifest.inputs[1].offset, manifest.inputs[1].bytes).set(new Uint8Array(feeds.logits.data.buffer));
    expect(exp.run()).toBe(0);
    expect([exp.output_dims(0, 0), exp.output_dims(0, 1)]).toEqual(expected.shape);
  });

  it('the kept boxes gathered and scaled within the bound: run() returns n rows', async () => {
    // selected -> box column -> Gather of the boxes -> * scale: each node runs over the bound, the count follows.
    const spec: ModelSpec = {
      opset: 13,
      inputs: [{ name: 'boxes', dtype: 'float32', shape: [1, 10, 4] }, { name: 'scores', dtype: 'float32', shape: [1, 1, 10] }],
      outputs: [{ name: 'selected', dtype: 'int64' }, { name: 'kept', dtype: 'float32' }],
      initializers: {
        max_per_class: i64([6]), iou: makeTensor('float32', [1], Float32Array.of(0.3)),
        col: i64([2], []), flat: i64([10, 4]), scale: makeTensor('float32', [4], Float32Array.of(320, 240, 320, 240)),
      },
      nodes: [
        { op: 'NonMaxSuppression', inputs: ['boxes', 'scores', 'max_per_class', 'iou'], outputs: ['selected'] },
        { op: 'Gather', inputs: ['selected', 'col'], outputs: ['box_index'], attrs: { axis: 1 } },
        { op: 'Reshape', inputs: ['boxes', 'flat'], outputs: ['boxes2d'] },
        { op: 'Gather', inputs: ['boxes2d', 'box_index'], outputs: ['picked'], attrs: { axis: 0 } },
        { op: 'Mul', inputs: ['picked', 'scale'], outputs: ['kept'] },
      ],
    };
    const corners = Float32Array.from({ length: 40 }, (_, i) => [0, 0, 0.3, 0.3][i % 4] + Math.floor(i / 8) * 0.2 + (i % 8 >= 4 ? 0.05 : 0));
    const feeds: Feeds = { boxes: makeTensor('float32', [1, 10, 4], corners), scores: f32([1, 1, 10], 18) };
    await checkBothTargets(spec, feeds);
    const expected = await runOrt(encodeModel(spec), feeds);
    expect(expected.kept.shape[0]).toBeGreaterThan(0);
    expect(expected.kept.shape[0]).toBeLessThan(6); // pairs of overlapping boxes: fewer than the bound are kept
    const { manifest } = await compile(encodeModel(spec));
    expect(manifest.outputs[1]).toMatchObject({ shape: [6, 4], dynamic: { axes: [0] } });
  });

  it('NonZero, Compress and Unique as graph outputs; a consumer of such an output is a clear error', async () => {
    const x = makeTensor('float32', [3, 4], Float32Array.from([0, 1, 0, 2, 3, 0, 0, 1, 2, 2, 0, 5]));
    await checkBothTargets({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }, { name: 'keep', dtype: 'bool', shape: [3] }],
      outputs: [{ name: 'nz', dtype: 'int64' }, { name: 'rows', dtype: 'float32' }, { name: 'u' }, { name: 'idx' }, { name: 'inv' }, { name: 'cnt' }],
      nodes: [
        { op: 'NonZero', inputs: ['x'], outputs: ['nz'] },
        { op: 'Compress', inputs: ['x', 'keep'], outputs: ['rows'], attrs: { axis: 0 } },
        { op: 'Unique', inputs: ['x'], outputs: ['u', 'idx', 'inv', 'cnt'] },
      ],
    }, { x, keep: makeTensor('bool', [3], Uint8Array.from([1, 0, 1])) });
    const err = await compile(encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }],
      outputs: [{ name: 'y', dtype: 'int64' }],
      nodes: [{ op: 'NonZero', inputs: ['x'], outputs: ['nz'] }, { op: 'Neg', name: 'after', inputs: ['nz'], outputs: ['y'] }],
    })).catch((e) => e);
    expect(err.code).toBe('DATA_DEPENDENT');
    expect(err.message).toMatch(/node "after" \(Neg, opset 13\): input "nz" has dimension 1 known only at run time \(at most 12\); only a run-time extent on the first axis/);
    // A reduction over the distinct values would read the rows past the count.
    const reduce = await compile(encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }],
      outputs: [{ name: 'total', dtype: 'float32' }],
      nodes: [{ op: 'Unique', inputs: ['x'], outputs: ['u'] }, { op: 'ReduceSum', name: 'sum_u', inputs: ['u'], outputs: ['total'] }],
    })).catch((e) => e);
    expect(reduce.code).toBe('DATA_DEPENDENT');
    expect(reduce.message).toMatch(/node "sum_u" \(ReduceSum, opset 13\): input "u" has dimension 0 known only at run time \(at most 12\); ReduceSum would read past the run-time extent/);
  });
});

/** The text of the module's run() function (unoptimized, so that it is not inlined into anything). */
async function runFunctionText(model: Uint8Array): Promise<string> {
  const { wasm } = await compile(model, { optimize: false });
  const wabt = await (await import('wabt')).default();
  const mod = wabt.readWasm(wasm, { readDebugNames: true, simd: true, bulk_memory: true, sat_float_to_int: true, sign_extension: true, mutable_globals: true });
  let text: string;
  try { text = mod.toText({}); } finally { mod.destroy(); }
  const index = /\(export "run" \(func (\d+)\)\)/.exec(text)![1];
  const start = text.indexOf(`(func (;${index};)`);
  return text.slice(start, text.indexOf('(func (;', start + 1));
}
