// If, Loop and Scan resolved statically, during inference (inferAndFold hands each such node here):
//
// - If with a condition known at compile time: the taken branch is inlined (nodes named `if/then/x`).
// - If with a run-time condition: both branches are inferred as graphs of their own; when their outputs agree in
//   dtype and shape the node stays, and flattenControlFlow() later lays it out as IfBegin, then-nodes, IfElse,
//   else-nodes, IfEnd (a wasm if/else in run()). Otherwise a DATA_DEPENDENT error names the input to bind.
// - Loop and Scan: the body is inferred once with its loop-carried values as run-time inputs of static shape,
//   and flattened into LoopInit, LoopBegin, body, LoopNext, LoopEnd (a wasm loop over planned buffers). A body
//   whose shapes depend on the iteration (a Slice by the iteration number) is unrolled instead when the trip
//   count is known and small; small folded loops are unrolled too.
// Sub-graph nodes read outer-scope values by name; the decoder lists those as the node's trailing inputs.

import { CompileError, nodeLabel } from '../errors.js';
import { fmtShape, isGraphAttr, makeTensor, tensorNumbers, type AttrValue, type Graph, type Node, type Shape, type Tensor, type Value } from '../ir/graph.js';
import { INTERNAL_DOMAIN } from '../../ops/index.js';
import { CONTROL_DOMAIN } from '../../ops/control-flow.js';
import { eliminateDeadCode, inferAndFold } from './infer.js';
import { optimizeGraph } from './optimize.js';

export const CONTROL_OPS = new Set(['If', 'Loop', 'Scan']);
export const isControlFlow = (n: Node) => n.domain === '' && CONTROL_OPS.has(n.opType);

/**
 * Unrolling limits: a counted loop of up to SMALL_UNROLL body nodes in all is unrolled (its iteration numbers fold
 * and its carried values need no copies; measured within noise of the wasm loop on small bodies); one whose body
 * shapes depend on the iteration must be, up to MAX_UNROLL.
 */
const SMALL_UNROLL = 64;
const MAX_UNROLL = 4096;
/** Scan outputs stack one row per iteration in one buffer. */
const MAX_SCAN_ROWS = 1 << 24;

/** Bodies inferred for nodes kept as run-time control flow, laid out by flattenControlFlow(). */
type Prepared =
  | { kind: 'if'; then: Graph; else: Graph }
  | { kind: 'loop'; body: Graph; init: Node; next: Node; reads: Node[]; values: Value[] };
const prepared = new WeakMap<Node, Prepared>();

/**
 * Resolves one control-flow node whose inputs are inferred. Returns the nodes that replace it (to be inferred
 * next, in order), or undefined when the node stays (its outputs are now inferred).
 */
export function resolveControlFlow(graph: Graph, node: Node): Node[] | undefined {
  if (node.opType === 'If') return resolveIf(graph, node);
  if (node.opType === 'Loop') return resolveLoop(graph, node);
  return resolveScan(graph, node);
}

// --- If ---

function resolveIf(graph: Graph, node: Node): Node[] | undefined {
  const thenG = subgraph(graph, node, 'then_branch');
  const elseG = subgraph(graph, node, 'else_branch');
  const condName = node.inputs[0];
  const cond = graph.values.get(condName);
  if (!cond) fail(graph, node, 'the condition input is missing');
  if (cond!.const) {
    const taken = cond!.const.data.length > 0 && Number(cond!.const.data[0]) !== 0;
    const branch = taken ? thenG : elseG;
    const prefix = `${node.name}/${taken ? 'then' : 'else'}/`;
    if (branch.outputs.length < node.outputs.length) fail(graph, node, `the ${taken ? 'then' : 'else'} branch has ${branch.outputs.length} outputs, the node names ${node.outputs.length}`);
    const { nodes, outputs } = inlineGraph(graph, branch, prefix, directOutputs(branch, node.outputs, 0), node.name);
    return [...nodes, ...node.outputs.flatMap((o, i) => (o && outputs[i] !== o ? [identity(`${prefix}out${i}`, outputs[i], o, node.name)] : []))];
  }
  const t = prepareBody(graph, node, thenG, `${node.name}/then/`, []);
  const e = prepareBody(graph, node, elseG, `${node.name}/else/`, []);
  refuseBounded(graph, node, t);
  refuseBounded(graph, node, e);
  node.outputs.forEach((o, i) => {
    if (!o) return;
    const a = t.values.get(t.outputs[i]), b = e.values.get(e.outputs[i]);
    if (!a || !b) fail(graph, node, `a branch has fewer than ${i + 1} outputs`);
    if (a!.dtype !== b!.dtype || fmtShape(a!.shape) !== fmtShape(b!.shape)) {
      const bind = deciding(graph, condName);
      throw new CompileError('DATA_DEPENDENT',
        `${nodeLabel(node, graph.opset)}: its branches give output "${o}" different types (then ${a!.dtype} ${fmtShape(a!.shape)}, else ${b!.dtype} ${fmtShape(b!.shape)}) ` +
        `and its condition "${condName}" is known only at run time; bind input "${bind}" with the constants option (CLI: --constant ${bind}=...)`,
        { node: node.name, op: node.opType });
    }
    graph.values.set(o, { name: o, dtype: a!.dtype, shape: [...a!.shape] });
  });
  prepared.set(node, { kind: 'if', then: t, else: e });
  return undefined;
}

