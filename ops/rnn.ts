// Recurrent layers: RNN, GRU (linear_before_reset) and LSTM (peepholes, input_forget), with activation lists,
// clip, forward/reverse/bidirectional, sequence_lens, initial states and layout (opset 14).
// Kernel variants: 'gemm-gemv' (float32 with constant weights: ops/rnn-f32.ts) and 'generic', naive loops for
// the rest: per direction and batch row, each time step computes every gate's pre-activation as
// bias + X_t.W_row + H.R_row into scratch, then updates the state in place.

import { callFast, callMath } from '../codegen/mathlib.js';
import { computeType, type Expr, type Kernel, type Local } from '../codegen/wasm.js';
import { DTYPE_SIZE, type DType } from '../src/ir/dtype.js';
import { emitRnnF32, rnnF32Applies, rnnF32Scratch } from './rnn-f32.js';
import { numel } from '../src/ir/graph.js';
import { defineOp, type AttrReader, type EmitCtx, type InferCtx, type OpDef, type Operand, type TensorInfo } from './types.js';

export type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
export const DEFAULT_ACTS: Record<Kind, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };
const NEEDS_ALPHA = new Set(['affine', 'leakyrelu', 'thresholdedrelu', 'scaledtanh', 'hardsigmoid', 'elu']);
const NEEDS_BETA = new Set(['affine', 'scaledtanh', 'hardsigmoid']);
const DEFAULT_ALPHA: Record<string, number> = { affine: 1, leakyrelu: 0.01, thresholdedrelu: 1, scaledtanh: 1, hardsigmoid: 0.2, elu: 1 };
const DEFAULT_BETA: Record<string, number> = { affine: 0, scaledtanh: 1, hardsigmoid: 0.5 };
const KNOWN_ACTS = new Set(['relu', 'tanh', 'sigmoid', 'softsign', 'softplus', ...NEEDS_ALPHA]);

export interface Activation { name: string; alpha: number; beta: number }

export interface RnnAttrs {
  acts: Activation[];
  clip?: number;
  direction: string;
  hiddenSize?: number;
  linearBeforeReset: number;
  inputForget: number;
  layout: number;
}

function rnnAttrs(kind: Kind) {
  return (a: AttrReader): RnnAttrs => {
    const direction = a.string('direction', 'forward');
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const names = a.strings('activations', []);
    const list = names.length ? names : Array.from({ length: dirs }, () => DEFAULT_ACTS[kind]).flat();
    // alpha/beta values are consumed in order by the activations that take them.
    const alphas = a.floats('activation_alpha', []), betas = a.floats('activation_beta', []);
    let ai = 0, bi = 0;
    const acts = list.map((n) => {
      const name = n.toLowerCase();
      const alpha = NEEDS_ALPHA.has(name) ? alphas[ai++] ?? DEFAULT_ALPHA[name] : 0;
      const beta = NEEDS_BETA.has(name) ? betas[bi++] ?? DEFAULT_BETA[name] : 0;
      return { name, alpha, beta };
    });
    return {
      acts, clip: a.has('clip') ? a.float('clip') : undefined, direction,
      hiddenSize: a.has('hidden_size') ? a.int('hidden_size') : undefined,
      linearBeforeReset: a.int('linear_before_reset', 0), inputForget: a.int('input_forget', 0), layout: a.int('layout', 0),
    };
  };
}

export interface Dims { S: number; B: number; I: number; H: number; D: number; G: number }

type DimsCtx = { fail(m: string): never; attrs: RnnAttrs; inputs: readonly ({ shape: number[]; dtype: DType } | undefined)[] };

