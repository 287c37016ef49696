// Post-training int8 quantization: plan (which ops run in int8) -> calibrate (run the float model, compiled by
// onnx2wasm, on the feeds) -> build the QDQ graph -> measure, per layer, the error int8 adds (run the QDQ model
// with every dequantized activation exposed, beside the float one) -> optionally keep the worst layers float.
// The result is a standard QDQ ONNX model; compile() then compiles it like any imported QDQ model.

import { CompileError } from '../errors.js';
import { load } from '../../runtime-min/index.js';
import { numel, type Graph } from '../ir/graph.js';
import { ARRAY_OF, type TypedArray } from '../ir/dtype.js';
import { activationParams, METHODS, TensorStats, type CalibrationMethod } from './calibrate.js';
import { planQuantization, type QuantPlan } from './plan.js';
import { buildQdqGraph, type ActParams } from './qdq.js';
import { writeOnnx, type AttrTypes } from './write-onnx.js';
import { loadCalibration } from './data.js';

export type { CalibrationMethod } from './calibrate.js';

/** One calibration input: a value for every model input. */
export type Feed = Record<string, TypedArray>;

export interface Int8Options {
  /** Representative inputs: feeds, an async iterable of feeds, or a path (folder of input_K.pb / .npy / .f32, or a file). */
  calibration: Feed[] | AsyncIterable<Feed> | Iterable<Feed> | string;
  /** How activation ranges are chosen from the data (default 'minmax'). */
  method?: CalibrationMethod;
  /** Weights get one scale per output channel (default true); false: one per tensor. */
  perChannel?: boolean;
  /** Node names that stay float. */
  exclude?: string[];
  /**
   * Automatic mixed precision: keep float the n layers that add the most error, or (`{ addedDb }`) every layer that
   * adds more than that many dB of error (measured, then quantized again without them). Default: none.
   */
  autoFloat?: number | { addedDb: number };
  /** Called after each calibration input is run: (done, total, pass). */
  onCalibrate?: (done: number, total: number, pass: 'ranges' | 'histograms' | 'error') => void;
}

export interface LayerError {
  node: string;
  op: string;
  /** The tensor measured: the node's (quantized) output. */
  tensor: string;
  /** Signal-to-quantization-noise ratio of the int8 model's tensor against the float model's, in dB. */
  sqnr: number;
  cosine: number;
  /** dB of SQNR this layer loses against its noisiest quantized input: the error it adds itself. */
  addedDb: number;
}

export interface Int8Report {
  method: CalibrationMethod;
  perChannel: boolean;
  calibrationInputs: number;
  /** Every int8 layer, in graph order. */
  layers: LayerError[];
  /** The five layers that add the most error. */
  worst: LayerError[];
  /** Each model output of the int8 model against the float model, over the calibration inputs. */
  outputs: { name: string; sqnr: number; cosine: number }[];
  /** Ops that stay float (excluded, automatically kept float, or not quantizable), with the reason. */
  float: { node: string; op: string; reason: string }[];
}

export interface QuantizeResult { onnx: Uint8Array; report: Int8Report }

/** Compiles ONNX bytes to a .wasm (the caller's target and options): the quantizer runs the models it builds. */
export type CompileBytes = (onnx: Uint8Array) => Uint8Array;

const REPORT_FEEDS = 32;

