// The conformance runner's own rules: ONNX's judgement of an output, and which simple/ tests are in scope.

import { describe, expect, it } from 'vitest';
import { fromNumbers } from '../../src/ir/dtype.js';
import { makeTensor } from '../../src/ir/graph.js';
import { sharedPath } from '../helpers/shared.js';
import { compareTensor } from './runner.js';
import { inScopeTests } from './scope.js';
import { checkAgainst, updatedManifest, type Manifest } from './manifest.js';
import type { TestResult } from './runner.js';

const f32 = (v: number[]) => Float32Array.from(v);

describe('compareTensor (ONNX: |a - e| <= 1e-7 + 1e-3 |e|, NaN equals NaN, same dtype and shape)', () => {
  const want = makeTensor('float32', [4], f32([1, 0, NaN, -1000]));
  it('accepts values within tolerance and NaN against NaN', () => {
    expect(compareTensor(f32([1.0009, 5e-8, NaN, -1000.9]), [4], 'float32', want)).toBeUndefined();
  });
  it('rejects values outside tolerance, NaN against a number, wrong shape or dtype', () => {
    expect(compareTensor(f32([1.0011, 0, NaN, -1000]), [4], 'float32', want)).toMatch(/1 of 4 values differ/);
    expect(compareTensor(f32([1, 2e-7, NaN, -1000]), [4], 'float32', want)).toMatch(/first \[1\]/);
    expect(compareTensor(f32([1, 0, 0, -1000]), [4], 'float32', want)).toMatch(/first \[2\]/);
    expect(compareTensor(f32([1, 0, NaN, -1000]), [2, 2], 'float32', want)).toMatch(/shape 2x2, expected 4/);
    const inf = makeTensor('float32', [2], f32([Infinity, -Infinity]));
    expect(compareTensor(f32([Infinity, -Infinity]), [2], 'float32', inf)).toBeUndefined();
    expect(compareTensor(f32([1, -Infinity]), [2], 'float32', inf)).toMatch(/first \[0\]/);
    expect(compareTensor(f32([Infinity, 1e30]), [2], 'float32', inf)).toMatch(/first \[1\]/);
    expect(compareTensor(Float64Array.from([1, 0, NaN, -1000]), [4], 'float64', want)).toMatch(/dtype float64/);
  });
  it('compares integers and bools exactly, int64 in full', () => {
    const big = makeTensor('int64', [2], BigInt64Array.of(2n ** 60n + 1n, -3n));
    expect(compareTensor(BigInt64Array.of(2n ** 60n + 1n, -3n), [2], 'int64', big)).toBeUndefined();
    expect(compareTensor(BigInt64Array.of(2n ** 60n, -3n), [2], 'int64', big)).toMatch(/1 of 2/);
    expect(compareTensor(Uint8Array.of(1, 0), [2], 'bool', makeTensor('bool', [2], Uint8Array.of(1, 1)))).toMatch(/first \[1\]/);
  });
  it('compares float16 as numbers, not bit patterns', () => {
    const want16 = makeTensor('float16', [2], fromNumbers('float16', [1, -2]));
    expect(compareTensor(fromNumbers('float16', [1.0005, -2]), [2], 'float16', want16)).toBeUndefined();
    expect(compareTensor(fromNumbers('float16', [1.01, -2]), [2], 'float16', want16)).toMatch(/got 1\.009/);
  });
});

const backend = sharedPath('onnx-backend', 'the simple/ scope check');
describe.skipIf(!backend)('scope', () => {
  it('simple/: tests with sequences, strings or the training domain are out of scope', () => {
    expect(inScopeTests(backend!, 'simple')).toEqual([
      'simple/test_expand_shape_model1', 'simple/test_expand_shape_model2', 'simple/test_expand_shape_model3',
      'simple/test_expand_shape_model4', 'simple/test_shrink', 'simple/test_sign_model', 'simple/test_single_relu_model',
    ]);
  });
  it('node/: the 1393 tests node-scope.json marks in scope, and the 49 out only for control flow or data-dependent outputs', () => {
    const node = inScopeTests(backend!, 'node');
    expect(node).toHaveLength(1393 + 49);
    expect(node).toEqual(expect.arrayContaining(['node/test_if', 'node/test_loop11', 'node/test_scan_sum', 'node/test_nonmaxsuppression_two_classes', 'node/test_unique_sorted_with_axis']));
    // Sequences and optionals stay out, also when they come with control flow.
    for (const id of ['node/test_if_seq', 'node/test_if_opt', 'node/test_loop13_seq', 'node/test_loop16_seq_none']) expect(node).not.toContain(id);
  });
});

describe('manifest', () => {
  const manifest: Manifest = {
    about: '', boundConstants: { 'node/b': ['k'] },
    simd: { passing: ['node/a', 'node/b'], failing: { 'node/c': 'old reason' } },
    scalar: { passing: ['node/a'], failing: { 'node/b': 'scalar reason', 'node/c': 'old reason' } },
  };
  const run = (id: string, target: 'simd' | 'scalar', pass: boolean, reason?: string): TestResult => ({ id, target, pass, reason, ms: 1 });

  it('a listed test that fails is a regression; an unlisted one that passes is new', () => {
    const v = checkAgainst(manifest, [run('node/a', 'simd', false, 'broke'), run('node/c', 'simd', true), run('node/b', 'scalar', false, 'x')]);
    expect(v.regressions.map((r) => r.id)).toEqual(['node/a']);
    expect(v.newlyPassing.map((r) => r.id)).toEqual(['node/c']);
  });

  it('--update merges the runs, keeps other entries, drops tests no longer in scope', () => {
    const m = updatedManifest(manifest, [run('node/c', 'simd', true), run('node/a', 'scalar', false, 'broke')], new Set(['node/a', 'node/b', 'node/c']));
    expect(m.simd).toEqual({ passing: ['node/a', 'node/b', 'node/c'], failing: {} });
    expect(m.scalar).toEqual({ passing: [], failing: { 'node/a': 'broke', 'node/b': 'scalar reason', 'node/c': 'old reason' } });
    expect(m.boundConstants).toEqual({ 'node/b': ['k'] });
    expect(updatedManifest(manifest, [], new Set(['node/a'])).simd).toEqual({ passing: ['node/a'], failing: {} });
  });
});