function dims(ctx: DimsCtx, kind: Kind): Dims {
  const { attrs } = ctx;
  const [x, w, r] = ctx.inputs;
  if (!x || !w || !r) ctx.fail('needs X, W and R');
  if (!['forward', 'reverse', 'bidirectional'].includes(attrs.direction)) ctx.fail(`direction "${attrs.direction}" is not valid`);
  if (x!.shape.length !== 3 || w!.shape.length !== 3 || r!.shape.length !== 3) ctx.fail('X, W and R must be 3-D');
  const D = attrs.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[kind];
  const [S, B] = attrs.layout ? [x!.shape[1], x!.shape[0]] : [x!.shape[0], x!.shape[1]];
  const I = x!.shape[2];
  const H = attrs.hiddenSize ?? r!.shape[2];
  if (w!.shape.join() !== [D, G * H, I].join()) ctx.fail(`W must have shape [${D}, ${G * H}, ${I}], has [${w!.shape}]`);
  if (r!.shape.join() !== [D, G * H, H].join()) ctx.fail(`R must have shape [${D}, ${G * H}, ${H}], has [${r!.shape}]`);
  const perDir = DEFAULT_ACTS[kind].length;
  if (attrs.acts.length !== perDir * D) ctx.fail(`needs ${perDir * D} activations, has ${attrs.acts.length}`);
  for (const a of attrs.acts) if (!KNOWN_ACTS.has(a.name)) ctx.fail(`activation "${a.name}" is not supported`);
  const b = ctx.inputs[3];
  if (b && b.shape.join() !== [D, 2 * G * H].join()) ctx.fail(`B must have shape [${D}, ${2 * G * H}]`);
  const state = attrs.layout ? [B, D, H] : [D, B, H];
  for (const i of kind === 'LSTM' ? [5, 6] : [5]) {
    const s = ctx.inputs[i];
    if (s && s.shape.join() !== state.join()) ctx.fail(`initial state must have shape [${state}]`);
  }
  if (kind === 'LSTM' && ctx.inputs[7] && ctx.inputs[7].shape.join() !== [D, 3 * H].join()) ctx.fail(`P must have shape [${D}, ${3 * H}]`);
  if (ctx.inputs[4] && numel(ctx.inputs[4].shape) !== B) ctx.fail(`sequence_lens must have ${B} elements`);
  return { S, B, I, H, D, G };
}

function inferRnn(kind: Kind) {
  return (ctx: InferCtx<RnnAttrs>): TensorInfo[] => {
    const d = dims(ctx, kind);
    const dt = ctx.inputs[0]!.dtype;
    if (ctx.inputs.slice(1).some((i, j) => i && j !== 3 && i.dtype !== dt)) ctx.fail('X, W, R, B, initial states and P must have one dtype');
    const y = ctx.attrs.layout ? [d.B, d.S, d.D, d.H] : [d.S, d.D, d.B, d.H];
    const state = ctx.attrs.layout ? [d.B, d.D, d.H] : [d.D, d.B, d.H];
    const outs = [{ dtype: dt, shape: y }, { dtype: dt, shape: state }];
    if (kind === 'LSTM') outs.push({ dtype: dt, shape: state });
    return outs;
  };
}

/** An activation applied to x (compute type t). */
export function activate(k: Kernel, a: Activation, x: Expr, t: 'f32' | 'f64'): Expr {
  const ns = t === 'f32' ? k.f32 : k.f64;
  const c = (v: number) => k.const(t, v);
  // Bind x to a local first: select evaluates its condition last, so a tee inside the condition comes too late.
  const l = k.local(t);
  const bound = (v: Expr) => k.block([l.set(x), v], t);
  const exp = (v: Expr) => (t === 'f32' ? callFast(k, 'exp', v) : callMath(k, 'exp', [v], 'f64'));
  const tanh = (v: Expr) => (t === 'f32' ? callFast(k, 'tanh', v) : callMath(k, 'tanh', [v], 'f64'));
  const log1p = (v: Expr) => (t === 'f32' ? k.f32.demote(callMath(k, 'log1p', [k.f64.promote(v)], 'f64')) : callMath(k, 'log1p', [v], 'f64'));
  switch (a.name) {
    case 'relu': return ns.max(x, c(0));
    case 'tanh': return tanh(x);
    case 'sigmoid': return t === 'f32' ? callFast(k, 'sigmoid', x) : ns.div(c(1), ns.add(c(1), exp(ns.neg(x))));
    case 'affine': return ns.add(ns.mul(c(a.alpha), x), c(a.beta));
    case 'leakyrelu': return bound(k.select(ns.ge(l.get(), c(0)), l.get(), ns.mul(c(a.alpha), l.get())));
    case 'thresholdedrelu': return bound(k.select(ns.gt(l.get(), c(a.alpha)), l.get(), c(0)));
    case 'scaledtanh': return ns.mul(c(a.alpha), tanh(ns.mul(c(a.beta), x)));
    case 'hardsigmoid': return ns.min(ns.max(ns.add(ns.mul(c(a.alpha), x), c(a.beta)), c(0)), c(1));
    case 'elu': return bound(k.select(ns.ge(l.get(), c(0)), l.get(), ns.mul(c(a.alpha), ns.sub(exp(l.get()), c(1)))));
    case 'softsign': return bound(ns.div(l.get(), ns.add(c(1), ns.abs(l.get()))));
    case 'softplus': return bound(k.select(ns.gt(l.get(), c(30)), l.get(), log1p(exp(l.get()))));
    default: throw new Error(`activation ${a.name}`);
  }
}