// --- Loop ---

interface LoopPlan {
  node: Node;
  body: Graph;
  /** The body's formal inputs, bound per iteration. */
  formals: { name: string; dtype: Value['dtype']; shape: Shape }[];
  /** Carried state count, scan output count. */
  carried: number;
  scans: number;
}

function resolveLoop(graph: Graph, node: Node): Node[] | undefined {
  const body = subgraph(graph, node, 'body');
  const formalIn = formalInputs(node);
  const carried = formalIn.length - 2;
  const scans = body.outputs.length - 1 - carried;
  if (carried < 0 || body.inputs.length !== carried + 2 || scans < 0) {
    fail(graph, node, `the body has ${body.inputs.length} inputs and ${body.outputs.length} outputs for ${carried} loop-carried values`);
  }
  const [mName, condName] = formalIn;
  const m = mName ? graph.values.get(mName) : undefined;
  const c = condName ? graph.values.get(condName) : undefined;
  const trip = m?.const ? Number(tensorNumbers(m.const)[0]) : mName ? undefined : Infinity;
  const condInit = c?.const ? Number(c.const.data[0]) !== 0 : condName ? undefined : true;
  const states = formalIn.slice(2).map((name) => graph.values.get(name)!);
  const L = node.name;
  const iterName = fresh(graph, `${L}/iter`), condIn = fresh(graph, `${L}/cond`);
  const stateNames = states.map((_, k) => node.outputs[k] || fresh(graph, `${L}/state${k}`));
  const formals = [
    { name: iterName, dtype: 'int64' as const, shape: [] },
    { name: condIn, dtype: 'bool' as const, shape: [] },
    ...states.map((s, k) => ({ name: stateNames[k], dtype: s.dtype, shape: s.shape as Shape })),
  ];
  // Counted: the condition starts true and the body keeps it true, so exactly `trip` iterations run.
  let bodyG: Graph | undefined;
  let counted = false;
  let shapeError: CompileError | undefined;
  const attempt = (condConst: boolean) => {
    try {
      return prepareBody(graph, node, body, `${L}/body/`, formals.map((f, i) => (i === 1 && condConst ? { ...f, const: makeTensor('bool', [], Uint8Array.of(1)) } : f)));
    } catch (e) {
      if (e instanceof CompileError && (e.code === 'DATA_DEPENDENT' || e.code === 'SYMBOLIC_SHAPE')) { shapeError = e; return undefined; }
      throw e;
    }
  };
  if (condInit === false) return loopOutputsWithoutIterations(graph, node, states, stateNames, scans);
  if (condInit === true) {
    bodyG = attempt(true);
    const out = bodyG?.values.get(bodyG.outputs[0]);
    counted = bodyG ? !!out?.const && Number(out.const.data[0]) !== 0 : condStaysTrue(body);
  }
  if (!counted && (bodyG || condInit !== true)) bodyG = attempt(false);

  const canUnroll = trip !== undefined && Number.isFinite(trip) && counted;
  const bodyNodes = body.nodes.length;
  if (!bodyG) {
    // The body's shapes depend on the iteration: unroll when the trip count is known and the loop counted.
    if (canUnroll && trip! * bodyNodes <= MAX_UNROLL) {
      return unrollLoop(graph, node, body, trip, states.map((s) => s.name), scans);
    }
    const bind = mName && trip === undefined ? deciding(graph, mName) : undefined;
    const condBind = condName && condInit === undefined ? deciding(graph, condName) : undefined;
    throw new CompileError(shapeError!.code, `${nodeLabel(node, graph.opset)}: a shape in its body depends on the iteration, so the loop must be unrolled, which needs ` +
      `${bind ? `its trip count at compile time: bind input "${bind}" with the constants option (CLI: --constant ${bind}=...)`
        : condBind ? `a condition known at compile time: bind input "${condBind}" with the constants option (CLI: --constant ${condBind}=...)`
          : `a known trip count, a condition that stays true and at most ${MAX_UNROLL} body nodes in all`}; in the body, ${innerReason(shapeError!)}`,
    { node: node.name, op: node.opType });
  }
  if (canUnroll && trip! * bodyNodes <= SMALL_UNROLL) {
    return unrollLoop(graph, node, body, trip!, states.map((s) => s.name), scans);
  }
  refuseBounded(graph, node, bodyG);
  const changed = carriedChange(graph, node, bodyG, states, 1);
  if (changed) {
    // Each iteration has other shapes: only an unrolled loop is static.
    if (canUnroll && trip! * bodyNodes <= MAX_UNROLL) return unrollLoop(graph, node, body, trip!, states.map((s) => s.name), scans);
    const bind = mName && trip === undefined ? deciding(graph, mName) : undefined;
    throw new CompileError('CONTROL_FLOW', `${nodeLabel(node, graph.opset)}: ${changed}; such a loop compiles only unrolled, which needs a trip count known at compile time` +
      `${bind ? ` (bind input "${bind}" with the constants option, CLI: --constant ${bind}=...)` : ''}, a condition that stays true and at most ${MAX_UNROLL} body nodes in all`,
    { node: node.name, op: node.opType });
  }
  if (!mName && counted) {
    throw new CompileError('CONTROL_FLOW', `${nodeLabel(node, graph.opset)}: the loop has no trip count and its condition stays true, so it would never end`, { node: node.name, op: node.opType });
  }
  if (scans > 0) {
    if (trip !== undefined && trip > MAX_SCAN_ROWS) {
      throw new CompileError('CONTROL_FLOW', `${nodeLabel(node, graph.opset)}: ${trip} iterations are too many to stack its scan outputs (at most ${MAX_SCAN_ROWS})`, { node: node.name, op: node.opType });
    }
    if (trip === undefined || !Number.isFinite(trip)) {
      const bind = mName ? deciding(graph, mName) : undefined;
      throw new CompileError('DATA_DEPENDENT', `${nodeLabel(node, graph.opset)}: its scan outputs have as many rows as iterations, which must be known at compile time; ` +
        (bind ? `bind input "${bind}" with the constants option (CLI: --constant ${bind}=...)` : 'give the loop a constant trip count'), { node: node.name, op: node.opType });
    }
    if (!counted) {
      const bind = condName ? deciding(graph, condName) : undefined;
      throw new CompileError('DATA_DEPENDENT', `${nodeLabel(node, graph.opset)}: its condition may end the loop early, so its scan outputs' length would depend on data; ` +
        (bind ? `bind input "${bind}" with the constants option (CLI: --constant ${bind}=...) so that the condition folds` : 'only loops whose condition stays true can have scan outputs'), { node: node.name, op: node.opType });
    }
  }
  const tripN = trip === undefined ? 0 : Math.max(0, trip);
  const scanNames = bodyG.outputs.slice(1 + carried).map((o, j) => {
    const v = bodyG!.values.get(o)!;
    const name = node.outputs[carried + j] || fresh(graph, `${L}/scan${j}`);
    graph.values.set(name, { name, dtype: v.dtype, shape: [tripN, ...(v.shape as Shape)] });
    return { name, axis: 0, reverse: false };
  });
  for (const [k, s] of states.entries()) graph.values.set(stateNames[k], { name: stateNames[k], dtype: s.dtype, shape: [...s.shape] });
  const plan = loopNodes(graph, L, { iter: iterName, cond: condIn, trip: mName, condInit: condName, states: states.map((s) => s.name), stateNames, scanNames, body: bodyG, carriedStart: 1 });
  prepared.set(node, { kind: 'loop', body: bodyG, ...plan, reads: [], values: valuesOf(graph, [plan.init, plan.next]) });
  return undefined;
}

