// Binary and variadic arithmetic with numpy broadcasting: Add Sub Mul Div Pow Mod Max Min Sum Mean, BitShift,
// BitwiseAnd/Or/Xor. Also the helpers the other elementwise families share (broadcast inference, the legacy
// opset<7 `broadcast`/`axis` attributes, per-dtype instruction choice).

import { broadcastShapes, emitElementwise, type ElementwiseSpec } from '../codegen/elementwise.js';
import { callMath } from '../codegen/mathlib.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { FLOATS, INTS, NUMERIC, isFloat, readNumber, type DType } from '../src/ir/dtype.js';
import { numel, type Shape } from '../src/ir/graph.js';
import { divInt, foldInts, modInt } from './elementwise-fold.js';
import { defineOp, type EmitCtx, type InferCtx, type InputInfo, type OpDef, type Operand, type TensorInfo } from './types.js';

// --- shared helpers -------------------------------------------------------------------------------------------

export const isUnsigned = (dt: DType) => dt.startsWith('uint') || dt === 'bool';
export const SIGNED_INTS: DType[] = ['int8', 'int16', 'int32', 'int64'];

/** Instruction namespace of a dtype's compute type (float16/bfloat16 -> f32, small ints -> i32). */
export function ns(k: Kernel, dt: DType) {
  return k[computeType(dt) as 'f32'] as Kernel['f32'] & Kernel['i32'] & Kernel['f64'] & Kernel['i64'];
}
export const floatT = (dt: DType) => (computeType(dt) === 'f64' ? 'f64' : 'f32');

/** a < b (or >, <=, >=) for any dtype, as an i32 0/1. */
export function compare(k: Kernel, op: 'lt' | 'gt' | 'le' | 'ge' | 'eq' | 'ne', a: Expr, b: Expr, dt: DType): Expr {
  const n = ns(k, dt) as unknown as Record<string, (a: Expr, b: Expr) => Expr>;
  if (isFloat(dt) || op === 'eq' || op === 'ne') return n[op](a, b);
  return n[`${op}_${isUnsigned(dt) ? 'u' : 's'}`](a, b);
}

/** max/min for any dtype; floats propagate NaN. */
export function minMax(k: Kernel, op: 'max' | 'min', a: Expr, b: Expr, dt: DType): Expr {
  if (isFloat(dt)) return ns(k, dt)[op](a, b);
  const t = computeType(dt);
  const al = k.local(t), bl = k.local(t);
  return k.block([
    al.set(a), bl.set(b),
    k.select(compare(k, op === 'max' ? 'gt' : 'lt', al.get(), bl.get(), dt), al.get(), bl.get()),
  ], t);
}

/** Output shape of a multidirectional broadcast, or a clear error. */
export function broadcastOrFail(ctx: InferCtx<unknown>, ins: readonly { shape: Shape }[]): Shape {
  const shape = broadcastShapes(ins.map((i) => i.shape));
  if (!shape) ctx.fail(`input shapes ${ins.map((i) => `[${i.shape}]`).join(', ')} do not broadcast`);
  return shape!;
}

export function sameDtypes(ctx: InferCtx<unknown>, ins: InputInfo[], allowed: readonly DType[]): DType {
  for (const i of ins) if (i.dtype !== ins[0].dtype) ctx.fail(`inputs have different dtypes (${ins.map((x) => x.dtype).join(', ')})`);
  if (!allowed.includes(ins[0].dtype)) ctx.fail(`dtype ${ins[0].dtype} is not supported (${allowed.join(', ')})`);
  return ins[0].dtype;
}

/**
 * Before opset 7, binary ops broadcast only B onto A, and only with broadcast=1: B is a scalar/one element or
 * a contiguous run of A's dims starting at `axis` (default: the trailing dims). Returns B's shape padded to A's rank.
 */
