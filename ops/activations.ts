// Activation functions: Relu Sigmoid HardSigmoid Elu Selu Celu LeakyRelu PRelu ThresholdedRelu HardSwish Softplus
// Softsign Mish Gelu Shrink Swish. float32 ones that models run hot have f32x4 bodies.

import { emitElementwise, broadcastShapes } from '../codegen/elementwise.js';
import { simdSigmoidViaExpNonPositive } from '../codegen/exp-below-max.js';
import { callFast, callMath, simdFast } from '../codegen/mathlib.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { FLOATS, NUMERIC, isFloat, type DType } from '../src/ir/dtype.js';
import { defineOp } from './types.js';
import { compare, floatT, ns, SIGNED_INTS } from './elementwise.js';
import { fl, unaryOp, withV, withX } from './unary.js';

const v4 = (k: Kernel, v: number) => k.f32x4.splat(k.cf32(v));
/** SIMD: lanes where x < 0 take `neg`, others `pos`. */
const whereNeg = (k: Kernel, x: Expr, neg: Expr, pos: Expr) => k.v128.bitselect(neg, pos, k.f32x4.lt(x, v4(k, 0)));

/** e^x - 1 for a float dtype (accurate near 0). */
const expm1 = (k: Kernel, x: Expr, dt: DType) => callMath(k, 'expm1', [x], floatT(dt));
const sigmoid = (k: Kernel, x: Expr, dt: DType) =>
  (floatT(dt) === 'f32' ? callFast(k, 'sigmoid', x) : k.f64.div(k.cf64(1), k.f64.add(k.cf64(1), callMath(k, 'exp', [k.f64.neg(x)], 'f64'))));

export const Relu = unaryOp({
  op: 'Relu', since: 1, dtypes: [...FLOATS, ...SIGNED_INTS],
  scalar(k, x, dt) {
    const t = computeType(dt);
    if (isFloat(dt)) return ns(k, dt).max(x, k.const(t, 0));
    const l = k.local(t);
    return k.block([l.set(x), k.select(compare(k, 'gt', l.get(), k.const(t, 0), dt), l.get(), k.const(t, 0))], t);
  },
  simd: (k, v) => k.f32x4.max(v, v4(k, 0)),
  fold: (x) => (x > 0n ? x : 0n),
});

export const Sigmoid = unaryOp({
  op: 'Sigmoid', since: 1, dtypes: FLOATS,
  scalar: (k, x, dt) => sigmoid(k, x, dt),
  simd: (k, v) => simdSigmoidViaExpNonPositive(k, v),
});

export const HardSigmoid = unaryOp<{ alpha: number; beta: number }>({
  op: 'HardSigmoid', since: 1, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) }),
  key: (a) => `${a.alpha}:${a.beta}`,
  scalar(k, x, dt, a) {
    const { F, c } = fl(k, dt);
    return F.max(c(0), F.min(c(1), F.add(F.mul(x, c(a.alpha)), c(a.beta))));
  },
  simd: (k, v, a) => k.f32x4.max(v4(k, 0), k.f32x4.min(v4(k, 1), k.f32x4.add(k.f32x4.mul(v, v4(k, a.alpha)), v4(k, a.beta)))),
});

export const HardSwish = unaryOp({
  op: 'HardSwish', since: 14, dtypes: FLOATS,
  scalar: (k, x, dt) =>
    withX(k, x, dt, ({ F, c }, v) => F.mul(v(), F.max(c(0), F.min(c(1), F.add(F.mul(v(), c(1 / 6)), c(0.5)))))),
  simd: (k, v) => withV(k, v, (x) => k.f32x4.mul(x(), k.f32x4.max(v4(k, 0), k.f32x4.min(v4(k, 1), k.f32x4.add(k.f32x4.mul(x(), v4(k, 1 / 6)), v4(k, 0.5)))))),
});

export const Elu = unaryOp<{ alpha: number }>({
  op: 'Elu', since: 1, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 1) }),
  key: (a) => `${a.alpha}`,
  scalar: (k, x, dt, a) =>
    withX(k, x, dt, ({ F, c }, v) => k.select(F.lt(v(), c(0)), F.mul(c(a.alpha), expm1(k, v(), dt)), v())),
  simd: (k, v, a) => withV(k, v, (x) => whereNeg(k, x(), k.f32x4.mul(v4(k, a.alpha), k.f32x4.sub(simdFast(k, 'exp', x()), v4(k, 1))), x())),
});

export const Selu = unaryOp<{ alpha: number; gamma: number }>({
  op: 'Selu', since: 1, dtypes: FLOATS,
  attrs: (a, opset) => opset < 6
    ? { alpha: a.float('alpha', 1.6732), gamma: a.float('gamma', 1.0507) }
    : { alpha: a.float('alpha', 1.67326319217681884765625), gamma: a.float('gamma', 1.05070102214813232421875) },
  key: (a) => `${a.alpha}:${a.gamma}`,
  scalar: (k, x, dt, a) =>
    withX(k, x, dt, ({ F, c }, v) => k.select(F.gt(v(), c(0)), F.mul(c(a.gamma), v()), F.mul(c(a.gamma * a.alpha), expm1(k, v(), dt)))),
});