/** A Loop whose condition starts false: its carried outputs are the initial values, scan outputs empty. */
function loopOutputsWithoutIterations(graph: Graph, node: Node, states: Value[], stateNames: string[], scans: number): Node[] {
  if (scans > 0) fail(graph, node, 'a loop that never runs has scan outputs of unknown shape');
  return states.flatMap((s, k) => (node.outputs[k] ? [identity(`${node.name}/out${k}`, s.name, stateNames[k], node.name)] : []));
}

/** The body's condition output is its condition input passed through (or a true constant): the loop is counted. */
function condStaysTrue(body: Graph): boolean {
  let name = body.outputs[0];
  for (;;) {
    if (name === body.inputs[1]) return true;
    const c = body.values.get(name)?.const;
    if (c) return Number(c.data[0]) !== 0;
    const p = body.nodes.find((n) => n.outputs.includes(name));
    if (p?.opType === 'Identity') { name = p.inputs[0]; continue; }
    if (p?.opType === 'Constant') { const t = p.attrs.value; return typeof t === 'object' && !Array.isArray(t) && 'data' in t && Number(t.data[0]) !== 0; }
    return false;
  }
}

/** Unrolls a counted loop: one inlined copy of the body per iteration, scan outputs concatenated. */
function unrollLoop(graph: Graph, node: Node, body: Graph, trip: number, init: string[], scans: number): Node[] {
  const L = node.name;
  const out: Node[] = [];
  let state = init;
  const scanParts: string[][] = Array.from({ length: scans }, () => []);
  const trueName = constValue(graph, `${L}/true`, makeTensor('bool', [], Uint8Array.of(1)));
  for (let i = 0; i < trip; i++) {
    const iter = constValue(graph, `${L}/${i}/iter`, makeTensor('int64', [], BigInt64Array.of(BigInt(i))));
    const bind = new Map<string, string>([[body.inputs[0], iter], [body.inputs[1], trueName], ...body.inputs.slice(2).map((n, k) => [n, state[k]] as [string, string])]);
    if (i === trip - 1) for (const [b, o] of directOutputs(body, node.outputs.slice(0, init.length), 1)) bind.set(b, o);
    const { nodes, outputs } = inlineGraph(graph, body, `${L}/${i}/`, bind, L);
    out.push(...nodes);
    state = outputs.slice(1, 1 + init.length);
    outputs.slice(1 + init.length).forEach((o, j) => scanParts[j].push(o));
  }
  init.forEach((_, k) => { if (node.outputs[k] && state[k] !== node.outputs[k]) out.push(identity(`${L}/out${k}`, state[k], node.outputs[k], L)); });
  scanParts.forEach((parts, j) => {
    const name = node.outputs[init.length + j];
    if (name) out.push(...stack(graph, `${L}/scan${j}`, parts, name, 0, L));
  });
  return out;
}