export function legacyBShape(ctx: InferCtx<unknown> | EmitCtx<unknown>, a: Shape, b: Shape): Shape {
  const attrs = ctx.node.attrs;
  if (!attrs.broadcast) {
    if (a.join() !== b.join()) ctx.fail(`shapes [${a}] and [${b}] differ and broadcast is not set (opset ${ctx.opset})`);
    return b;
  }
  if (numel(b) === 1) return a.map(() => 1);
  const axis = typeof attrs.axis === 'number' ? (attrs.axis < 0 ? attrs.axis + a.length : attrs.axis) : a.length - b.length;
  // (size-1 dims of B also broadcast: exporters such as PyTorch's relied on that)
  if (axis < 0 || axis + b.length > a.length || b.some((d, i) => a[axis + i] !== d && d !== 1)) {
    ctx.fail(`B's shape [${b}] is not a contiguous part of A's shape [${a}] at axis ${axis}`);
  }
  return a.map((_, i) => (i >= axis && i < axis + b.length ? b[i - axis] : 1));
}

/** Operands of a binary node, with B reshaped by the legacy rule below opset 7. */
export function binaryOperands(ctx: EmitCtx<unknown>): Operand[] {
  const [a, b] = [ctx.inputs[0]!, ctx.inputs[1]!];
  if (ctx.opset >= 7) return [a, b];
  const shape = legacyBShape(ctx, a.shape, b.shape);
  return [a, { name: b.name, dtype: b.dtype, shape, const: b.const, get ptr() { return b.ptr; } }];
}

/** Output shape of a binary op: A's shape under the legacy rule (after checking B), else numpy broadcasting. */
function binaryShape(ctx: InferCtx<unknown>, a: Shape, b: Shape): Shape {
  if (ctx.opset >= 7) return broadcastOrFail(ctx, [{ shape: a }, { shape: b }]);
  legacyBShape(ctx, a, b);
  return a;
}

/** Inference for a binary op: both dtypes in `allowed` and equal; output dtype `out` (default: the input's). */
export function inferBinary(allowed: readonly DType[], out?: DType) {
  return (ctx: InferCtx<unknown>): TensorInfo[] => {
    const ins = [ctx.inputs[0], ctx.inputs[1]];
    if (!ins[0] || !ins[1]) ctx.fail('needs two inputs');
    const dt = sameDtypes(ctx, ins as InputInfo[], allowed);
    return [{ dtype: out ?? dt, shape: binaryShape(ctx, ins[0]!.shape, ins[1]!.shape) }];
  };
}

/** The single value of a constant input whose elements are all equal, else undefined. */
export function uniformConst(op: Operand | InputInfo | undefined): number | undefined {
  const t = op?.const;
  if (!t || t.data.length === 0) return undefined;
  const v = readNumber(t.dtype, t.data, 0);
  for (let i = 1; i < t.data.length; i++) if (!Object.is(readNumber(t.dtype, t.data, i), v)) return undefined;
  return v;
}

// --- arithmetic ----------------------------------------------------------------------------------------------

function arith(k: Kernel, op: 'add' | 'sub' | 'mul', a: Expr, b: Expr, dt: DType): Expr {
  return k.normalize(ns(k, dt)[op](a, b), dt);
}

/** Integer division that never traps: x/0 -> 0, INT_MIN/-1 wraps. */
function intDiv(k: Kernel, a: Expr, b: Expr, dt: DType): Expr {
  const t = computeType(dt);
  const I = ns(k, dt);
  const al = k.local(t), bl = k.local(t);
  const zero = k.const(t, 0), one = k.const(t, 1), minus1 = k.const(t, -1);
  const safe = () => k.select(I.eqz(bl.get()), one, bl.get());
  const q = isUnsigned(dt) ? I.div_u(al.get(), safe())
    // b == -1: negate (wrapping) instead of dividing, which would trap on INT_MIN
    : k.select(I.eq(bl.get(), minus1), I.sub(zero, al.get()), I.div_s(al.get(), safe()));
  return k.normalize(k.block([al.set(a), bl.set(b), k.select(I.eqz(bl.get()), k.const(t, 0), q)], t), dt);
}

