// Pad, every mode and opset. Each output position maps, axis by axis, to an input index (or to the constant):
// edge clamps, reflect mirrors, wrap goes round. Along each axis the output splits into runs where that map
// steps by -1, 0 or +1, and every combination of runs across axes is one strided copy from the input. The
// constant mode first fills the output with the value (which may be a run-time input). Negative pads crop.

import { dense, emitCopy, emitFill, type Move } from '../codegen/copy.js';
import { ALL_DTYPES, fromNumbers, readNumber } from '../src/ir/dtype.js';
import { numel, stridesOf, type Tensor } from '../src/ir/graph.js';
import { constInts, moveOp, normAxes, type Layout, type OpCtx } from './move.js';
import { checkedElements } from '../src/ir/limits.js';
import { CompileError, nodeLabel } from '../src/errors.js';

interface PadAttrs { mode: string; pads?: number[]; value: number }

const MODES = ['constant', 'reflect', 'edge', 'wrap'];
/** Each combination of runs is one copy loop in the module: reflecting a tiny input far out would bloat it. */
const MAX_COPIES = 1 << 14;

/** pads for every axis, [begin..., end...] (attribute before opset 11, inputs pads and axes after). */
function fullPads(ctx: OpCtx<PadAttrs>, rank: number): number[] {
  if (ctx.opset < 11) return ctx.attrs.pads!;
  const pads = constInts(ctx, 1, 'pads');
  if (ctx.opset < 18 || !ctx.inputs[3]) return pads;
  const axes = normAxes(ctx, constInts(ctx, 3, 'axes'), rank);
  if (pads.length !== 2 * axes.length) ctx.fail(`pads has ${pads.length} values for ${axes.length} axes`);
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => { full[a] = pads[i]; full[a + rank] = pads[i + axes.length]; });
  return full;
}

/** Input index feeding output index o along one axis, or -1 for the constant. */
function sourceIndex(mode: string, o: number, begin: number, n: number): number {
  const i = o - begin;
  switch (mode) {
    case 'edge': return Math.min(Math.max(i, 0), n - 1);
    case 'wrap': return ((i % n) + n) % n;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const r = ((i % period) + period) % period;
      return r < n ? r : period - r;
    }
    default: return i >= 0 && i < n ? i : -1;
  }
}

interface Run { out: number; len: number; from: number; step: number }

/** Maximal output runs along one axis whose input index moves by a constant step of -1, 0 or 1. */
function axisRuns(mode: string, size: number, begin: number, n: number): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  for (let o = 0; o < size; o++) {
    const i = sourceIndex(mode, o, begin, n);
    if (i < 0) { cur = undefined; continue; }
    if (cur) {
      const step = i - (cur.from + (cur.len - 1) * cur.step);
      if (cur.len === 1 && Math.abs(step) <= 1) cur.step = step;
      if (i === cur.from + cur.len * cur.step) { cur.len++; continue; }
    }
    cur = { out: o, len: 1, from: i, step: 0 };
    if (runs.push(cur) > MAX_COPIES) break; // too many already: the caller refuses the pad
  }
  return runs;
}

function padLayout(ctx: OpCtx<PadAttrs>): Layout {
  const x = ctx.inputs[0]!;
  const rank = x.shape.length;
  const { mode } = ctx.attrs;
  if (!MODES.includes(mode) || (mode === 'wrap' && ctx.opset < 19)) ctx.fail(`unknown mode "${mode}"`);
  const pads = fullPads(ctx, rank);
  if (pads.length !== 2 * rank) ctx.fail(`pads has ${pads.length} values, rank ${rank} needs ${2 * rank}`);
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
  if (shape.some((d) => d < 0)) ctx.fail(`pads [${pads}] crop more than the input [${x.shape}]`);
  if (mode !== 'constant' && x.shape.some((d, i) => d === 0 && shape[i] > 0)) ctx.fail(`mode ${mode} cannot pad an empty axis`);
  // A hostile pad must fail here, before the runs below are enumerated (their count grows with the output).
  checkedElements(x.dtype, shape, { what: `${nodeLabel(ctx.node, ctx.opset)} output`, node: ctx.node.name, op: ctx.node.opType });
  const inSt = stridesOf(x.shape);
  const outSt = stridesOf(shape);
  const runs = x.shape.map((n, a) => axisRuns(mode, shape[a], pads[a], n));
  const copies = runs.reduce((c, r) => c * r.length, 1);
  if (copies > MAX_COPIES) {
    throw new CompileError('TOO_LARGE', `${nodeLabel(ctx.node, ctx.opset)}: ${mode} padding of [${x.shape}] by [${pads}] takes ${copies} strided copies, ` +
      `more than ${MAX_COPIES} (pads far larger than the input)`, { node: ctx.node.name, op: ctx.node.opType });
  }
  // Every combination of one run per axis is one copy.
  const moves: Move[] = [];
  const pick = (a: number, chosen: Run[]): void => {
    if (a === rank) {
      moves.push({
        from: 0, to: 0,
        plan: {
          shape: chosen.map((r) => r.len),
          src: { offset: chosen.reduce((s, r, d) => s + r.from * inSt[d], 0), strides: chosen.map((r, d) => r.step * inSt[d]) },
          dst: { offset: chosen.reduce((s, r, d) => s + r.out * outSt[d], 0), strides: outSt },
        },
      });
      return;
    }
    for (const r of runs[a]) pick(a + 1, [...chosen, r]);
  };
  pick(0, []);
  return { outs: [{ dtype: x.dtype, shape }], moves };
}