// --- Scan ---

function resolveScan(graph: Graph, node: Node): Node[] | undefined {
  const body = subgraph(graph, node, 'body');
  const formalIn = formalInputs(node);
  const m = intAttr(node, 'num_scan_inputs');
  if (m === undefined || m < 1) fail(graph, node, 'attribute num_scan_inputs is required');
  if (graph.opset < 9 && !node.attrs._batchless) return lowerScan8(graph, node, body, formalIn, m!);
  const n = formalIn.length - m!;
  const k = body.outputs.length - n;
  if (n < 0 || k < 0 || body.inputs.length !== n + m!) fail(graph, node, `the body has ${body.inputs.length} inputs for ${n} states and ${m} scan inputs`);
  const ints = (name: string, len: number) => {
    const v = node.attrs[name];
    const arr = Array.isArray(v) ? (v as number[]) : [];
    return Array.from({ length: len }, (_, i) => arr[i] ?? 0);
  };
  const inDirs = ints('scan_input_directions', m!), outDirs = ints('scan_output_directions', k);
  const scanIns = formalIn.slice(n).map((name) => graph.values.get(name)!);
  const inAxes = ints('scan_input_axes', m!).map((a, j) => (a < 0 ? a + scanIns[j].shape.length : a));
  let T = -1;
  scanIns.forEach((v, j) => {
    const len = (v.shape as Shape)[inAxes[j]];
    if (len === undefined) fail(graph, node, `scan input "${v.name}" has no axis ${inAxes[j]}`);
    if (T >= 0 && len !== T) fail(graph, node, `scan inputs disagree on the sequence length (${T} and ${len})`);
    T = len;
  });
  const L = node.name;
  const states = formalIn.slice(0, n).map((name) => graph.values.get(name)!);
  const stateNames = states.map((_, i) => node.outputs[i] || fresh(graph, `${L}/state${i}`));
  const sliceNames = scanIns.map((_, j) => fresh(graph, `${L}/x${j}`));
  const formals = [
    ...states.map((s, i) => ({ name: stateNames[i], dtype: s.dtype, shape: s.shape as Shape })),
    ...scanIns.map((v, j) => ({ name: sliceNames[j], dtype: v.dtype, shape: (v.shape as Shape).filter((_, a) => a !== inAxes[j]) })),
  ];
  let bodyG: Graph | undefined;
  let shapeError: CompileError | undefined;
  try {
    bodyG = prepareBody(graph, node, body, `${L}/body/`, formals);
  } catch (e) {
    if (!(e instanceof CompileError && (e.code === 'DATA_DEPENDENT' || e.code === 'SYMBOLIC_SHAPE'))) throw e;
    shapeError = e;
  }
  const outAxesRaw = ints('scan_output_axes', k);
  if (!bodyG || T * body.nodes.length <= SMALL_UNROLL) {
    if (T * body.nodes.length > MAX_UNROLL) {
      throw new CompileError(shapeError!.code, `${nodeLabel(node, graph.opset)}: a shape in its body depends on the iteration (${innerReason(shapeError!)}), and ${T} iterations are too many to unroll`, { node: node.name, op: node.opType });
    }
    return unrollScan(graph, node, body, T, states.map((s) => s.name), scanIns.map((v) => v.name), inAxes, inDirs, outAxesRaw, outDirs);
  }
  refuseBounded(graph, node, bodyG);
  const changed = carriedChange(graph, node, bodyG, states, 0);
  if (changed) {
    if (T * body.nodes.length <= MAX_UNROLL) return unrollScan(graph, node, body, T, states.map((s) => s.name), scanIns.map((v) => v.name), inAxes, inDirs, outAxesRaw, outDirs);
    throw new CompileError('CONTROL_FLOW', `${nodeLabel(node, graph.opset)}: ${changed}; such a scan compiles only unrolled, and ${T} iterations of ${body.nodes.length} nodes are too many`, { node: node.name, op: node.opType });
  }
  const scanNames = bodyG.outputs.slice(n).map((o, j) => {
    const v = bodyG!.values.get(o)!;
    const rank = v.shape.length + 1;
    const axis = outAxesRaw[j] < 0 ? outAxesRaw[j] + rank : outAxesRaw[j];
    const name = node.outputs[n + j] || fresh(graph, `${L}/scan${j}`);
    const shape = [...(v.shape as Shape)];
    shape.splice(axis, 0, T);
    graph.values.set(name, { name, dtype: v.dtype, shape });
    return { name, axis, reverse: outDirs[j] === 1 };
  });
  for (const [i, s] of states.entries()) graph.values.set(stateNames[i], { name: stateNames[i], dtype: s.dtype, shape: [...s.shape] });
  const tripName = constValue(graph, `${L}/trip`, makeTensor('int64', [], BigInt64Array.of(BigInt(T))));
  const iterName = fresh(graph, `${L}/iter`), condIn = fresh(graph, `${L}/cond`);
  const plan = loopNodes(graph, L, { iter: iterName, cond: condIn, trip: tripName, condInit: '', states: states.map((s) => s.name), stateNames, scanNames, body: bodyG, carriedStart: 0 });
  const reads = scanIns.map((v, j) => controlNode(`${L}/read${j}`, 'ScanRead', [iterName, v.name], [sliceNames[j]], { axis: inAxes[j], reverse: inDirs[j] }, L));
  for (const j of reads.keys()) graph.values.set(sliceNames[j], { name: sliceNames[j], dtype: formals[n + j].dtype, shape: formals[n + j].shape });
  prepared.set(node, { kind: 'loop', body: bodyG, ...plan, reads, values: valuesOf(graph, [plan.init, plan.next, ...reads]) });
  return undefined;
}