export async function quantize(graph: Graph, attrTypes: AttrTypes, opts: Int8Options, compileBytes: CompileBytes): Promise<QuantizeResult> {
  const method = opts.method ?? 'minmax';
  if (!METHODS.includes(method)) throw new CompileError('BAD_OPTION', `int8: unknown calibration method "${method}" (use ${METHODS.join(', ')})`);
  const perChannel = opts.perChannel ?? true;
  const autoFloat = opts.autoFloat ?? 0;
  if (typeof autoFloat === 'number' ? !Number.isInteger(autoFloat) || autoFloat < 0 : !(autoFloat?.addedDb > 0)) {
    throw new CompileError('BAD_OPTION', `int8: autoFloat takes a number of layers or { addedDb: dB > 0 }, got ${JSON.stringify(autoFloat)}`);
  }
  const feeds = await collectFeeds(graph, opts.calibration);
  const opset = outputOpset(graph, perChannel);
  let exclude = new Set(opts.exclude ?? []);
  let plan = planQuantization(graph, exclude);

  // Calibrate: every planned tensor, and each fused producer's own output (in case a later plan unfuses it).
  const observed = [...new Set([...plan.tensors.keys(), ...[...plan.fused.values()].map((a) => a.inputs[0])])];
  const floatModel = await load(compileBytes(writeOnnx(graph, attrTypes, observed.filter((t) => !graph.inputs.includes(t)))));
  /** The float model's value of every observed tensor (graph inputs are the feed itself). */
  const runFloat = (feed: Feed): Record<string, ArrayLike<number>> => {
    const out = floatModel.run(feed);
    const values: Record<string, ArrayLike<number>> = {};
    for (const [name, o] of Object.entries(out)) values[name] = o.data as Float32Array;
    for (const name of graph.inputs) values[name] = feed[name] as Float32Array;
    return values;
  };
  const stats = new Map(observed.map((t) => [t, new TensorStats()]));
  feeds.forEach((feed, k) => {
    const out = runFloat(feed);
    for (const [t, s] of stats) s.observe(out[t]);
    opts.onCalibrate?.(k + 1, feeds.length, 'ranges');
  });
  if (method !== 'minmax') {
    feeds.forEach((feed, k) => {
      const out = runFloat(feed);
      for (const [t, s] of stats) s.histogram(out[t]);
      opts.onCalibrate?.(k + 1, feeds.length, 'histograms');
    });
  }
  const paramsOf = (p: QuantPlan) => {
    const params = new Map<string, ActParams>();
    const resolve = (t: string): ActParams => {
      const same = p.tensors.get(t)?.sameAs;
      if (same) return resolve(same);
      const observedStats = stats.get(t);
      if (!observedStats) throw new CompileError('INTERNAL', `int8: "${t}" was not observed during calibration`);
      return params.get(t) ?? activationParams(observedStats.range(method));
    };
    for (const t of p.tensors.keys()) params.set(t, resolve(t));
    return params;
  };

  let qdq = buildQdqGraph(graph, plan, paramsOf(plan), perChannel);
  let layers = await measure();
  const byError = [...layers.layers].sort((a, b) => b.addedDb - a.addedDb);
  const worst = (typeof autoFloat === 'number' ? byError.slice(0, autoFloat) : byError.filter((l) => l.addedDb > autoFloat.addedDb)).map((l) => l.node);
  if (worst.length) {
    exclude = new Set([...exclude, ...worst]);
    plan = planQuantization(graph, exclude);
    qdq = buildQdqGraph(graph, plan, paramsOf(plan), perChannel);
    layers = await measure();
    for (const f of plan.float) if (worst.includes(f.node)) f.reason = 'kept float automatically (it added the most error)';
  }
  return {
    onnx: writeOnnx(qdq.graph, attrTypes, [], opset),
    report: {
      method, perChannel, calibrationInputs: feeds.length, ...layers,
      worst: [...layers.layers].sort((a, b) => b.addedDb - a.addedDb).slice(0, 5),
      float: [...plan.float, ...floatReasons(graph, plan)],
    },
  };

  /** Runs the QDQ model with every dequantized activation exposed beside the float model: error per layer. */
  async function measure(): Promise<Pick<Int8Report, 'layers' | 'outputs'>> {
    const exposed = [...qdq.dequantized.values()];
    const int8Model = await load(compileBytes(writeOnnx(qdq.graph, attrTypes, exposed, opset)));
    const acc = new Map<string, ErrorSum>();
    const add = (key: string, f: ArrayLike<number>, q: ArrayLike<number>) => (acc.get(key) ?? acc.set(key, new ErrorSum()).get(key)!).add(f, q);
    const some = feeds.slice(0, REPORT_FEEDS);
    some.forEach((feed, k) => {
      const f = runFloat(feed), q = int8Model.run(feed);
      for (const [t, dq] of qdq.dequantized) add(t, f[t], q[dq].data as Float32Array);
      for (const o of graph.outputs) if (graph.values.get(o)?.dtype === 'float32') add(`output:${o}`, f[o], q[o].data as Float32Array);
      opts.onCalibrate?.(k + 1, some.length, 'error');
    });
    const layerList: LayerError[] = [];
    const fusedActs = new Set([...plan.fused.values()]);
    for (const n of graph.nodes) {
      const role = plan.nodes.get(n.name);
      if (!role || role === 'move' || fusedActs.has(n)) continue;
      const act = plan.fused.get(n.name);
      const tensor = act ? act.outputs[0] : n.outputs[0];
      const out = acc.get(tensor);
      if (!out) continue; // a fused activation (measured with its producer) or a float output
      const inputs = n.inputs.map((i) => acc.get(i)).filter((e): e is ErrorSum => !!e);
      const inSqnr = Math.min(...inputs.map((e) => e.sqnr()), MAX_DB);
      layerList.push({ node: n.name, op: act ? `${n.opType}+${act.opType}` : n.opType, tensor, sqnr: out.sqnr(), cosine: out.cosine(), addedDb: Math.max(0, inSqnr - out.sqnr()) });
    }
    // A classifier Gemm with a float output: measured at the model output.
    for (const n of graph.nodes) {
      if (plan.nodes.get(n.name) !== 'matrix' || !graph.outputs.includes(n.outputs[0])) continue;
      const out = acc.get(`output:${n.outputs[0]}`)!;
      const inSqnr = Math.min(acc.get(n.inputs[0])?.sqnr() ?? MAX_DB, MAX_DB);
      layerList.push({ node: n.name, op: n.opType, tensor: n.outputs[0], sqnr: out.sqnr(), cosine: out.cosine(), addedDb: Math.max(0, inSqnr - out.sqnr()) });
    }
    const outputs = graph.outputs.filter((o) => graph.values.get(o)?.dtype === 'float32')
      .map((o) => ({ name: o, sqnr: acc.get(`output:${o}`)!.sqnr(), cosine: acc.get(`output:${o}`)!.cosine() }));
    return { layers: layerList, outputs };
  }
}

