// Applies the user's `shapes` (binding symbolic dims) and `constants` (folding inputs into the model) options,
// then requires every remaining graph input to have a static shape.

import { CompileError } from '../errors.js';
import { ARRAY_OF, fromNumbers, is64, isInt, type DType, type TypedArray } from '../ir/dtype.js';
import { fmtShape, isStatic, makeTensor, numel, type Graph } from '../ir/graph.js';
import { checkedElements } from '../ir/limits.js';

export interface ConstantBinding { data: TypedArray | ArrayLike<number | bigint>; shape: number[] }

export function bindInputs(graph: Graph, shapes: Record<string, number[]> = {}, constants: Record<string, ConstantBinding> = {}): void {
  const known = new Set(graph.inputs);
  for (const name of [...Object.keys(shapes), ...Object.keys(constants)]) {
    if (!known.has(name)) {
      throw new CompileError('BAD_OPTION', `the model has no input "${name}" (its inputs: ${graph.inputs.join(', ') || 'none'})`);
    }
  }
  for (const [name, dims] of Object.entries(shapes)) {
    const v = graph.values.get(name)!;
    if (!Array.isArray(dims) || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new CompileError('BAD_OPTION', `shape for input "${name}" must be a list of non-negative integers`);
    }
    if (!v.rankUnknown && dims.length !== v.shape.length) {
      throw new CompileError('BAD_OPTION', `input "${name}" has rank ${v.shape.length} (${fmtShape(v.shape)}), the given shape ${fmtShape(dims)} has rank ${dims.length}`);
    }
    v.shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== dims[i]) {
        throw new CompileError('BAD_OPTION', `input "${name}" has fixed dimension ${i} = ${d}, the given shape ${fmtShape(dims)} disagrees`);
      }
    });
    // A symbolic name bound once binds it everywhere it appears.
    v.shape.forEach((d, i) => {
      if (typeof d === 'string') for (const other of graph.inputs) {
        const ov = graph.values.get(other)!;
        ov.shape = ov.shape.map((od) => (od === d ? dims[i] : od));
      }
    });
    v.shape = [...dims];
    delete v.rankUnknown;
  }
  for (const [name, c] of Object.entries(constants)) {
    const v = graph.values.get(name)!;
    const n = numel(c.shape);
    if (c.data.length !== n) {
      throw new CompileError('BAD_OPTION', `constant for input "${name}" has ${c.data.length} values, shape ${fmtShape(c.shape)} needs ${n}`);
    }
    v.const = makeTensor(v.dtype, c.shape, convertData(name, v.dtype, c.data));
    delete v.rankUnknown;
    v.shape = [...c.shape];
    graph.inputs = graph.inputs.filter((i) => i !== name);
  }
  for (const name of graph.inputs) {
    const v = graph.values.get(name)!;
    if (v.rankUnknown) {
      throw new CompileError('SYMBOLIC_SHAPE', `input "${name}" has no shape in the model (not even a rank); ` +
        `give one with --shape ${name}=<dims> (library: shapes option)`);
    }
    if (!isStatic(v.shape)) {
      const sym = v.shape.find((d) => typeof d !== 'number');
      throw new CompileError('SYMBOLIC_SHAPE',
        `input "${name}" has shape ${fmtShape(v.shape)} with unknown dimension ${sym === null ? '?' : `"${sym}"`}; ` +
        `give a static shape with --shape ${name}=${v.shape.map((d) => (typeof d === 'number' ? d : 1)).join('x')} (library: shapes option)`);
    }
    checkedElements(v.dtype, v.shape as number[], { what: `input "${name}"` });
  }
}

function convertData(name: string, dtype: DType, data: ConstantBinding['data']): TypedArray {
  // A typed array of the dtype's own kind is taken as is (float16/bfloat16: raw bits, as the runtime uses).
  if (ArrayBuffer.isView(data) && data.constructor === ARRAY_OF[dtype]) return (data as TypedArray).slice();
  const values = Array.from(data as ArrayLike<number | bigint>);
  const notInteger = values.find((x) => typeof x !== 'bigint' && !Number.isInteger(x));
  if (isInt(dtype) && notInteger !== undefined) {
    throw new CompileError('BAD_OPTION', `constant for input "${name}" (${dtype}) must hold integers, got ${notInteger}`);
  }
  if (!is64(dtype)) return fromNumbers(dtype, values.map(Number));
  const out = new ARRAY_OF[dtype](values.length) as BigInt64Array;
  values.forEach((x, i) => { out[i] = dtype === 'int64' ? BigInt.asIntN(64, BigInt(x)) : BigInt.asUintN(64, BigInt(x)); });
  return out;
}