function unrollScan(graph: Graph, node: Node, body: Graph, T: number, init: string[], scanIns: string[], inAxes: number[], inDirs: number[], outAxes: number[], outDirs: number[]): Node[] {
  const L = node.name;
  const out: Node[] = [];
  let state = init;
  const parts: string[][] = Array.from({ length: body.outputs.length - init.length }, () => []);
  for (let t = 0; t < T; t++) {
    const slices = scanIns.map((x, j) => {
      const idx = constValue(graph, `${L}/${t}/index${j}`, makeTensor('int64', [], BigInt64Array.of(BigInt(inDirs[j] ? T - 1 - t : t))));
      const name = fresh(graph, `${L}/${t}/x${j}`);
      out.push({ name: `${L}/${t}/slice${j}`, opType: 'Gather', domain: INTERNAL_DOMAIN, inputs: [x, idx], outputs: [name], attrs: { axis: inAxes[j] }, origin: L });
      return name;
    });
    const bind = new Map<string, string>(body.inputs.map((n, i) => [n, i < init.length ? state[i] : slices[i - init.length]]));
    if (t === T - 1) for (const [b, o] of directOutputs(body, node.outputs.slice(0, init.length), 0)) bind.set(b, o);
    const { nodes, outputs } = inlineGraph(graph, body, `${L}/${t}/`, bind, L);
    out.push(...nodes);
    state = outputs.slice(0, init.length);
    outputs.slice(init.length).forEach((o, j) => parts[j].push(o));
  }
  init.forEach((_, i) => { if (node.outputs[i] && state[i] !== node.outputs[i]) out.push(identity(`${L}/out${i}`, state[i], node.outputs[i], L)); });
  parts.forEach((p, j) => {
    const name = node.outputs[init.length + j];
    if (!name) return;
    const axis = outAxes[j];
    out.push(...stack(graph, `${L}/scan${j}`, outDirs[j] ? [...p].reverse() : p, name, axis, L));
  });
  return out;
}

/** Opset 8's Scan has a batch axis 0 (scan axis 1 after it): one batch-less Scan per batch entry, stacked. */
function lowerScan8(graph: Graph, node: Node, body: Graph, formalIn: string[], m: number): Node[] {
  const [seqLens, ...rest] = formalIn;
  const n = rest.length - m;
  const first = graph.values.get(rest[0])!;
  const B = (first.shape as Shape)[0];
  const T = (graph.values.get(rest[n])!.shape as Shape)[1];
  if (seqLens) {
    const lens = graph.values.get(seqLens)?.const;
    if (!lens) throw new CompileError('DATA_DEPENDENT', `${nodeLabel(node, graph.opset)}: input "${seqLens}" (sequence_lens) decides how far each batch entry is scanned; bind it with the constants option (CLI: --constant ${seqLens}=...)`, { node: node.name, op: node.opType });
    if (tensorNumbers(lens).some((v) => v !== T)) fail(graph, node, `sequence_lens shorter than the sequence (${T}) are not supported`);
  }
  const L = node.name;
  const out: Node[] = [];
  const k = body.outputs.length - n;
  const perBatch: string[][] = Array.from({ length: n + k }, () => []);
  const captured = node.inputs.slice(node.inputs.length - (node.captured ?? 0));
  for (let b = 0; b < B; b++) {
    const idx = constValue(graph, `${L}/b${b}/index`, makeTensor('int64', [], BigInt64Array.of(BigInt(b))));
    const picked = rest.map((x, i) => {
      const name = fresh(graph, `${L}/b${b}/in${i}`);
      out.push({ name: `${L}/b${b}/pick${i}`, opType: 'Gather', domain: INTERNAL_DOMAIN, inputs: [x, idx], outputs: [name], attrs: { axis: 0 }, origin: L });
      return name;
    });
    const outs = Array.from({ length: n + k }, (_, i) => fresh(graph, `${L}/b${b}/out${i}`));
    const dirs = node.attrs.directions ?? node.attrs.scan_input_directions;
    out.push({
      name: `${L}/b${b}`, opType: 'Scan', domain: '', inputs: [...picked, ...captured], outputs: outs, captured: node.captured, origin: L,
      attrs: { ...node.attrs, _batchless: 1, ...(dirs !== undefined ? { scan_input_directions: dirs } : {}) },
    });
    outs.forEach((o, i) => perBatch[i].push(o));
  }
  perBatch.forEach((parts, i) => { if (node.outputs[i]) out.push(...stack(graph, `${L}/out${i}`, parts, node.outputs[i], 0, L)); });
  return out;
}

