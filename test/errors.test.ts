// compile()'s user errors: each is a CompileError with the right code, a one-line message that names what is wrong
// (node, op, opset, what to do), and the option that fixes it really does.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { compile, CompileError, type CompileOptions, type ErrorCode } from '../src/index.js';
import { encodeModel, graph, type ModelSpec } from '../src/onnx/encode.js';
import { makeTensor } from '../src/ir/graph.js';

const { onnx } = onnxProto;
// The bundled example (a real exported model), so this test needs nothing outside the repo.
const DIGITS = new URL('../examples/digits_cnn.onnx', import.meta.url);

/** The CompileError compile() throws (fails the test when it succeeds or throws anything else). */
async function compileError(model: Uint8Array | string, options: CompileOptions = {}): Promise<CompileError> {
  try {
    await compile(model, options);
  } catch (e) {
    expect(e).toBeInstanceOf(CompileError);
    expect((e as Error).message).not.toContain('\n');
    return e as CompileError;
  }
  throw new Error('compile() succeeded, an error was expected');
}

async function expectCode(code: ErrorCode, model: Uint8Array | string, options: CompileOptions = {}, message?: RegExp) {
  const e = await compileError(model, options);
  expect(e.code, e.message).toBe(code);
  if (message) expect(e.message).toMatch(message);
  return e;
}

/** Edit the ModelProto of a builder model (for what the builder cannot express: subgraphs, string inputs). */
function editModel(spec: ModelSpec, edit: (m: onnxProto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(encodeModel(spec));
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

const reluOf = (name: string, shape: (number | string | null)[] = [2, 3]): ModelSpec => ({
  opset: 13,
  inputs: [{ name, dtype: 'float32', shape }],
  outputs: [{ name: 'y' }],
  nodes: [{ op: 'Relu', inputs: [name], outputs: ['y'] }],
});

describe('files that are not ONNX models', () => {
  it('random bytes, text, empty input: NOT_ONNX', async () => {
    await expectCode('NOT_ONNX', Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) & 255), {}, /not an ONNX model/);
    await expectCode('NOT_ONNX', new TextEncoder().encode('name,value\nconv1,3\n'), {}, /not an ONNX model/);
    await expectCode('NOT_ONNX', new Uint8Array(0), {}, /not an ONNX model/);
  });

  it('a truncated model: NOT_ONNX suggesting truncation', async () => {
    const bytes = readFileSync(DIGITS);
    for (const keep of [0.5, 0.9, 0.999]) {
      await expectCode('NOT_ONNX', new Uint8Array(bytes.subarray(0, Math.floor(bytes.length * keep))), {}, /truncated/);
    }
  });

  it('a path that cannot be read: FILE', async () => {
    await expectCode('FILE', '/nonexistent/model.onnx', {}, /cannot read \/nonexistent\/model\.onnx: ENOENT/);
  });
});

