// Builds the contexts handed to OpDefs (attribute reader, inference context), shared by inference and codegen.

import { CompileError, nodeLabel } from '../errors.js';
import { fmtShape, isStatic, type AttrValue, type Graph, type Node, type Tensor } from '../ir/graph.js';
import type { AttrReader, InferCtx, InputInfo, OpDef } from '../../ops/types.js';

export function attrReader(node: Node, opset: number): AttrReader {
  const label = () => nodeLabel(node, opset);
  const get = (name: string) => node.attrs[name];
  const bad = (name: string, want: string): never => {
    throw new CompileError('INVALID_MODEL', `${label()}: attribute ${name} should be ${want}`, { node: node.name, op: node.opType });
  };
  const need = <T>(name: string, dflt: T | undefined, want: string): T => {
    if (dflt === undefined) throw new CompileError('INVALID_MODEL', `${label()}: required attribute ${name} (${want}) is missing`, { node: node.name, op: node.opType });
    return dflt;
  };
  return {
    has: (name) => name in node.attrs,
    int(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'an int');
      return typeof v === 'number' ? Math.trunc(v) : bad(name, 'an int');
    },
    float(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'a float');
      return typeof v === 'number' ? v : bad(name, 'a float');
    },
    string(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'a string');
      return typeof v === 'string' ? v : bad(name, 'a string');
    },
    ints(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'a list of ints');
      return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : bad(name, 'a list of ints');
    },
    floats(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'a list of floats');
      return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : bad(name, 'a list of floats');
    },
    strings(name, dflt) {
      const v = get(name);
      if (v === undefined) return need(name, dflt, 'a list of strings');
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : bad(name, 'a list of strings');
    },
    tensor(name) {
      const v = get(name);
      if (v === undefined) return undefined;
      return isTensor(v) ? v : bad(name, 'a tensor');
    },
    raw: (name) => get(name),
  };
}

function isTensor(v: AttrValue): v is Tensor {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'data' in v;
}

export function failer(node: Node, opset: number) {
  return (message: string): never => {
    throw new CompileError('INVALID_MODEL', `${nodeLabel(node, opset)}: ${message}`, { node: node.name, op: node.opType });
  };
}

/** Input infos of a node from the graph's values (all shapes must be static by now). */
export function inputInfos(graph: Graph, node: Node): (InputInfo | undefined)[] {
  return node.inputs.map((name) => {
    if (!name) return undefined;
    const v = graph.values.get(name);
    if (!v) throw new CompileError('INVALID_MODEL', `${nodeLabel(node, graph.opset)}: input "${name}" is not produced by any node, initializer or graph input`, { node: node.name, op: node.opType });
    if (!isStatic(v.shape)) {
      throw new CompileError('SYMBOLIC_SHAPE', `${nodeLabel(node, graph.opset)}: input "${name}" has shape ${fmtShape(v.shape)} that is not static`, { node: node.name, op: node.opType });
    }
    return { name, dtype: v.dtype, shape: v.shape, const: v.const };
  });
}

export function makeInferCtx<A>(graph: Graph, node: Node, def: OpDef<A>, attrs: A, inputs: (InputInfo | undefined)[]): InferCtx<A> {
  const fail = failer(node, graph.opset);
  return {
    node, opset: graph.opset, attrs, inputs, fail,
    constInput(i, what) {
      const inp = inputs[i];
      if (!inp) fail(`input ${i}${what ? ` (${what})` : ''} is required`);
      if (!inp!.const) {
        throw new CompileError('DATA_DEPENDENT',
          `${nodeLabel(node, graph.opset)}: input "${inp!.name}"${what ? ` (${what})` : ''} decides an output shape and must be known at compile time; ` +
          `bind it with the constants option (CLI: --constant ${inp!.name}=...)`, { node: node.name, op: node.opType });
      }
      return inp!.const!;
    },
  };
}

/** The node's attributes as its op reads them; a value the op rejects is the model's error, named by node. */
export function parseAttrs<A>(def: OpDef<A>, node: Node, opset: number): A {
  if (!def.attrs) return undefined as A;
  try {
    return def.attrs(attrReader(node, opset), opset, node);
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw new CompileError('INVALID_MODEL', `${nodeLabel(node, opset)}: ${(e as Error).message}`, { node: node.name, op: node.opType });
  }
}