// --- shared pieces ---

/** LoopInit and LoopNext around a prepared body (LoopBegin/LoopEnd are added when flattening). */
function loopNodes(graph: Graph, L: string, p: {
  iter: string; cond: string; trip: string; condInit: string; states: string[]; stateNames: string[];
  scanNames: { name: string; axis: number; reverse: boolean }[]; body: Graph; carriedStart: number;
}): { init: Node; next: Node } {
  const flag = fresh(graph, `${L}/go`);
  graph.values.set(p.iter, { name: p.iter, dtype: 'int64', shape: [] });
  graph.values.set(p.cond, { name: p.cond, dtype: 'bool', shape: [] });
  graph.values.set(flag, { name: flag, dtype: 'bool', shape: [] });
  const n = p.states.length;
  const condOut = p.carriedStart ? p.body.outputs[0] : '';
  const bodyStates = p.body.outputs.slice(p.carriedStart, p.carriedStart + n);
  const bodyScans = p.body.outputs.slice(p.carriedStart + n);
  const init = controlNode(`${L}/init`, 'LoopInit', [p.trip, p.condInit, ...p.states],
    [p.iter, p.cond, flag, ...p.stateNames, ...p.scanNames.map((s) => s.name)], { states: n }, L);
  const next = controlNode(`${L}/next`, 'LoopNext',
    [p.iter, p.trip, condOut, p.cond, flag, ...bodyStates, ...p.stateNames, ...bodyScans, ...p.scanNames.map((s) => s.name)],
    [], { states: n, axes: p.scanNames.map((s) => s.axis), reverse: p.scanNames.map((s) => (s.reverse ? 1 : 0)) }, L);
  return { init, next };
}

/** A branch or body output whose extent is known only at run time cannot leave it (its buffer is copied whole). */
function refuseBounded(graph: Graph, node: Node, body: Graph): void {
  const o = body.outputs.find((name) => body.values.get(name)?.bounded);
  if (o) {
    throw new CompileError('DATA_DEPENDENT', `${nodeLabel(node, graph.opset)}: its sub-graph output "${o}" has a dimension known only at run time (a NonZero, Compress, Unique or NonMaxSuppression result); ` +
      'such values cannot leave a run-time If, Loop or Scan: bind the inputs deciding the condition or the values with --constant (library: constants)', { node: node.name, op: node.opType });
  }
}

/** How a loop-carried value's type changes in one iteration, or undefined when every one keeps its type. */
function carriedChange(graph: Graph, node: Node, body: Graph, states: Value[], start: number): string | undefined {
  for (const [k, s] of states.entries()) {
    const o = body.values.get(body.outputs[start + k]);
    if (!o) fail(graph, node, `the body has no output for loop-carried value ${k}`);
    if (o!.dtype !== s.dtype || fmtShape(o!.shape) !== fmtShape(s.shape)) {
      return `loop-carried value "${s.name}" changes from ${s.dtype} ${fmtShape(s.shape)} to ${o!.dtype} ${fmtShape(o!.shape)} in one iteration`;
    }
  }
  return undefined;
}

/**
 * Infers a sub-graph as a graph of its own: the formal inputs (with the given names, types and, optionally,
 * constant values) and the captured outer values are its inputs. It is folded, optimized and pruned like the
 * main graph; its internal names get `prefix`.
 */
function prepareBody(graph: Graph, node: Node, sub: Graph, prefix: string,
  formals: { name: string; dtype: Value['dtype']; shape: Shape; const?: Tensor }[]): Graph {
  const temp: Graph = { opset: graph.opset, imports: graph.imports, inputs: [], outputs: [], nodes: [], values: new Map(), name: prefix };
  for (const c of captured(node)) {
    const v = graph.values.get(c);
    if (!v) fail(graph, node, `its sub-graph reads "${c}", which no node, initializer or input produces`);
    temp.values.set(c, { ...v!, shape: [...v!.shape] });
    if (!v!.const) temp.inputs.push(c);
  }
  const bind = new Map<string, string>();
  formals.forEach((f, i) => {
    temp.values.set(f.name, { name: f.name, dtype: f.dtype, shape: [...f.shape], const: f.const });
    if (!f.const) temp.inputs.push(f.name);
    if (sub.inputs[i] !== undefined) bind.set(sub.inputs[i], f.name);
  });
  reserveAll(temp, graph);
  const { nodes, outputs } = inlineGraph(temp, sub, prefix, bind, node.name);
  temp.nodes = sortNodes(nodes, new Set([...temp.values.keys()]));
  temp.outputs = outputs;
  for (const o of outputs) if (!temp.values.has(o) && !nodes.some((n) => n.outputs.includes(o))) fail(graph, node, `sub-graph output "${o}" is not produced`);
  inferAndFold(temp);
  eliminateDeadCode(temp);
  optimizeGraph(temp);
  eliminateDeadCode(temp);
  return temp;
}

