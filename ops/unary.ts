// Unary elementwise operators: Abs Neg Exp Log Sqrt Reciprocal Floor Ceil Round Sign, trigonometric and hyperbolic
// functions, Erf, IsNaN IsInf Not BitwiseNot. Also the unary factory that ops/activations.ts builds on.

import { emitElementwise } from '../codegen/elementwise.js';
import { callExp, callFast, callMath, simdFast, type MathFn } from '../codegen/mathlib.js';
import { computeType, type Expr, type Kernel, type WType } from '../codegen/wasm.js';
import { FLOATS, INTS, NUMERIC, isFloat, type DType } from '../src/ir/dtype.js';
import type { Node } from '../src/ir/graph.js';
import { defineOp, type AttrReader, type OpDef } from './types.js';
import { compare, floatT, isUnsigned, ns, SIGNED_INTS } from './elementwise.js';
import { foldInts } from './elementwise-fold.js';

export interface UnarySpec<A> {
  op: string;
  since: number;
  dtypes: readonly DType[];
  notes?: string;
  attrs?(a: AttrReader, opset: number, node: Node): A;
  /** Kernel key part for the attributes the body depends on. */
  key?(a: A): string;
  /** Output dtype (default: the input's). */
  out?: DType;
  /** x is in computeType(dt); returns the output's compute value. */
  scalar(k: Kernel, x: Expr, dt: DType, a: A): Expr;
  /** f32x4 body for float32. */
  simd?(k: Kernel, v: Expr, a: A): Expr;
  /** Constant folding for integer/bool inputs (the result is wrapped to the output dtype). */
  fold?(x: bigint, a: A): bigint;
}

export function unaryOp<A = undefined>(s: UnarySpec<A>): OpDef<A> {
  return defineOp<A>({
    op: s.op, since: s.since, dtypes: s.dtypes, notes: s.notes, inPlace: true, elementwise: true,
    attrs: s.attrs,
    infer(ctx) {
      const x = ctx.inputs[0];
      if (!x) ctx.fail('input X is required');
      if (!s.dtypes.includes(x!.dtype)) ctx.fail(`dtype ${x!.dtype} is not supported (${s.dtypes.join(', ')})`);
      return [{ dtype: s.out ?? x!.dtype, shape: x!.shape }];
    },
    evaluate: s.fold && ((ctx) => foldInts(ctx, s.out ?? ctx.inputs[0]!.dtype, ([x]) => s.fold!(x, ctx.attrs))),
    emit(ctx) {
      const a = ctx.attrs;
      emitElementwise(ctx, {
        name: `${s.op}${s.key ? `:${s.key(a)}` : ''}`,
        scalar: (k, [x], [dt]) => s.scalar(k, x, dt, a),
        simd: s.simd && ((k, [v]) => s.simd!(k, v, a)),
      }, [ctx.inputs[0]!]);
    },
  });
}

/** Float helpers for a dtype: namespace, constants in its compute type, accurate math calls. */
export function fl(k: Kernel, dt: DType) {
  const t: 'f32' | 'f64' = floatT(dt);
  return {
    t, F: ns(k, dt),
    c: (v: number) => k.const(t, v),
    math: (fn: MathFn, ...args: Expr[]) => callMath(k, fn, args, t),
  };
}

/** A float body reading x several times: x is bound to a local, f gets the float helpers and a reader. */
export function withX(k: Kernel, x: Expr, dt: DType, f: (h: ReturnType<typeof fl>, v: () => Expr) => Expr, result?: WType): Expr {
  const h = fl(k, dt);
  const l = k.local(h.t);
  return k.block([l.set(x), f(h, () => l.get())], result ?? h.t);
}

/** The same for an f32x4 value. */
export function withV(k: Kernel, v: Expr, f: (v: () => Expr) => Expr): Expr {
  const l = k.local('v128');
  return k.block([l.set(v), f(() => l.get())], 'v128');
}

/** An op on float dtypes computed by an accurate math-library function. */
function mathUnary(op: string, since: number, fn: MathFn): OpDef {
  return unaryOp({ op, since, dtypes: FLOATS, scalar: (k, x, dt) => callMath(k, fn, [x], floatT(dt)) });
}

const v4 = (k: Kernel, v: number) => k.f32x4.splat(k.cf32(v));

export const Abs = unaryOp({
  op: 'Abs', since: 1, dtypes: NUMERIC,
  scalar(k, x, dt) {
    if (isFloat(dt)) return ns(k, dt).abs(x);
    if (isUnsigned(dt)) return x;
    const t = computeType(dt);
    const l = k.local(t);
    return k.block([l.set(x), k.select(compare(k, 'lt', l.get(), k.const(t, 0), dt), k.normalize(ns(k, dt).sub(k.const(t, 0), l.get()), dt), l.get())], t);
  },
  simd: (k, v) => k.f32x4.abs(v),
  fold: (x) => (x < 0n ? -x : x),
});

export const Neg = unaryOp({
  op: 'Neg', since: 1, dtypes: [...FLOATS, ...SIGNED_INTS],
  scalar: (k, x, dt) => (isFloat(dt) ? ns(k, dt).neg(x) : k.normalize(ns(k, dt).sub(k.const(computeType(dt), 0), x), dt)),
  simd: (k, v) => k.f32x4.neg(v),
  fold: (x) => -x,
});

