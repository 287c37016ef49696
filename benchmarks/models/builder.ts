// A layer-level helper over the project's ONNX builder (src/onnx/encode.ts): the benchmark architectures are
// written as calls like conv()/batchNorm()/add(), with seeded weights so every run measures the same model.

import { encodeModel, float, type AttrSpec, type NodeSpec, type ValueSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';

/** Deterministic uniform numbers in [0, 1) (xorshift32; any fixed generator will do). */
export function seededRandom(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export interface ConvOptions { stride?: number; group?: number; pad?: number; bias?: boolean; dilation?: number }
export interface ConvTransposeOptions { stride?: number; group?: number; pad?: number; bias?: boolean; outputPadding?: number }

export class NetBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: Record<string, Tensor> = {};
  readonly random: () => number;
  private counter = 0;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** A float32 initializer with values uniform in [-scale, scale) (or [lo, hi) when given). */
  weight(shape: number[], scale: number, prefix = 'w', lo = -scale, hi = scale): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * this.random();
    const name = this.fresh(prefix);
    this.initializers[name] = { dtype: 'float32', shape, data };
    return name;
  }

  constant(t: Tensor, prefix = 'c'): string {
    const name = this.fresh(prefix);
    this.initializers[name] = t;
    return name;
  }

  int64s(values: number[]): string {
    return this.constant({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) }, 'shape');
  }

  scalar(v: number): string {
    return this.constant({ dtype: 'float32', shape: [], data: Float32Array.of(v) }, 'k');
  }

  /** Appends one node and returns its (single) output name. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrSpec>): string {
    const out = this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attrs, name: out });
    return out;
  }

  /** Conv with He-uniform weights (fan-in scaled, so activations stay O(1) through deep nets). */
  conv(x: string, cin: number, cout: number, k: number, o: ConvOptions = {}): string {
    return this.convNd(x, cin, cout, k, 2, o);
  }

  /** Conv over [N, C, L] (speech, keyword spotting): kernel k along the one spatial axis. */
  conv1d(x: string, cin: number, cout: number, k: number, o: ConvOptions = {}): string {
    return this.convNd(x, cin, cout, k, 1, o);
  }

  private convNd(x: string, cin: number, cout: number, k: number, rank: number, o: ConvOptions): string {
    const group = o.group ?? 1, dilation = o.dilation ?? 1;
    const fanIn = (cin / group) * k ** rank;
    const w = this.weight([cout, cin / group, ...Array(rank).fill(k)], Math.sqrt(6 / fanIn), 'conv_w');
    const inputs = [x, w];
    if (o.bias ?? true) inputs.push(this.weight([cout], 0.1, 'conv_b'));
    const pad = o.pad ?? (dilation * (k - 1)) >> 1;
    const each = (v: number) => Array(rank).fill(v);
    return this.op('Conv', inputs, {
      kernel_shape: each(k), strides: each(o.stride ?? 1), pads: each(pad).concat(each(pad)), group, dilations: each(dilation),
    });
  }

  /** 2-D ConvTranspose (weights [cin, cout / group, k, k]); pad defaults to 0 (the U-Net 2x2 stride-2 form). */
  convTranspose(x: string, cin: number, cout: number, k: number, o: ConvTransposeOptions = {}): string {
    const group = o.group ?? 1, pad = o.pad ?? 0, stride = o.stride ?? 1;
    const w = this.weight([cin, cout / group, k, k], Math.sqrt(6 / ((cin / group) * k * k)), 'convt_w');
    const inputs = [x, w];
    if (o.bias ?? true) inputs.push(this.weight([cout], 0.1, 'convt_b'));
    return this.op('ConvTranspose', inputs, {
      kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group,
      ...(o.outputPadding ? { output_padding: [o.outputPadding, o.outputPadding] } : {}),
    });
  }

  /**
   * One GRU or LSTM layer over x [seq, batch, inputSize] (default activations, forward): returns Y
   * [seq, 1, batch, hidden] and Y_h [1, batch, hidden]. Weights uniform in +-1/sqrt(hidden), as PyTorch initializes them.
   */
  recurrent(kind: 'GRU' | 'LSTM', x: string, inputSize: number, hidden: number, o: { linearBeforeReset?: boolean } = {}): { y: string; yh: string } {
    const gates = kind === 'GRU' ? 3 : 4, scale = 1 / Math.sqrt(hidden);
    const w = this.weight([1, gates * hidden, inputSize], scale, `${kind.toLowerCase()}_w`);
    const r = this.weight([1, gates * hidden, hidden], scale, `${kind.toLowerCase()}_r`);
    const b = this.weight([1, 2 * gates * hidden], scale, `${kind.toLowerCase()}_b`);
    const y = this.fresh(`${kind.toLowerCase()}_y`), yh = this.fresh(`${kind.toLowerCase()}_yh`);
    const attrs: Record<string, AttrSpec> = { hidden_size: hidden, ...(kind === 'GRU' && o.linearBeforeReset ? { linear_before_reset: 1 } : {}) };
    this.nodes.push({ op: kind, inputs: [x, w, r, b], outputs: [y, yh], attrs, name: y });
    return { y, yh };
  }

  /** LayerNormalization over the last axis (opset 17). */
  layerNorm(x: string, dim: number): string {
    return this.op('LayerNormalization', [x, this.weight([dim], 0, 'ln_g', 0.8, 1.2), this.weight([dim], 0.1, 'ln_b')], { axis: -1 });
  }

  concat(xs: string[], axis = 1): string { return this.op('Concat', xs, { axis }); }

  /** Resize of an NCHW tensor by an integer factor in H and W (opset >= 13 inputs: X, roi '', scales). */
  upsample(x: string, factor: number, mode: 'nearest' | 'linear' = 'nearest'): string {
    const scales = this.constant({ dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, factor, factor) }, 'scales');
    return this.op('Resize', [x, '', scales], mode === 'nearest' ? { mode } : { mode, coordinate_transformation_mode: 'half_pixel' });
  }

  /** Inference BatchNormalization with non-trivial statistics, so folding mistakes would show. */
  batchNorm(x: string, c: number): string {
    const scale = this.weight([c], 0, 'bn_scale', 0.5, 1.5);
    const bias = this.weight([c], 0.2, 'bn_bias');
    const mean = this.weight([c], 0.2, 'bn_mean');
    const variance = this.weight([c], 0, 'bn_var', 0.5, 1.5);
    return this.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: float(1e-5) });
  }

  relu(x: string): string { return this.op('Relu', [x]); }
  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }

  /** ReLU6 as exporters write it (Clip with min/max inputs, opset >= 11). */
  relu6(x: string): string { return this.op('Clip', [x, this.scalar(0), this.scalar(6)]); }

  /** Fully connected layer on a [N, inFeatures] tensor: Gemm with transB, as PyTorch exports Linear. */
  linear(x: string, inFeatures: number, outFeatures: number): string {
    const w = this.weight([outFeatures, inFeatures], Math.sqrt(6 / inFeatures), 'fc_w');
    const b = this.weight([outFeatures], 0.1, 'fc_b');
    return this.op('Gemm', [x, w, b], { transB: 1 });
  }

  /** x[..., inFeatures] @ W + b via MatMul and Add (the transformer form). */
  dense(x: string, inFeatures: number, outFeatures: number): string {
    const w = this.weight([inFeatures, outFeatures], Math.sqrt(3 / inFeatures), 'mm_w');
    return this.add(this.op('MatMul', [x, w]), this.weight([outFeatures], 0.1, 'mm_b'));
  }

  encode(opset: number, inputs: ValueSpec[], outputs: string[]): Uint8Array {
    return encodeModel({ opset, inputs, outputs: outputs.map((name) => ({ name })), nodes: this.nodes, initializers: this.initializers });
  }
}

/** A seeded float32 tensor with values uniform in [lo, hi). */
export function randomInput(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const random = seededRandom(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * random();
  return { dtype: 'float32', shape, data };
}