/**
 * Copies a sub-graph's nodes into `graph`'s namespace: formal inputs as `bind` says, names it defines get
 * `prefix`, outer-scope names stay. Its constants become constants of `graph`. Nested sub-graphs follow the renaming.
 */
function inlineGraph(graph: Graph, sub: Graph, prefix: string, bind: Map<string, string>, origin: string): { nodes: Node[]; outputs: string[] } {
  const map = new Map(bind);
  for (const name of sub.inputs) if (!map.has(name)) map.set(name, name);
  for (const [name, v] of sub.values) {
    if (!v.const || map.has(name)) continue;
    const renamed = fresh(graph, prefix + name);
    map.set(name, renamed);
    graph.values.set(renamed, { ...v, name: renamed, shape: [...v.shape] });
  }
  for (const n of sub.nodes) for (const o of n.outputs) if (o && !map.has(o)) map.set(o, fresh(graph, prefix + o));
  const nodes = sub.nodes.map((n) => ({
    ...n,
    name: prefix + n.name,
    inputs: n.inputs.map((i) => (i ? map.get(i) ?? i : i)),
    outputs: n.outputs.map((o) => (o ? map.get(o)! : o)),
    attrs: renameAttrs(n.attrs, map),
    origin: n.origin ?? origin,
  }));
  return { nodes, outputs: sub.outputs.map((o) => map.get(o) ?? o) };
}

function renameAttrs(attrs: Record<string, AttrValue>, map: Map<string, string>): Record<string, AttrValue> {
  // Always a copy: fusion passes annotate a prepared body's nodes' attributes, which must not reach the original.
  if (!Object.values(attrs).some(isGraphAttr)) return { ...attrs };
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, isGraphAttr(v) ? { ...v, graph: renameFree(v.graph, map) } : v]));
}

/** A nested sub-graph with its outer-scope references renamed (names it defines itself shadow the map). */
function renameFree(g: Graph, map: Map<string, string>): Graph {
  const local = new Set<string>(g.inputs);
  for (const [name, v] of g.values) if (v.const) local.add(name);
  for (const n of g.nodes) for (const o of n.outputs) if (o) local.add(o);
  const m = new Map([...map].filter(([k, v]) => !local.has(k) && k !== v));
  if (!m.size) return g;
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => (i ? m.get(i) ?? i : i)), attrs: renameAttrs(n.attrs, m) })),
    outputs: g.outputs.map((o) => m.get(o) ?? o),
  };
}