export const Exp = unaryOp({
  op: 'Exp', since: 1, dtypes: FLOATS,
  scalar: (k, x, dt) => callExp(k, x, floatT(dt)),
  simd: (k, v) => simdFast(k, 'exp', v),
});
export const Log = mathUnary('Log', 1, 'log');

export const Sqrt = unaryOp({
  op: 'Sqrt', since: 1, dtypes: FLOATS, scalar: (k, x, dt) => ns(k, dt).sqrt(x), simd: (k, v) => k.f32x4.sqrt(v),
});
export const Reciprocal = unaryOp({
  op: 'Reciprocal', since: 1, dtypes: FLOATS,
  scalar: (k, x, dt) => ns(k, dt).div(fl(k, dt).c(1), x), simd: (k, v) => k.f32x4.div(v4(k, 1), v),
});
export const Floor = unaryOp({ op: 'Floor', since: 1, dtypes: FLOATS, scalar: (k, x, dt) => ns(k, dt).floor(x), simd: (k, v) => k.f32x4.floor(v) });
export const Ceil = unaryOp({ op: 'Ceil', since: 1, dtypes: FLOATS, scalar: (k, x, dt) => ns(k, dt).ceil(x), simd: (k, v) => k.f32x4.ceil(v) });
/** Round half to even: wasm's `nearest`. */
export const Round = unaryOp({ op: 'Round', since: 11, dtypes: FLOATS, scalar: (k, x, dt) => ns(k, dt).nearest(x), simd: (k, v) => k.f32x4.nearest(v) });

export const Sign = unaryOp({
  op: 'Sign', since: 9, dtypes: NUMERIC,
  scalar(k, x, dt) {
    const t = computeType(dt);
    const l = k.local(t);
    const zero = k.const(t, 0);
    if (isUnsigned(dt)) return k.block([l.set(x), k.select(compare(k, 'ne', l.get(), zero, dt), k.const(t, 1), zero)], t);
    // floats: NaN and +-0 pass through unchanged
    const fallback = isFloat(dt) ? l.get() : zero;
    return k.block([l.set(x),
      k.select(compare(k, 'gt', l.get(), zero, dt), k.const(t, 1), k.select(compare(k, 'lt', l.get(), zero, dt), k.const(t, -1), fallback)),
    ], t);
  },
  fold: (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n),
});

export const Sin = mathUnary('Sin', 7, 'sin');
export const Cos = mathUnary('Cos', 7, 'cos');
export const Tan = mathUnary('Tan', 7, 'tan');
export const Asin = mathUnary('Asin', 7, 'asin');
export const Acos = mathUnary('Acos', 7, 'acos');
export const Atan = mathUnary('Atan', 7, 'atan');
export const Sinh = mathUnary('Sinh', 9, 'sinh');
export const Cosh = mathUnary('Cosh', 9, 'cosh');
export const Asinh = mathUnary('Asinh', 9, 'asinh');
export const Acosh = mathUnary('Acosh', 9, 'acosh');
export const Atanh = mathUnary('Atanh', 9, 'atanh');

export const Tanh = unaryOp({
  op: 'Tanh', since: 1, dtypes: FLOATS,
  scalar: (k, x, dt) => (floatT(dt) === 'f32' ? callFast(k, 'tanh', x) : callMath(k, 'tanh', [x], 'f64')),
  simd: (k, v) => simdFast(k, 'tanh', v),
});

export const Erf = unaryOp({
  op: 'Erf', since: 9, dtypes: NUMERIC,
  notes: 'integer inputs are computed in float64 and truncated',
  scalar(k, x, dt) {
    if (!isFloat(dt)) return k.cast(callMath(k, 'erf', [k.cast(x, dt, 'float64')], 'f64'), 'float64', dt);
    return floatT(dt) === 'f32' ? callFast(k, 'erf', x) : callMath(k, 'erf', [x], 'f64');
  },
  simd: (k, v) => simdFast(k, 'erf', v),
});

export const IsNaN = unaryOp({
  op: 'IsNaN', since: 9, dtypes: FLOATS, out: 'bool',
  scalar: (k, x, dt) => withX(k, x, dt, ({ F }, v) => F.ne(v(), v()), 'i32'),
});

export const IsInf = unaryOp<{ pos: boolean; neg: boolean }>({
  op: 'IsInf', since: 10, dtypes: FLOATS, out: 'bool',
  attrs: (a) => ({ pos: a.int('detect_positive', 1) !== 0, neg: a.int('detect_negative', 1) !== 0 }),
  key: (a) => `${a.pos}${a.neg}`,
  scalar: (k, x, dt, a) => withX(k, x, dt, ({ F, c }, v) => {
    const hits: Expr[] = [];
    if (a.pos) hits.push(F.eq(v(), c(Infinity)));
    if (a.neg) hits.push(F.eq(v(), c(-Infinity)));
    return hits.length ? hits.reduce((p, q) => k.i32.or(p, q)) : k.c32(0);
  }, 'i32'),
});

export const Not = unaryOp({ op: 'Not', since: 1, dtypes: ['bool'], scalar: (k, x) => k.i32.eqz(x), fold: (x) => (x ? 0n : 1n) });

export const BitwiseNot = unaryOp({
  op: 'BitwiseNot', since: 18, dtypes: INTS,
  scalar: (k, x, dt) => k.normalize(ns(k, dt).xor(x, k.const(computeType(dt), -1)), dt),
  fold: (x) => ~x,
});