/** ONNX Mod: fmod=1 keeps the dividend's sign (C fmod / %), fmod=0 the divisor's (Python %). x mod 0 = 0 for ints. */
function modulo(k: Kernel, a: Expr, b: Expr, dt: DType, fmod: boolean): Expr {
  const t = computeType(dt);
  const r = k.local(t), bl = k.local(t);
  if (isFloat(dt)) {
    const F = ns(k, dt);
    const rem = callMath(k, 'fmod', [a, bl.tee(b)], floatT(dt));
    if (fmod) return rem;
    const zero = k.const(t, 0);
    return k.block([
      r.set(rem),
      k.select(k.i32.and(F.ne(r.get(), zero), k.i32.ne(F.lt(r.get(), zero), F.lt(bl.get(), zero))), F.add(r.get(), bl.get()), r.get()),
    ], t);
  }
  const I = ns(k, dt);
  const zero = k.const(t, 0);
  const safe = k.select(I.eqz(bl.get()), k.const(t, 1), bl.get());
  const rem = isUnsigned(dt) ? I.rem_u(a, safe) : I.rem_s(a, safe);
  const stmts = [bl.set(b), r.set(k.select(I.eqz(bl.get()), zero, rem))];
  if (fmod || isUnsigned(dt)) return k.block([...stmts, r.get()], t);
  // Python: a nonzero remainder whose sign differs from the divisor's moves by one divisor
  const fix = k.i32.and(I.ne(r.get(), zero), I.lt_s(I.xor(r.get(), bl.get()), zero));
  return k.normalize(k.block([...stmts, k.select(fix, I.add(r.get(), bl.get()), r.get())], t), dt);
}

function binaryOp(op: string, since: number, allowed: readonly DType[], name: string,
  scalar: (k: Kernel, a: Expr, b: Expr, dt: DType) => Expr, simd?: (k: Kernel, a: Expr, b: Expr) => Expr,
  fold?: (a: bigint, b: bigint) => bigint): OpDef {
  return defineOp({
    op, since, dtypes: allowed, inPlace: true, elementwise: true,
    notes: since < 7 ? 'opset < 7: broadcast/axis attributes' : undefined,
    infer: inferBinary(allowed),
    evaluate: fold && ((ctx) => foldInts(ctx, ctx.inputs[0]!.dtype, ([a, b]) => fold(a, b))),
    emit(ctx) {
      emitElementwise(ctx, {
        name,
        scalar: (k, [a, b], dts) => scalar(k, a, b, dts[0]),
        simd: simd && ((k, [a, b]) => simd(k, a, b)),
      }, binaryOperands(ctx));
    },
  });
}

export const Add = binaryOp('Add', 1, NUMERIC, 'add', (k, a, b, dt) => arith(k, 'add', a, b, dt), (k, a, b) => k.f32x4.add(a, b), (a, b) => a + b);
export const Sub = binaryOp('Sub', 1, NUMERIC, 'sub', (k, a, b, dt) => arith(k, 'sub', a, b, dt), (k, a, b) => k.f32x4.sub(a, b), (a, b) => a - b);
export const Mul = binaryOp('Mul', 1, NUMERIC, 'mul', (k, a, b, dt) => arith(k, 'mul', a, b, dt), (k, a, b) => k.f32x4.mul(a, b), (a, b) => a * b);
export const Div = binaryOp('Div', 1, NUMERIC, 'div',
  (k, a, b, dt) => (isFloat(dt) ? ns(k, dt).div(a, b) : intDiv(k, a, b, dt)), (k, a, b) => k.f32x4.div(a, b), divInt);

export const Mod = defineOp<{ fmod: boolean }>({
  op: 'Mod', since: 10, dtypes: NUMERIC,
  notes: 'float with fmod=0 uses the divisor\'s sign (like integers)',
  attrs: (a) => ({ fmod: a.int('fmod', 0) === 1 }),
  infer: inferBinary(NUMERIC),
  evaluate: (ctx) => foldInts(ctx, ctx.inputs[0]!.dtype, ([a, b]) => modInt(a, b, ctx.attrs.fmod)),
  emit(ctx) {
    const { fmod } = ctx.attrs;
    emitElementwise(ctx, { name: `mod:${fmod}`, scalar: (k, [a, b], [dt]) => modulo(k, a, b, dt, fmod) });
  },
});