/** Orders nodes so each comes after the producers of its inputs (names in `ready` are available). */
export function sortNodes(nodes: Node[], ready: Set<string>): Node[] {
  const produced = new Set(nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const out: Node[] = [];
  let pending = nodes;
  while (pending.length) {
    const next = pending.filter((n) => {
      if (n.inputs.every((i) => !i || ready.has(i) || !produced.has(i))) {
        out.push(n);
        for (const o of n.outputs) if (o) ready.add(o);
        return false;
      }
      return true;
    });
    if (next.length === pending.length) return [...out, ...next]; // a cycle: inference reports it
    pending = next;
  }
  return out;
}

/**
 * Lays out the run-time control flow nodes kept by inference: each becomes a region of plain nodes between
 * markers that codegen turns into wasm if/else and loop blocks. Run after the last graph pass.
 */
export function flattenControlFlow(graph: Graph): void {
  if (!graph.nodes.some((n) => prepared.has(n))) return;
  const out: Node[] = [];
  const merge = (g: Graph) => {
    flattenControlFlow(g);
    for (const [name, v] of g.values) if (!graph.values.has(name)) graph.values.set(name, v);
    return g.nodes;
  };
  for (const node of graph.nodes) {
    const p = prepared.get(node);
    if (!p) { out.push(node); continue; }
    const L = node.name;
    const cond = node.inputs[0];
    if (p.kind === 'if') {
      const copies = (g: Graph, tag: string) => node.outputs.flatMap((o, i) => (o ? [controlNode(`${L}/${tag}/out${i}`, 'Copy', [g.outputs[i]], [o], {}, L)] : []));
      out.push(controlNode(`${L}/begin`, 'IfBegin', [cond], [], { of: 'If' }, L), ...merge(p.then), ...copies(p.then, 'then'),
        controlNode(`${L}/else`, 'IfElse', [], [], {}, L), ...merge(p.else), ...copies(p.else, 'else'),
        controlNode(`${L}/end`, 'IfEnd', [cond], [], {}, L));
    } else {
      // Counters, flags and slices are read only by these nodes: dead-code elimination dropped their values.
      for (const v of p.values) if (!graph.values.has(v.name)) graph.values.set(v.name, v);
      const flag = p.init.outputs[2];
      out.push(p.init, controlNode(`${L}/begin`, 'LoopBegin', [flag], [], { of: node.opType }, L), ...p.reads, ...merge(p.body), p.next,
        controlNode(`${L}/end`, 'LoopEnd', [flag], [], {}, L));
    }
  }
  graph.nodes = out;
}

// --- small helpers ---

/**
 * Sub-graph outputs (from index `offset`) computed by its own nodes, paired with the names they must end up with,
 * so that inlining names them so directly; others (outer values, constants, one value given twice) need an Identity.
 */
function directOutputs(sub: Graph, names: string[], offset: number): Map<string, string> {
  const produced = new Set(sub.nodes.flatMap((n) => n.outputs));
  const direct = new Map<string, string>();
  names.forEach((o, i) => {
    const b = sub.outputs[offset + i];
    if (o && produced.has(b) && !direct.has(b) && sub.outputs.indexOf(b) === sub.outputs.lastIndexOf(b)) direct.set(b, o);
  });
  return direct;
}

/** A body node's error without its own advice (the body's values cannot be bound from outside). */
function innerReason(e: CompileError): string {
  return e.message.replace(/; (bind it|give a static shape)[^]*$/, '');
}

function valuesOf(graph: Graph, nodes: Node[]): Value[] {
  const names = new Set(nodes.flatMap((n) => [...n.inputs, ...n.outputs]).filter(Boolean));
  return [...names].map((n) => graph.values.get(n)).filter((v): v is Value => !!v);
}

function subgraph(graph: Graph, node: Node, attr: string): Graph {
  const a = node.attrs[attr];
  if (!isGraphAttr(a)) fail(graph, node, `graph attribute ${attr} is missing`);
  return (a as { graph: Graph }).graph;
}

const captured = (node: Node) => node.inputs.slice(node.inputs.length - (node.captured ?? 0));
const formalInputs = (node: Node) => node.inputs.slice(0, node.inputs.length - (node.captured ?? 0));

function intAttr(node: Node, name: string): number | undefined {
  const v = node.attrs[name];
  return typeof v === 'number' ? v : undefined;
}

function identity(name: string, from: string, to: string, origin: string): Node {
  return { name, opType: 'Identity', domain: INTERNAL_DOMAIN, inputs: [from], outputs: [to], attrs: {}, origin };
}

function controlNode(name: string, op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue>, origin: string): Node {
  return { name, opType: op, domain: CONTROL_DOMAIN, inputs, outputs, attrs, origin };
}

/** Unsqueeze each part on `axis` and concatenate them into `to`. */
function stack(graph: Graph, prefix: string, parts: string[], to: string, axis: number, origin: string): Node[] {
  const axes = graph.opset < 13 ? '' : constValue(graph, `${prefix}/axes`, makeTensor('int64', [1], BigInt64Array.of(BigInt(axis))));
  const nodes: Node[] = [];
  const lifted = parts.map((p, i) => {
    const name = fresh(graph, `${prefix}/${i}`);
    // Unsqueeze's axes are an attribute before opset 13, an input from 13 on.
    const old = graph.opset < 13;
    nodes.push({ name: `${prefix}/unsqueeze${i}`, opType: 'Unsqueeze', domain: INTERNAL_DOMAIN, inputs: old ? [p] : [p, axes], outputs: [name], attrs: old ? { axes: [axis] } : {}, origin });
    return name;
  });
  if (!lifted.length) throw new CompileError('DATA_DEPENDENT', `node "${origin}": a scan output with zero iterations has no known shape`, { node: origin });
  nodes.push({ name: `${prefix}/concat`, opType: 'Concat', domain: INTERNAL_DOMAIN, inputs: lifted, outputs: [to], attrs: { axis }, origin });
  return nodes;
}

function constValue(graph: Graph, base: string, t: Tensor): string {
  const name = fresh(graph, base);
  graph.values.set(name, { name, dtype: t.dtype, shape: [...t.shape], const: t });
  return name;
}

/** Names handed out but not yet in graph.values (node outputs before inference), per graph. */
const reserved = new WeakMap<Graph, Set<string>>();
function fresh(graph: Graph, base: string): string {
  const taken = reserved.get(graph) ?? reserved.set(graph, new Set()).get(graph)!;
  let name = base;
  for (let i = 1; graph.values.has(name) || taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** A body graph starts with the outer graph's reserved names, so that names stay unique once flattened. */
function reserveAll(temp: Graph, outer: Graph): void {
  const taken = new Set(reserved.get(outer) ?? []);
  for (const name of outer.values.keys()) taken.add(name);
  reserved.set(temp, taken);
  // Names reserved in the body are reserved in the outer graph too.
  reserved.set(outer, taken);
}

/** The graph input a value is computed from (the first found), or the value itself: what to bind. */
function deciding(graph: Graph, value: string): string {
  if (graph.inputs.includes(value)) return value;
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const seen = new Set<string>();
  const stackNames = [value];
  while (stackNames.length) {
    const v = stackNames.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (graph.inputs.includes(v) && !graph.values.get(v)?.const) return v;
    const p = producer.get(v);
    if (p) stackNames.push(...[...p.inputs].reverse().filter(Boolean));
  }
  return value;
}

function fail(graph: Graph, node: Node, message: string): never {
  throw new CompileError('INVALID_MODEL', `${nodeLabel(node, graph.opset)}: ${message}`, { node: node.name, op: node.opType });
}
