// Control flow. If, Loop and Scan are resolved by src/passes/control-flow.ts (inlined, unrolled, or laid out as
// regions between the markers below); the definitions here register them and document what compiles.
// The markers (domain onnx2wasm.control) exist only after flattening: IfBegin/IfElse/IfEnd and
// LoopBegin/LoopEnd structure run() (wasm if/else and loop blocks); LoopInit, LoopNext, ScanRead and Copy move
// loop-carried values, iteration counters and scan slices between planned buffers.

import { CompileError } from '../src/errors.js';
import { ALL_DTYPES, DTYPE_SIZE } from '../src/ir/dtype.js';
import { byteSize, numel, type Shape } from '../src/ir/graph.js';
import type { Expr } from '../codegen/wasm.js';
import { defineOp, type EmitCtx, type OpDef } from './types.js';

export const CONTROL_DOMAIN = 'onnx2wasm.control';

/** An op the control-flow pass resolves before inference reaches it: registered for checking and docs. */
const resolvedByPass = (op: string, since: number, notes: string) => {
  const unresolved = (): never => {
    throw new CompileError('INTERNAL', `${op} reached inference or codegen unresolved (the control-flow pass handles it)`);
  };
  return defineOp({ op, since, dtypes: ALL_DTYPES, notes, infer: unresolved, emit: unresolved });
};

export const If = resolvedByPass('If', 1,
  'condition known at compile time (constant, folded, or an input bound with --constant): the taken branch is inlined. ' +
  'Run-time condition: a wasm if/else running one branch, when both branches give outputs of the same dtypes and shapes; ' +
  'otherwise a DATA_DEPENDENT error naming the input to bind. Sequence/optional outputs are not supported.');

export const Loop = resolvedByPass('Loop', 1,
  'a wasm loop over the body with loop-carried values of static shape in planned buffers; trip count and condition ' +
  'may be run-time values. Scan outputs need a compile-time trip count and a condition that stays true. Small folded ' +
  'loops, and counted loops whose body shapes depend on the iteration number, are unrolled. Sequence-carried values are not supported.');

export const Scan = resolvedByPass('Scan', 8,
  'opset 8 (batch axis, sequence_lens equal to the length) and 9+ (axes, directions): a wasm loop over the body; ' +
  'small scans, and bodies whose shapes depend on the iteration, are unrolled');

// --- markers and data movement (created by flattenControlFlow) ---

const marker = (op: string, region: OpDef['region'], emit: (ctx: EmitCtx<unknown>) => void) => defineOp({
  op, domain: CONTROL_DOMAIN, since: 1, dtypes: ALL_DTYPES, region, notes: 'internal: structures run()',
  infer: () => [], emit,
});

export const IfBegin = marker('IfBegin', 'open', (ctx) => ctx.openBody());
export const IfElse = marker('IfElse', undefined, (ctx) => ctx.openBody());
export const IfEnd = marker('IfEnd', 'close', (ctx) => ctx.closeIf(ctx.inputs[0]!.ptr));
export const LoopBegin = marker('LoopBegin', 'open', (ctx) => ctx.openBody());
export const LoopEnd = marker('LoopEnd', 'close', (ctx) => ctx.closeLoop(ctx.inputs[0]!.ptr));

/** copy(dst, src) of a fixed byte count; nothing when both are the same buffer. */
function copyBytes(ctx: EmitCtx<unknown>, dst: number, src: number, bytes: number): void {
  if (dst === src || bytes <= 0) return;
  const fn = ctx.kernel(`copy:${bytes}`, ['i32', 'i32'], (k) => k.copy(k.params[0].get(), k.params[1].get(), bytes));
  ctx.call(fn, [dst, src]);
}

export const Copy = defineOp({
  op: 'Copy', domain: CONTROL_DOMAIN, since: 1, dtypes: ALL_DTYPES, notes: 'internal: a branch output into the If output',
  infer: (ctx) => [{ dtype: ctx.inputs[0]!.dtype, shape: ctx.inputs[0]!.shape }],
  emit(ctx) {
    const x = ctx.inputs[0]!;
    copyBytes(ctx, ctx.outputs[0].ptr, x.ptr, byteSize(x.dtype, x.shape));
  },
});