// --- BitShift and bitwise ops ---------------------------------------------------------------------------------

const UINTS: DType[] = ['uint8', 'uint16', 'uint32', 'uint64'];
const BITS: Record<string, number> = { uint8: 8, uint16: 16, uint32: 32, uint64: 64 };

export const BitShift = defineOp<{ left: boolean }>({
  op: 'BitShift', since: 11, dtypes: UINTS,
  attrs(a) {
    const d = a.string('direction');
    if (d !== 'LEFT' && d !== 'RIGHT') throw new Error(`direction must be LEFT or RIGHT, got ${d}`);
    return { left: d === 'LEFT' };
  },
  infer: inferBinary(UINTS),
  evaluate: (ctx) => foldInts(ctx, ctx.inputs[0]!.dtype, ([x, y]) => (ctx.attrs.left ? x << y : x >> y)),
  emit(ctx) {
    const { left } = ctx.attrs;
    emitElementwise(ctx, {
      name: `shift:${left}`,
      scalar(k, [x, y], [dt]) {
        // shifting by the width or more gives 0 (wasm would take the amount modulo the width)
        const t = computeType(dt);
        const I = ns(k, dt);
        const yl = k.local(t);
        const shifted = left ? I.shl(x, yl.get()) : I.shr_u(x, yl.get());
        return k.block([yl.set(y), k.select(I.lt_u(yl.get(), k.const(t, BITS[dt])), k.normalize(shifted, dt), k.const(t, 0))], t);
      },
    });
  },
});

const BIT_FOLD = { and: (a: bigint, b: bigint) => a & b, or: (a: bigint, b: bigint) => a | b, xor: (a: bigint, b: bigint) => a ^ b };
function bitwise(op: string, fn: 'and' | 'or' | 'xor'): OpDef {
  return binaryOp(op, 18, INTS, fn, (k, a, b, dt) => ns(k, dt)[fn](a, b), undefined, BIT_FOLD[fn]);
}
export const BitwiseAnd = bitwise('BitwiseAnd', 'and');
export const BitwiseOr = bitwise('BitwiseOr', 'or');
export const BitwiseXor = bitwise('BitwiseXor', 'xor');

// --- Pow ---------------------------------------------------------------------------------------------------------

const POW_BASE: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64'];

/** x^y computed in f64 (exact for small integral powers), converted to the base's dtype. */
function powScalar(k: Kernel, x: Expr, y: Expr, xt: DType, yt: DType): Expr {
  const xf = k.cast(x, xt, 'float64');
  const yf = k.cast(y, yt, 'float64');
  return k.cast(callMath(k, 'pow', [xf, yf], 'f64'), 'float64', xt);
}

/** Pow with one constant exponent for every element: cheaper forms. */
function constPow(e: number): ElementwiseSpec | undefined {
  const square = (k: Kernel, x: Expr, mul: (a: Expr, b: Expr) => Expr, t: 'f32' | 'f64' | 'v128') => {
    const l = k.local(t);
    return k.block([l.set(x), mul(l.get(), l.get())], t);
  };
  switch (e) {
    case 1: return { name: 'pow1', scalar: (_k, [x]) => x, simd: (_k, [x]) => x };
    case 2: return { name: 'pow2', scalar: (k, [x], [dt]) => square(k, x, ns(k, dt).mul, floatT(dt)), simd: (k, [x]) => square(k, x, k.f32x4.mul, 'v128') };
    // sqrt(-0) is -0 but pow(-0, 0.5) is +0: adding +0 fixes the sign
    case 0.5: return { name: 'pow.5', scalar: (k, [x], [dt]) => ns(k, dt).add(ns(k, dt).sqrt(x), k.const(floatT(dt), 0)), simd: (k, [x]) => k.f32x4.add(k.f32x4.sqrt(x), k.f32x4.splat(k.cf32(0))) };
    case -1: return { name: 'pow-1', scalar: (k, [x], [dt]) => ns(k, dt).div(k.const(floatT(dt), 1), x), simd: (k, [x]) => k.f32x4.div(k.f32x4.splat(k.cf32(1)), x) };
    default: return undefined;
  }
}