describe('models this compiler cannot take', () => {
  it('several unknown operators: all listed in one line with node names and opset', async () => {
    const e = await expectCode('UNSUPPORTED_OP', encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Frobnicate', inputs: ['x'], outputs: ['a'], name: 'frob_1' },
        { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        { op: 'Frobnicate', inputs: ['b'], outputs: ['c'], name: 'frob_2' },
        { op: 'Wibble', inputs: ['c'], outputs: ['y'], name: 'wib' },
      ],
    }));
    expect(e.message).toMatch(/^3 node\(s\) use unsupported operators: /);
    for (const part of ['Frobnicate (opset 13; nodes "frob_1", "frob_2")', 'Wibble (opset 13; nodes "wib")']) expect(e.message).toContain(part);
    expect(e.nodes).toEqual([
      { name: 'frob_1', opType: 'Frobnicate', opset: 13 }, { name: 'frob_2', opType: 'Frobnicate', opset: 13 }, { name: 'wib', opType: 'Wibble', opset: 13 },
    ]);
    expect([e.node, e.op]).toEqual(['frob_1', 'Frobnicate']);
  });

  it('an operator from another domain: UNSUPPORTED_DOMAIN naming domain and node', async () => {
    const spec = reluOf('x');
    spec.nodes = [{ op: 'FusedGelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'], name: 'gelu_7' }];
    const e = await expectCode('UNSUPPORTED_DOMAIN', encodeModel(spec), {}, /"gelu_7" \(com\.microsoft::FusedGelu\)/);
    expect([e.node, e.op]).toEqual(['gelu_7', 'FusedGelu']);
  });

  it('a sequence inside a Loop body: UNSUPPORTED_OP naming the body node by its path', async () => {
    const model = encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      initializers: { n: makeTensor('int64', [], BigInt64Array.of(3n)) },
      nodes: [{
        op: 'Loop', name: 'collect', inputs: ['n', '', 'x'], outputs: ['y'], attrs: {
          body: graph({
            inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [2] }],
            outputs: [{ name: 'c2' }, { name: 's2' }],
            nodes: [
              { op: 'Identity', inputs: ['c'], outputs: ['c2'] },
              { op: 'SequenceConstruct', name: 'pack', inputs: ['s'], outputs: ['seq'] },
              { op: 'ConcatFromSequence', name: 'unpack', inputs: ['seq'], outputs: ['s2'], attrs: { axis: 0 } },
            ],
          }),
        },
      }],
    });
    const e = await expectCode('UNSUPPORTED_OP', model, {}, /SequenceConstruct \(opset 13; nodes "collect\/body\/pack"\).*sequences and optionals are not supported/);
    expect(e.node).toBe('collect/body/pack');
  });

  it('a Loop whose carried value grows, with a run-time trip count: CONTROL_FLOW suggesting --constant', async () => {
    const model = encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }, { name: 'n', dtype: 'int64', shape: [] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [{
        op: 'Loop', name: 'grow', inputs: ['n', '', 'x'], outputs: ['y'], attrs: {
          body: graph({
            inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [2] }],
            outputs: [{ name: 'c2' }, { name: 's2' }],
            nodes: [{ op: 'Identity', inputs: ['c'], outputs: ['c2'] }, { op: 'Concat', inputs: ['s', 's'], outputs: ['s2'], attrs: { axis: 0 } }],
          }),
        },
      }],
    });
    const e = await expectCode('CONTROL_FLOW', model, {}, /node "grow" \(Loop, opset 13\): loop-carried value "x" changes from float32 2 to float32 4 in one iteration.*--constant n=/);
    expect(e.node).toBe('grow');
    // With the trip count bound, the loop unrolls: x doubles in length three times.
    const { manifest } = await compile(model, { constants: { n: { data: [3], shape: [] } } });
    expect(manifest.outputs[0].shape).toEqual([16]);
  });

  it('a string input: UNSUPPORTED_DTYPE naming the input', async () => {
    const model = editModel(reluOf('text'), (m) => { m.graph!.input[0].type!.tensorType!.elemType = 8; });
    await expectCode('UNSUPPORTED_DTYPE', model, {}, /input "text" has element type/);
  });

  it('an input that nothing produces: INVALID_MODEL naming the node', async () => {
    const spec = reluOf('x');
    spec.nodes = [{ op: 'Relu', inputs: ['ghost'], outputs: ['y'], name: 'r1' }];
    const e = await expectCode('INVALID_MODEL', encodeModel(spec), {}, /node "r1" \(Relu, opset 13\): input "ghost" is not produced/);
    expect([e.node, e.op]).toEqual(['r1', 'Relu']);
  });
});