/**
 * LoopInit(trip?, cond?, states...) -> (iter, cond_in, go, states..., scan outputs...): iter = 0, cond_in = cond
 * (true when absent), go = cond_in && 0 < trip, the states copied from their initial values. Scan outputs are
 * named here so that their buffers live through the loop; LoopNext fills them.
 */
export const LoopInit = defineOp<{ states: number }>({
  op: 'LoopInit', domain: CONTROL_DOMAIN, since: 1, dtypes: ALL_DTYPES, notes: 'internal: loop counters and carried values',
  attrs: (a) => ({ states: a.int('states') }),
  infer: (ctx) => ctx.fail('is created after inference'),
  emit(ctx) {
    const [trip, cond, ...states] = ctx.inputs;
    const [iter, condIn, go, ...outs] = ctx.outputs;
    const fn = ctx.kernel(`loop_init:${!!trip}:${!!cond}`, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [ip, cp, gp, tp, c0] = k.params;
      return [
        k.i64.store(0, 8, ip.get(), k.c64(0)),
        k.i32.store8(0, 1, cp.get(), cond ? k.i32.ne(k.i32.load8_u(0, 1, c0.get()), k.c32(0)) : k.c32(1)),
        k.i32.store8(0, 1, gp.get(), trip ? k.i32.and(k.i32.load8_u(0, 1, cp.get()), k.i64.gt_s(k.i64.load(0, 8, tp.get()), k.c64(0))) : k.i32.load8_u(0, 1, cp.get())),
      ];
    });
    ctx.call(fn, [iter.ptr, condIn.ptr, go.ptr, trip?.ptr ?? 0, cond?.ptr ?? 0]);
    states.forEach((s, i) => copyBytes(ctx, outs[i].ptr, s!.ptr, byteSize(s!.dtype, s!.shape)));
  },
});

interface NextAttrs { states: number; axes: number[]; reverse: number[] }

/** Bytes of the loop-carried values: LoopNext's scratch, for states whose new value is another state's buffer. */
const carriedBytes = (states: { dtype: keyof typeof DTYPE_SIZE; shape: Shape }[]) => states.reduce((a, s) => a + byteSize(s.dtype, s.shape), 0);

/**
 * LoopNext(iter, trip?, cond_out?, cond_in, go, new states..., states..., scan values..., scan outputs...):
 * writes this iteration's scan values at row `iter` of their outputs (along each one's axis, from the end when
 * reversed), moves the new states into the state buffers, then iter += 1, cond_in = cond_out and
 * go = cond_out && iter < trip.
 */