export const Pow = defineOp({
  op: 'Pow', since: 1, dtypes: POW_BASE,
  notes: 'exponent of any numeric dtype since opset 12; computed in float64',
  infer(ctx) {
    const [x, y] = [ctx.inputs[0], ctx.inputs[1]];
    if (!x || !y) ctx.fail('needs two inputs');
    if (!POW_BASE.includes(x!.dtype)) ctx.fail(`base dtype ${x!.dtype} is not supported`);
    if (!NUMERIC.includes(y!.dtype)) ctx.fail(`exponent dtype ${y!.dtype} is not supported`);
    if (ctx.opset < 12 && x!.dtype !== y!.dtype) ctx.fail(`base and exponent dtypes differ (${x!.dtype}, ${y!.dtype}) before opset 12`);
    return [{ dtype: x!.dtype, shape: binaryShape(ctx, x!.shape, y!.shape) }];
  },
  emit(ctx) {
    const [x, y] = binaryOperands(ctx);
    const e = uniformConst(y);
    const fast = e !== undefined && isFloat(x.dtype) && x.shape.join() === ctx.outputs[0].shape.join() ? constPow(e) : undefined;
    if (fast) return emitElementwise(ctx, fast, [x]);
    emitElementwise(ctx, { name: 'pow', scalar: (k, [a, b], [xt, yt]) => powScalar(k, a, b, xt, yt) }, [x, y]);
  },
});

// --- variadic: Max Min Sum Mean ----------------------------------------------------------------------------------

function variadic(op: string, allowed: (opset: number) => readonly DType[], fold: (k: Kernel, a: Expr, b: Expr, dt: DType) => Expr,
  simdFold: ((k: Kernel, a: Expr, b: Expr) => Expr) | undefined, finish?: 'mean', intFold?: (a: bigint, b: bigint) => bigint): OpDef {
  return defineOp({
    op, since: 1, dtypes: allowed(99), inPlace: true, elementwise: true,
    evaluate: intFold && ((ctx) => foldInts(ctx, ctx.inputs.find(Boolean)!.dtype, (args) => args.reduce(intFold))),
    infer(ctx) {
      const ins = ctx.inputs.filter(Boolean) as InputInfo[];
      if (!ins.length) ctx.fail('needs at least one input');
      const dt = sameDtypes(ctx, ins, allowed(ctx.opset));
      return [{ dtype: dt, shape: broadcastOrFail(ctx, ins) }];
    },
    emit(ctx) {
      const n = ctx.inputs.filter(Boolean).length;
      emitElementwise(ctx, {
        name: `${op}${n}`,
        scalar(k, args, [dt]) {
          let acc = args.reduce((a, b) => fold(k, a, b, dt));
          if (finish) acc = ns(k, dt).div(acc, k.const(floatT(dt), n));
          return acc;
        },
        simd: simdFold && ((k, args) => {
          const acc = args.reduce((a, b) => simdFold(k, a, b));
          return finish ? k.f32x4.div(acc, k.f32x4.splat(k.cf32(n))) : acc;
        }),
      });
    },
  });
}

const maxMinTypes = (opset: number) => (opset >= 12 ? NUMERIC : FLOATS);
export const Max = variadic('Max', maxMinTypes, (k, a, b, dt) => minMax(k, 'max', a, b, dt), (k, a, b) => k.f32x4.max(a, b), undefined, (a, b) => (a > b ? a : b));
export const Min = variadic('Min', maxMinTypes, (k, a, b, dt) => minMax(k, 'min', a, b, dt), (k, a, b) => k.f32x4.min(a, b), undefined, (a, b) => (a < b ? a : b));
export const Sum = variadic('Sum', () => FLOATS, (k, a, b, dt) => ns(k, dt).add(a, b), (k, a, b) => k.f32x4.add(a, b));
export const Mean = variadic('Mean', () => FLOATS, (k, a, b, dt) => ns(k, dt).add(a, b), (k, a, b) => k.f32x4.add(a, b), 'mean');