/** Input slots: X W R B sequence_lens initial_h initial_c P; output slots Y Y_h Y_c. */
function emitRnn(kind: Kind, ctx: EmitCtx<RnnAttrs>): void {
  const d = dims(ctx, kind);
  const { S, B, I, H, D, G } = d;
  const at = ctx.attrs;
  const ins = ctx.inputs as (Operand | undefined)[];
  const outs = ctx.outputs as (Operand | undefined)[];
  const dt = ins[0]!.dtype;
  const t = computeType(dt) === 'f64' ? 'f64' : 'f32';
  const cs = t === 'f64' ? 8 : 4; // bytes of a compute value in scratch
  const es = DTYPE_SIZE[dt];
  const has = (i: number) => !!ins[i];
  const inSlots = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => i < ins.length && ins[i]);
  const outSlots = [0, 1, 2].filter((i) => outs[i]);
  const scratch = ctx.scratch();
  const key = `${kind}:${dt}:${S}.${B}.${I}.${H}.${D}:${at.layout}:${at.acts.map((a) => `${a.name}/${a.alpha}/${a.beta}`)}:` +
    `${at.clip}:${at.linearBeforeReset}:${at.inputForget}:${at.direction}:${inSlots}:${outSlots}:${ins[4]?.dtype}:${scratch}`;
  const params = [...inSlots, ...outSlots.map((o) => 8 + o)];
  const fn = ctx.kernel(key, params.map(() => 'i32' as const), (k) => {
    const ptr = (slot: number) => k.params[params.indexOf(slot)];
    const ns = t === 'f32' ? k.f32 : k.f64;
    const c = (v: number) => k.const(t, v);
    // Scratch: h [H], c [H], gates [G*H] as compute values.
    const hAddr = scratch, cAddr = scratch + H * cs, gAddr = scratch + 2 * H * cs;
    const sLoad = (base: number, idx: Expr) => (t === 'f32' ? k.f32.load(0, 4, k.i32.add(k.c32(base), k.i32.shl(idx, k.c32(2))))
      : k.f64.load(0, 8, k.i32.add(k.c32(base), k.i32.shl(idx, k.c32(3)))));
    const sStore = (base: number, idx: Expr, v: Expr) => (t === 'f32' ? k.f32.store(0, 4, k.i32.add(k.c32(base), k.i32.shl(idx, k.c32(2))), v)
      : k.f64.store(0, 8, k.i32.add(k.c32(base), k.i32.shl(idx, k.c32(3))), v));
    const toT = (v: Expr) => (t === 'f64' || computeType(dt) === 'f32' ? v : k.f32.demote(v));
    const elem = (slot: number, index: Expr) => toT(k.load(dt, k.i32.add(ptr(slot).get(), k.i32.mul(index, k.c32(es)))));
    const storeElem = (slot: number, index: Expr, v: Expr) => k.store(dt, k.i32.add(ptr(slot).get(), k.i32.mul(index, k.c32(es))), v);
    const clip = (v: Expr) => (at.clip === undefined ? v : ns.min(ns.max(v, c(-at.clip)), c(at.clip)));
    const add = (a: Expr, b: Expr) => ns.add(a, b);
    const mul = (a: Expr, b: Expr) => ns.mul(a, b);
    const i32 = k.i32;
    const ci = (v: number) => k.c32(v);

    const b = k.local('i32'), tt = k.local('i32'), s = k.local('i32'), len = k.local('i32');
    const acc = k.local(t), acc2 = k.local(t);
    // Index helpers (element offsets) that depend on layout.
    const xIndex = (i: Expr) => i32.add(i32.mul(at.layout ? i32.add(i32.mul(b.get(), ci(S)), tt.get()) : i32.add(i32.mul(tt.get(), ci(B)), b.get()), ci(I)), i);
    const stateIndex = (dir: number, j: Expr) => i32.add(i32.mul(at.layout ? i32.add(i32.mul(b.get(), ci(D)), ci(dir)) : i32.add(ci(dir * B), b.get()), ci(H)), j);
    const yIndex = (dir: number, j: Expr) => i32.add(i32.mul(at.layout
      ? i32.add(i32.mul(i32.add(i32.mul(b.get(), ci(S)), tt.get()), ci(D)), ci(dir))
      : i32.add(i32.mul(i32.add(i32.mul(tt.get(), ci(D)), ci(dir)), ci(B)), b.get()), ci(H)), j);

    const forDir = (dir: number): Expr[] => {
      const acts = at.acts.slice(dir * DEFAULT_ACTS[kind].length);
      const [f, g, h] = acts;
      const row = (gate: number, j: Local) => i32.add(ci(dir * G * H + gate * H), j.get());
      /** acc = biases + X_t . W_row (+ H . R_row unless noRecurrence). */
      const pre = (gate: number, j: Local, recurrence: 'h' | 'rh' | 'none', withRb = true): Expr[] => {
        const stmts: Expr[] = [acc.set(c(0))];
        if (has(3)) {
          stmts.push(acc.set(add(acc.get(), elem(3, i32.add(ci(dir * 2 * G * H + gate * H), j.get())))));
          if (withRb) stmts.push(acc.set(add(acc.get(), elem(3, i32.add(ci(dir * 2 * G * H + (G + gate) * H), j.get())))));
        }
        stmts.push(k.loop(0, I, (i) => acc.set(add(acc.get(), mul(elem(0, xIndex(i.get())), elem(1, i32.add(i32.mul(row(gate, j), ci(I)), i.get())))))));
        if (recurrence !== 'none') {
          stmts.push(k.loop(0, H, (i) => {
            const hv = recurrence === 'h' ? sLoad(hAddr, i.get()) : mul(sLoad(gAddr, i32.add(ci(H), i.get())), sLoad(hAddr, i.get()));
            return acc.set(add(acc.get(), mul(hv, elem(2, i32.add(i32.mul(row(gate, j), ci(H)), i.get())))));
          }));
        }
        return stmts;
      };
      const peep = (which: number, j: Local, cell: Expr) => (has(7) ? mul(elem(7, i32.add(ci(dir * 3 * H + which * H), j.get())), cell) : c(0));

      let step: Expr[];
      if (kind === 'RNN') {
        step = [
          k.loop(0, H, (j) => [...pre(0, j, 'h'), sStore(gAddr, j.get(), activate(k, f, clip(acc.get()), t))]),
          k.loop(0, H, (j) => sStore(hAddr, j.get(), sLoad(gAddr, j.get()))),
        ];
      } else if (kind === 'GRU') {
        const hGate = (j: Local): Expr[] => {
          if (!at.linearBeforeReset) return pre(2, j, 'rh');
          // g(X.Wh + Wbh + r * (H.Rh + Rbh))
          const rec: Expr[] = [acc2.set(has(3) ? elem(3, i32.add(ci(dir * 2 * G * H + (G + 2) * H), j.get())) : c(0)),
            k.loop(0, H, (i) => acc2.set(add(acc2.get(), mul(sLoad(hAddr, i.get()), elem(2, i32.add(i32.mul(row(2, j), ci(H)), i.get()))))))];
          return [...pre(2, j, 'none', false), ...rec, acc.set(add(acc.get(), mul(sLoad(gAddr, i32.add(ci(H), j.get())), acc2.get())))];
        };
        step = [
          k.loop(0, H, (j) => [
            ...pre(0, j, 'h'), sStore(gAddr, j.get(), activate(k, f, clip(acc.get()), t)),
            ...pre(1, j, 'h'), sStore(gAddr, i32.add(ci(H), j.get()), activate(k, f, clip(acc.get()), t)),
          ]),
          k.loop(0, H, (j) => [...hGate(j), sStore(gAddr, i32.add(ci(2 * H), j.get()), activate(k, g, clip(acc.get()), t))]),
          k.loop(0, H, (j) => {
            const z = () => sLoad(gAddr, j.get());
            return sStore(hAddr, j.get(), add(mul(ns.sub(c(1), z()), sLoad(gAddr, i32.add(ci(2 * H), j.get()))), mul(z(), sLoad(hAddr, j.get()))));
          }),
        ];
      } else {
        // gates in scratch: i, o (pre-activation, peephole added after C is known), f, c.
        const gi = (n: number, j: Local) => i32.add(ci(n * H), j.get());
        step = [
          k.loop(0, H, (j) => [
            ...pre(0, j, 'h'), sStore(gAddr, gi(0, j), activate(k, f, clip(add(acc.get(), peep(0, j, sLoad(cAddr, j.get())))), t)),
            ...pre(1, j, 'h'), sStore(gAddr, gi(1, j), acc.get()),
            ...(at.inputForget ? [sStore(gAddr, gi(2, j), ns.sub(c(1), sLoad(gAddr, gi(0, j))))]
              : [...pre(2, j, 'h'), sStore(gAddr, gi(2, j), activate(k, f, clip(add(acc.get(), peep(2, j, sLoad(cAddr, j.get())))), t))]),
            ...pre(3, j, 'h'), sStore(gAddr, gi(3, j), activate(k, g, clip(acc.get()), t)),
          ]),
          k.loop(0, H, (j) => [
            acc.set(add(mul(sLoad(gAddr, gi(2, j)), sLoad(cAddr, j.get())), mul(sLoad(gAddr, gi(0, j)), sLoad(gAddr, gi(3, j))))),
            sStore(cAddr, j.get(), acc.get()),
            acc2.set(activate(k, f, clip(add(sLoad(gAddr, gi(1, j)), peep(1, j, acc.get()))), t)),
            sStore(hAddr, j.get(), mul(acc2.get(), activate(k, h, acc.get(), t))),
          ]),
        ];
      }
      const reverse = at.direction === 'reverse' || dir === 1;
      const lenExpr = has(4)
        ? (() => { const v = k.local('i32'); const raw = ins[4]!.dtype === 'int64' ? i32.wrap(k.load('int64', i32.add(ptr(4).get(), i32.shl(b.get(), ci(3))))) : k.i32.load(0, 4, i32.add(ptr(4).get(), i32.shl(b.get(), ci(2))));
          return k.block([v.set(raw), k.select(i32.lt_s(v.get(), ci(0)), ci(0), k.select(i32.gt_s(v.get(), ci(S)), ci(S), v.get()))], 'i32'); })()
        : ci(S);
      const initState = (slot: number, base: number) => k.loop(0, H, (j) => sStore(base, j.get(), has(slot) ? elem(slot, stateIndex(dir, j.get())) : c(0)));
      return [k.for(b, 0, B, 1, () => [
        initState(5, hAddr), ...(kind === 'LSTM' ? [initState(6, cAddr)] : []),
        len.set(lenExpr), s.set(ci(0)),
        k.while(() => i32.lt_s(s.get(), len.get()), [
          tt.set(reverse ? i32.sub(i32.sub(len.get(), ci(1)), s.get()) : s.get()),
          ...step,
          ...(outs[0] ? [k.loop(0, H, (j) => storeElem(8, yIndex(dir, j.get()), sLoad(hAddr, j.get())))] : []),
          s.set(i32.add(s.get(), ci(1))),
        ]),
        ...(outs[1] ? [k.loop(0, H, (j) => storeElem(9, stateIndex(dir, j.get()), sLoad(hAddr, j.get())))] : []),
        ...(outs[2] ? [k.loop(0, H, (j) => storeElem(10, stateIndex(dir, j.get()), sLoad(cAddr, j.get())))] : []),
      ])];
    };
    const stmts: Expr[] = [];
    if (outs[0]) stmts.push(k.fill(ptr(8).get(), 0, S * D * B * H * es)); // steps past sequence_lens stay 0
    for (let dir = 0; dir < D; dir++) stmts.push(...forDir(dir));
    return stmts;
  });
  ctx.call(fn, params.map((p) => (p < 8 ? ins[p]!.ptr : outs[p - 8]!.ptr)));
}

function rnnOp(kind: Kind, since: number): OpDef<RnnAttrs> {
  return defineOp<RnnAttrs>({
    op: kind, since, dtypes: ['float32', 'float64', 'float16', 'bfloat16'],
    notes: 'all activations, clip, directions, sequence_lens, layout; float32 with constant weights: one GEMM for the input projection, a GEMV per step, fused SIMD gates',
    attrs: rnnAttrs(kind),
    infer: inferRnn(kind),
    variants: [
      {
        name: 'gemm-gemv',
        applies: rnnF32Applies,
        scratch: (ctx) => rnnF32Scratch(dims(ctx, kind), ctx.has('simd128')),
        emit: (ctx) => emitRnnF32(kind, ctx, dims(ctx, kind)),
      },
      {
        name: 'generic',
        applies: () => true,
        scratch(ctx) {
          const d = dims(ctx, kind);
          return (2 + d.G) * d.H * 8;
        },
        emit: (ctx) => emitRnn(kind, ctx),
      },
    ],
  });
}

export const RNN = rnnOp('RNN', 1);
export const GRU = rnnOp('GRU', 1);
export const LSTM = rnnOp('LSTM', 1);