export const LoopNext = defineOp<NextAttrs>({
  op: 'LoopNext', domain: CONTROL_DOMAIN, since: 1, dtypes: ALL_DTYPES, notes: 'internal: end of a loop iteration',
  attrs: (a) => ({ states: a.int('states'), axes: a.ints('axes', []), reverse: a.ints('reverse', []) }),
  infer: (ctx) => ctx.fail('is created after inference'),
  scratch: (ctx) => carriedBytes(ctx.inputs.slice(5, 5 + ctx.attrs.states) as never),
  emit(ctx) {
    const n = ctx.attrs.states;
    const [iter, trip, condOut, condIn, go] = ctx.inputs;
    const news = ctx.inputs.slice(5, 5 + n), states = ctx.inputs.slice(5 + n, 5 + 2 * n);
    const k2 = (ctx.inputs.length - 5 - 2 * n) / 2;
    const values = ctx.inputs.slice(5 + 2 * n, 5 + 2 * n + k2), stacks = ctx.inputs.slice(5 + 2 * n + k2);
    values.forEach((v, j) => {
      const out = stacks[j]!;
      const axis = ctx.attrs.axes[j] ?? 0;
      emitRow(ctx, 'write', v!.ptr, out.ptr, iter!.ptr, out.shape, axis, DTYPE_SIZE[out.dtype], !!ctx.attrs.reverse[j]);
    });
    // A new state that is another state's buffer (a swap) is saved first, so that no copy reads a written buffer.
    const dsts = new Set(states.map((s) => s!.ptr));
    let at = 0;
    const moves = news.map((v, i) => {
      const bytes = byteSize(v!.dtype, v!.shape);
      if (v!.ptr !== states[i]!.ptr && dsts.has(v!.ptr)) {
        const saved = ctx.scratch() + at;
        at += bytes;
        copyBytes(ctx, saved, v!.ptr, bytes);
        return { src: saved, dst: states[i]!.ptr, bytes };
      }
      return { src: v!.ptr, dst: states[i]!.ptr, bytes };
    });
    for (const m of moves) copyBytes(ctx, m.dst, m.src, m.bytes);
    const fn = ctx.kernel(`loop_next:${!!trip}:${!!condOut}`, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [ip, tp, co, cp, gp] = k.params;
      const i = k.local('i64');
      return [
        i.set(k.i64.add(k.i64.load(0, 8, ip.get()), k.c64(1))),
        k.i64.store(0, 8, ip.get(), i.get()),
        k.i32.store8(0, 1, cp.get(), condOut ? k.i32.ne(k.i32.load8_u(0, 1, co.get()), k.c32(0)) : k.c32(1)),
        k.i32.store8(0, 1, gp.get(), trip ? k.i32.and(k.i32.load8_u(0, 1, cp.get()), k.i64.lt_s(i.get(), k.i64.load(0, 8, tp.get()))) : k.i32.load8_u(0, 1, cp.get())),
      ];
    });
    ctx.call(fn, [iter!.ptr, trip?.ptr ?? 0, condOut?.ptr ?? 0, condIn!.ptr, go!.ptr]);
  },
});

/** ScanRead(iter, x) -> slice: row `iter` of x along axis (from the end when reversed). */
export const ScanRead = defineOp<{ axis: number; reverse: number }>({
  op: 'ScanRead', domain: CONTROL_DOMAIN, since: 1, dtypes: ALL_DTYPES, notes: 'internal: one step of a scan input',
  attrs: (a) => ({ axis: a.int('axis'), reverse: a.int('reverse') }),
  infer: (ctx) => ctx.fail('is created after inference'),
  emit(ctx) {
    const [iter, x] = ctx.inputs;
    emitRow(ctx, 'read', ctx.outputs[0].ptr, x!.ptr, iter!.ptr, x!.shape, ctx.attrs.axis, DTYPE_SIZE[x!.dtype], !!ctx.attrs.reverse);
  },
});

/**
 * Moves one row (index = the int64 at iterPtr, or T-1 minus it) of a stacked tensor along `axis` to or from a
 * dense slice: outer blocks of `inner` bytes at stride T*inner.
 */
function emitRow(ctx: EmitCtx<unknown>, dir: 'read' | 'write', slice: number, stacked: number, iterPtr: number, shape: Shape, axis: number, esz: number, reverse: boolean): void {
  const T = shape[axis];
  const outer = numel(shape.slice(0, axis));
  const inner = numel(shape.slice(axis + 1)) * esz;
  if (!T || !outer || !inner) return;
  const fn = ctx.kernel(`scan_${dir}:${outer}:${T}:${inner}:${reverse}`, ['i32', 'i32', 'i32'], (k) => {
    const [sp, xp, ip] = k.params;
    const row = k.local('i32');
    const idx: Expr = k.i32.wrap(k.i64.load(0, 8, ip.get()));
    return [
      row.set(k.i32.mul(reverse ? k.i32.sub(k.c32(T - 1), idx) : idx, k.c32(inner))),
      k.loop(0, outer, (o) => {
        const s = k.i32.add(sp.get(), k.i32.mul(o.get(), k.c32(inner)));
        const x = k.i32.add(xp.get(), k.i32.add(row.get(), k.i32.mul(o.get(), k.c32(T * inner))));
        return dir === 'read' ? k.copy(s, x, inner) : k.copy(x, s, inner);
      }),
    ];
  });
  ctx.call(fn, [slice, stacked, iterPtr]);
}