export const Celu = unaryOp<{ alpha: number }>({
  op: 'Celu', since: 12, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 1) }),
  key: (a) => `${a.alpha}`,
  scalar: (k, x, dt, a) =>
    // max(0, x) + min(0, alpha (e^(x/alpha) - 1))
    withX(k, x, dt, ({ F, c }, v) => F.add(F.max(c(0), v()), F.min(c(0), F.mul(c(a.alpha), expm1(k, F.div(v(), c(a.alpha)), dt))))),
});

export const LeakyRelu = unaryOp<{ alpha: number }>({
  op: 'LeakyRelu', since: 1, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 0.01) }),
  key: (a) => `${a.alpha}`,
  scalar: (k, x, dt, a) =>
    withX(k, x, dt, ({ F, c }, v) => k.select(F.lt(v(), c(0)), F.mul(v(), c(a.alpha)), v())),
  simd: (k, v, a) => withV(k, v, (x) => whereNeg(k, x(), k.f32x4.mul(x(), v4(k, a.alpha)), x())),
});

export const ThresholdedRelu = unaryOp<{ alpha: number }>({
  op: 'ThresholdedRelu', since: 10, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 1) }),
  key: (a) => `${a.alpha}`,
  scalar: (k, x, dt, a) =>
    withX(k, x, dt, ({ F, c }, v) => k.select(F.gt(v(), c(a.alpha)), v(), c(0))),
});

/** log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|). */
function softplus(k: Kernel, x: Expr, dt: DType): Expr {
  return withX(k, x, dt, ({ F, c, math }, v) => F.add(F.max(v(), c(0)), math('log1p', math('exp', F.neg(F.abs(v()))))));
}

export const Softplus = unaryOp({ op: 'Softplus', since: 1, dtypes: FLOATS, scalar: (k, x, dt) => softplus(k, x, dt) });

export const Softsign = unaryOp({
  op: 'Softsign', since: 1, dtypes: FLOATS,
  scalar: (k, x, dt) =>
    withX(k, x, dt, ({ F, c }, v) => F.div(v(), F.add(c(1), F.abs(v())))),
  simd: (k, v) => withV(k, v, (x) => k.f32x4.div(x(), k.f32x4.add(v4(k, 1), k.f32x4.abs(x())))),
});

export const Mish = unaryOp({
  op: 'Mish', since: 18, dtypes: FLOATS,
  scalar(k, x, dt) {
    // x tanh(softplus(x)), in float64
    const l = k.local('f64');
    const y = k.block([l.set(k.cast(x, dt, 'float64')), k.f64.mul(l.get(), callMath(k, 'tanh', [softplus(k, l.get(), 'float64')], 'f64'))], 'f64');
    return k.cast(y, 'float64', dt);
  },
});

export const Gelu = unaryOp<{ tanh: boolean }>({
  op: 'Gelu', since: 20, dtypes: FLOATS,
  attrs(a) {
    const s = a.string('approximate', 'none');
    if (s !== 'none' && s !== 'tanh') throw new Error(`approximate must be "none" or "tanh", got "${s}"`);
    return { tanh: s === 'tanh' };
  },
  key: (a) => `${a.tanh}`,
  scalar(k, x, dt, a) {
    if (floatT(dt) === 'f32') return callFast(k, a.tanh ? 'gelu_tanh' : 'gelu', x);
    const F = k.f64, l = k.local('f64');
    const inner = a.tanh
      ? callMath(k, 'tanh', [F.mul(k.cf64(Math.sqrt(2 / Math.PI)), F.add(l.get(), F.mul(k.cf64(0.044715), F.mul(l.get(), F.mul(l.get(), l.get())))))], 'f64')
      : callMath(k, 'erf', [F.mul(l.get(), k.cf64(Math.SQRT1_2))], 'f64');
    return k.block([l.set(x), F.mul(F.mul(k.cf64(0.5), l.get()), F.add(k.cf64(1), inner))], 'f64');
  },
  simd: (k, v, a) => simdFast(k, a.tanh ? 'gelu_tanh' : 'gelu', v),
});

/** x sigmoid(alpha x), scalar and f32x4. */
const swish = (k: Kernel, x: Expr, dt: DType, alpha: number) =>
  withX(k, x, dt, ({ F, c }, v) => F.mul(v(), sigmoid(k, F.mul(v(), c(alpha)), dt)));
const swish4 = (k: Kernel, v: Expr, alpha: number) =>
  withV(k, v, (x) => k.f32x4.mul(x(), simdFast(k, 'sigmoid', k.f32x4.mul(x(), v4(k, alpha)))));