describe('shapes and constants', () => {
  it('a symbolic dimension without shapes: SYMBOLIC_SHAPE with the --shape to give; with shapes it compiles', async () => {
    const model = encodeModel(reluOf('x', ['batch', 3]));
    await expectCode('SYMBOLIC_SHAPE', model, {}, /input "x" has shape batchx3 with unknown dimension "batch"; give a static shape with --shape x=1x3/);
    const unnamed = editModel(reluOf('x'), (m) => { m.graph!.input[0].type!.tensorType!.shape!.dim[0] = onnx.TensorShapeProto.Dimension.create(); });
    await expectCode('SYMBOLIC_SHAPE', unnamed, {}, /shape \?x3 with unknown dimension \?/);
    const { manifest } = await compile(model, { shapes: { x: [5, 3] } });
    expect(manifest.inputs[0].shape).toEqual([5, 3]);
    expect(manifest.outputs[0].shape).toEqual([5, 3]);
  });

  it('binding a symbolic name on one input binds it on every input', async () => {
    const { manifest } = await compile(encodeModel({
      opset: 13,
      inputs: [{ name: 'a', dtype: 'float32', shape: ['n', 2] }, { name: 'b', dtype: 'float32', shape: ['n', 2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
    }), { shapes: { a: [4, 2] } });
    expect(manifest.inputs.map((e) => e.shape)).toEqual([[4, 2], [4, 2]]);
  });

  it('bad shapes: BAD_OPTION', async () => {
    const model = encodeModel(reluOf('x', ['batch', 3]));
    await expectCode('BAD_OPTION', model, { shapes: { nope: [1, 3] } }, /the model has no input "nope" \(its inputs: x\)/);
    await expectCode('BAD_OPTION', model, { shapes: { x: [1, 3, 1] } }, /rank 2/);
    await expectCode('BAD_OPTION', model, { shapes: { x: [2, 4] } }, /fixed dimension 1 = 3/);
    await expectCode('BAD_OPTION', model, { shapes: { x: [-1, 3] } }, /non-negative integers/);
    await expectCode('BAD_OPTION', model, { shapes: { x: [2 ** 53, 3] } }, /non-negative integers/);
    // A valid shape too large for wasm32 names the input, before any memory is planned.
    await expectCode('TOO_LARGE', model, { shapes: { x: [2 ** 31, 3] } }, /input "x": float32 of shape 2147483648x3 is larger than 4 GiB/);
  });

  const reshapeByInput = encodeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }, { name: 'dims', dtype: 'int64', shape: [2] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Reshape', inputs: ['x', 'dims'], outputs: ['y'], name: 'reshape_1' }],
  });

  it('a shape decided by an input: DATA_DEPENDENT pointing at --constant; binding it as a constant compiles', async () => {
    const e = await expectCode('DATA_DEPENDENT', reshapeByInput, {}, /node "reshape_1" \(Reshape, opset 13\): input "dims".*--constant dims=/);
    expect(e.node).toBe('reshape_1');
    const { manifest } = await compile(reshapeByInput, { constants: { dims: { data: [3, -1], shape: [2] } } });
    expect(manifest.inputs.map((i) => i.name)).toEqual(['x']);
    expect(manifest.outputs[0].shape).toEqual([3, 2]);
    const typed = await compile(reshapeByInput, { constants: { dims: { data: BigInt64Array.of(1n, 6n), shape: [2] } } });
    expect(typed.manifest.outputs[0].shape).toEqual([1, 6]);
  });

  it('bad constants: BAD_OPTION', async () => {
    await expectCode('BAD_OPTION', reshapeByInput, { constants: { dims: { data: [3, -1, 1], shape: [2] } } }, /has 3 values, shape 2 needs 2/);
    await expectCode('BAD_OPTION', reshapeByInput, { constants: { dimz: { data: [6], shape: [1] } } }, /no input "dimz"/);
    await expectCode('BAD_OPTION', reshapeByInput, { constants: { dims: { data: [1.5, 4], shape: [2] } } }, /"dims" \(int64\) must hold integers, got 1.5/);
  });

  it('an unknown target: BAD_OPTION', async () => {
    await expectCode('BAD_OPTION', encodeModel(reluOf('x')), { target: 'avx' as never }, /unknown target "avx"/);
  });
});