/** The constant, as a one-element array of the output dtype (input 2 from opset 11, attribute before). */
function constantValue(ctx: OpCtx<PadAttrs>): Tensor['data'] {
  const dt = ctx.inputs[0]!.dtype;
  const v = ctx.opset >= 11 ? ctx.inputs[2]?.const : undefined;
  return fromNumbers(dt, [v ? readNumber(v.dtype, v.data, 0) : ctx.opset >= 11 ? 0 : ctx.attrs.value]);
}

/** Whether the output has positions the constant fills. */
const needsFill = (ctx: OpCtx<PadAttrs>, l: Layout) =>
  ctx.attrs.mode === 'constant' && l.moves.reduce((s, m) => s + numel(m.plan.shape), 0) < numel(l.outs[0].shape);

export const Pad = moveOp<PadAttrs>({
  op: 'Pad', since: 1, dtypes: ALL_DTYPES, constInputs: [1, 3],
  notes: 'reflect pads wider than the input keep mirroring (onnxruntime refuses them); pads whose copies would exceed 16384 strided loops are TOO_LARGE',
  attrs: (a, opset) => ({
    mode: a.string('mode', 'constant'),
    pads: opset < 11 ? a.ints(opset < 2 ? 'paddings' : 'pads') : undefined,
    value: opset < 11 ? a.float('value', 0) : 0,
  }),
  layout: padLayout,
  prepareConst(ctx, outs) {
    if (ctx.attrs.mode === 'constant') outs[0].data.fill(constantValue(ctx)[0] as never);
  },
  prepare(ctx, l) {
    if (!needsFill(ctx, l)) return;
    const y = ctx.outputs[0];
    const v = ctx.opset >= 11 ? ctx.inputs[2] : undefined;
    if (v && !v.const) {
      // A run-time constant_value: broadcast its one element.
      if (v.shape.reduce((a, b) => a * b, 1) !== 1) ctx.fail('constant_value must have one element');
      emitCopy(ctx, y.dtype, v.ptr, y.ptr, { shape: y.shape, src: { offset: 0, strides: y.shape.map(() => 0) }, dst: dense(y.shape) });
    } else emitFill(ctx, y.dtype, constantValue(ctx), y.ptr, y.shape);
  },
});

// --- CenterCropPad: crop (window start rounded down) or zero-pad (extra pixel on the right) to a shape ---

export const CenterCropPad = moveOp<{ axes?: number[] }>({
  op: 'CenterCropPad', since: 18, dtypes: ALL_DTYPES, constInputs: [1],
  attrs: (a) => ({ axes: a.has('axes') ? a.ints('axes') : undefined }),
  layout(ctx) {
    const x = ctx.inputs[0]!;
    const rank = x.shape.length;
    const target = constInts(ctx, 1, 'shape');
    const axes = normAxes(ctx, ctx.attrs.axes ?? x.shape.map((_, i) => i), rank);
    if (target.length !== axes.length) ctx.fail(`shape has ${target.length} values for ${axes.length} axes`);
    const shape = [...x.shape];
    const from = x.shape.map(() => 0), to = x.shape.map(() => 0), len = [...x.shape];
    axes.forEach((a, i) => {
      const [d, t] = [x.shape[a], target[i]];
      if (t < 0) ctx.fail(`shape [${target}] has negative dims`);
      shape[a] = t;
      len[a] = Math.min(d, t);
      if (d >= t) from[a] = Math.floor((d - t) / 2);
      else to[a] = Math.floor((t - d) / 2);
    });
    const inSt = stridesOf(x.shape), outSt = stridesOf(shape);
    const plan = {
      shape: len,
      src: { offset: from.reduce((s, v, i) => s + v * inSt[i], 0), strides: inSt },
      dst: { offset: to.reduce((s, v, i) => s + v * outSt[i], 0), strides: outSt },
    };
    return { outs: [{ dtype: x.dtype, shape }], moves: [{ from: 0, to: 0, plan }] };
  },
  prepare(ctx, l) {
    const y = ctx.outputs[0];
    if (numel(l.moves[0].plan.shape) < numel(y.shape)) emitFill(ctx, y.dtype, fromNumbers(y.dtype, [0]), y.ptr, y.shape);
  },
});