export const Swish = unaryOp<{ alpha: number }>({
  op: 'Swish', since: 24, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 1) }),
  key: (a) => `${a.alpha}`,
  scalar: (k, x, dt, a) => swish(k, x, dt, a.alpha),
  simd: (k, v, a) => swish4(k, v, a.alpha),
});

export const Shrink = unaryOp<{ bias: number; lambd: number }>({
  op: 'Shrink', since: 9, dtypes: NUMERIC,
  notes: 'integer inputs are compared and shifted in float64, then truncated',
  attrs: (a) => ({ bias: a.float('bias', 0), lambd: a.float('lambd', 0.5) }),
  key: (a) => `${a.bias}:${a.lambd}`,
  scalar(k, x, dt, a) {
    // x < -lambd: x + bias; x > lambd: x - bias; else 0 (computed in float64 for integer dtypes)
    const work: DType = isFloat(dt) ? dt : 'float64';
    const y = withX(k, k.cast(x, dt, work), work, ({ F, c }, v) =>
      k.select(F.lt(v(), c(-a.lambd)), F.add(v(), c(a.bias)), k.select(F.gt(v(), c(a.lambd)), F.sub(v(), c(a.bias)), c(0))));
    return work === dt ? y : k.cast(y, work, dt);
  },
});

const PRELU_TYPES: DType[] = [...FLOATS, 'int32', 'int64', 'uint32', 'uint64'];

export const PRelu = defineOp({
  op: 'PRelu', since: 1, dtypes: PRELU_TYPES,
  notes: 'slope broadcasts to X (unidirectional)',
  infer(ctx) {
    const [x, slope] = [ctx.inputs[0], ctx.inputs[1]];
    if (!x || !slope) ctx.fail('needs X and slope');
    if (x!.dtype !== slope!.dtype) ctx.fail(`X and slope dtypes differ (${x!.dtype}, ${slope!.dtype})`);
    if (!PRELU_TYPES.includes(x!.dtype)) ctx.fail(`dtype ${x!.dtype} is not supported`);
    const out = broadcastShapes([x!.shape, preluSlopeShape(ctx.opset, x!.shape, slope!.shape)]);
    if (!out || out.join() !== x!.shape.join()) ctx.fail(`slope shape [${slope!.shape}] does not broadcast to X's shape [${x!.shape}]`);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
  emit(ctx) {
    const [x, slope] = [ctx.inputs[0]!, ctx.inputs[1]!];
    const shape = preluSlopeShape(ctx.opset, x.shape, slope.shape);
    emitElementwise(ctx, {
      name: 'prelu',
      scalar(k, [x, s], [dt]) {
        const t = computeType(dt);
        const l = k.local(t);
        const I = ns(k, dt);
        return k.block([l.set(x), k.select(compare(k, 'lt', l.get(), k.const(t, 0), dt), k.normalize(I.mul(l.get(), s), dt), l.get())], t);
      },
      simd(k, [x, s]) {
        const l = k.local('v128');
        return k.block([l.set(x), whereNeg(k, l.get(), k.f32x4.mul(l.get(), s), l.get())], 'v128');
      },
    }, [x, { name: slope.name, dtype: slope.dtype, shape, const: slope.const, get ptr() { return slope.ptr; } }]);
  },
});

/** Before opset 7 a 1-D slope holds one value per channel (X's dim 1); later it broadcasts numpy-style. */
function preluSlopeShape(opset: number, x: number[], slope: number[]): number[] {
  if (opset >= 7 || slope.length !== 1 || slope[0] === 1 || x.length < 2 || slope[0] !== x[1]) return slope;
  return [slope[0], ...x.slice(2).map(() => 1)];
}

/** SwiGLU (opset 28): Swish_alpha(A) * B, same shapes, no broadcasting. */
export const SwiGLU = defineOp<{ alpha: number }>({
  op: 'SwiGLU', since: 28, dtypes: FLOATS,
  attrs: (a) => ({ alpha: a.float('alpha', 1) }),
  infer(ctx) {
    const [a, b] = ctx.inputs;
    if (!a || !b) ctx.fail('needs inputs A and B');
    if (a!.dtype !== b!.dtype || !FLOATS.includes(a!.dtype)) ctx.fail(`A and B must share a float dtype (${a!.dtype}, ${b!.dtype})`);
    if (a!.shape.join() !== b!.shape.join()) ctx.fail(`A [${a!.shape}] and B [${b!.shape}] must have the same shape`);
    return [{ dtype: a!.dtype, shape: a!.shape }];
  },
  emit(ctx) {
    const { alpha } = ctx.attrs;
    emitElementwise(ctx, {
      name: `swiglu:${alpha}`,
      scalar: (k, [a, b], [dt]) => ns(k, dt).mul(swish(k, a, dt, alpha), b),
      simd: (k, [a, b]) => k.f32x4.mul(swish4(k, a, alpha), b),
    });
  },
});