const MAX_DB = 200;

/** Sums over all feeds for SQNR and cosine of an int8 tensor q against its float reference f. */
class ErrorSum {
  ff = 0; qq = 0; fq = 0; ee = 0;
  add(f: ArrayLike<number>, q: ArrayLike<number>): void {
    for (let i = 0; i < f.length; i++) {
      const a = f[i], b = q[i];
      this.ff += a * a; this.qq += b * b; this.fq += a * b; this.ee += (a - b) * (a - b);
    }
  }
  sqnr(): number { return this.ee > 0 ? Math.min(MAX_DB, 10 * Math.log10(this.ff / this.ee)) : MAX_DB; }
  cosine(): number { return this.ff > 0 && this.qq > 0 ? this.fq / Math.sqrt(this.ff * this.qq) : this.ee === 0 ? 1 : 0; }
}

/** Float ops around the int8 ones worth naming in the report (LayerNorm, Softmax, GELU chains stay float by design). */
function floatReasons(graph: Graph, plan: QuantPlan): { node: string; op: string; reason: string }[] {
  const why: Record<string, string> = {
    Softmax: 'kept float: Softmax needs float precision for its exponentials',
    ReduceMean: 'kept float: LayerNorm statistics need float precision', Pow: 'kept float: part of a LayerNorm', Sqrt: 'kept float: part of a LayerNorm',
    Div: 'kept float: a division (attention scale, LayerNorm or GELU)', Erf: 'kept float: part of GELU', Sub: 'kept float: part of a LayerNorm',
    Gather: 'kept float: an embedding lookup',
  };
  return graph.nodes.filter((n) => !plan.nodes.has(n.name) && why[n.opType]).map((n) => ({ node: n.name, op: n.opType, reason: why[n.opType] }));
}

/** Per-axis QuantizeLinear needs opset 13; older models move up to it when none of their ops changed meaning at 13. */
function outputOpset(graph: Graph, perChannel: boolean): number {
  if (graph.opset >= 13) return graph.opset;
  const changed = graph.nodes.find((n) => ['Softmax', 'LogSoftmax', 'Hardmax', 'Split', 'Squeeze', 'Unsqueeze', 'ReduceSum'].includes(n.opType));
  if (!changed) return 13;
  if (!perChannel) return Math.max(graph.opset, 10);
  throw new CompileError('BAD_OPTION', `int8: per-channel weights need opset 13, and this opset-${graph.opset} model's ${changed.opType} ("${changed.name}") changed meaning at 13; use perChannel: false (--per-tensor)`);
}

/** The calibration data as an array of checked feeds (every input present, right dtype and element count). */
async function collectFeeds(graph: Graph, calibration: Int8Options['calibration']): Promise<Feed[]> {
  if (calibration === undefined || calibration === null) throw new CompileError('BAD_CALIBRATION', 'int8: no calibration data given (int8.calibration / --calibrate)');
  const inputs = graph.inputs.map((name) => ({ name, dtype: graph.values.get(name)!.dtype, shape: graph.values.get(name)!.shape as number[] }));
  const source = typeof calibration === 'string' ? loadCalibration(calibration, inputs) : calibration;
  const feeds: Feed[] = [];
  for await (const feed of source as AsyncIterable<Feed>) {
    const k = feeds.length;
    if (!feed || typeof feed !== 'object') throw new CompileError('BAD_CALIBRATION', `calibration input ${k} is not an object of input name -> typed array`);
    for (const input of inputs) {
      const data = feed[input.name];
      const want = ARRAY_OF[input.dtype];
      if (data === undefined) throw new CompileError('BAD_CALIBRATION', `calibration input ${k} has no value for the model input "${input.name}"`);
      if (!(data instanceof want)) throw new CompileError('BAD_CALIBRATION', `calibration input ${k}: "${input.name}" must be a ${want.name} (${input.dtype}), got ${(data as object)?.constructor?.name ?? typeof data}`);
      if (data.length !== numel(input.shape)) throw new CompileError('BAD_CALIBRATION', `calibration input ${k}: "${input.name}" has ${data.length} elements, its shape ${input.shape.join('x')} needs ${numel(input.shape)}`);
    }
    const extra = Object.keys(feed).find((name) => !inputs.some((i) => i.name === name));
    if (extra) throw new CompileError('BAD_CALIBRATION', `calibration input ${k} names "${extra}", which is not an input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    feeds.push(feed);
  }
  if (!feeds.length) throw new CompileError('BAD_CALIBRATION', 'int8: the calibration data is empty (give at least one input)');
  return feeds;
}
