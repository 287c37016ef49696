// Which ONNX backend tests are in scope, per folder.
//
// node/: node-scope.json maps every test to its out-of-scope reasons; an empty list means in scope, and so do
// lists made only of the control-flow and bounded data-dependent reasons onnx2wasm compiles (COMPILED_REASONS).
// pytorch-converted/, pytorch-operator/: all in scope.
// simple/: no scope file exists, so we apply node-scope.json's own exclusions to the model: a test is out of
// scope when it uses sequence, optional, map or string types, sequence/optional/string operators, or operators
// outside the default domain (the training preview domain's Gradient). That leaves the expand, shrink, sign and
// single-relu models.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

export const FOLDERS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;
export type Folder = (typeof FOLDERS)[number];

/** A test's id: `folder/test_name` (simple/ and node/ share some names). */
export type TestId = string;

const STRING_TYPE = 8;
/**
 * node-scope.json reasons that onnx2wasm now handles: control flow with graph-typed attributes (`type:-2`) and
 * the bounded data-dependent operators. Sequences and optionals (`type:-2,-1`, `type:-1`, their ops) stay out.
 */
const COMPILED_REASONS = new Set(['op:If', 'op:Loop', 'op:Scan', 'op:NonMaxSuppression', 'op:NonZero', 'op:Compress', 'op:Unique', 'type:-2']);
const UNSCOPED_OPS = /^(Sequence|ConcatFromSequence|SplitToSequence|Optional|String|RegexFullMatch)/;

/** In-scope test ids of a folder of the backend suite (sorted). */
export function inScopeTests(backendDir: string, folder: Folder): TestId[] {
  const dir = join(backendDir, folder);
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((n) => n.startsWith('test_')).sort();
  let keep: (name: string) => boolean = () => true;
  if (folder === 'node') {
    const scope = JSON.parse(readFileSync(join(backendDir, 'node-scope.json'), 'utf8')) as Record<string, string[]>;
    keep = (name) => Array.isArray(scope[name]) && scope[name].every((reason) => COMPILED_REASONS.has(reason));
  } else if (folder === 'simple') {
    keep = (name) => simpleModelInScope(readFileSync(join(dir, name, 'model.onnx')));
  }
  return names.filter(keep).map((n) => `${folder}/${n}`);
}

function simpleModelInScope(bytes: Uint8Array): boolean {
  const g = onnxProto.onnx.ModelProto.decode(bytes).graph;
  if (!g) return false;
  const typed = [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])];
  const plainTensor = (t: onnxProto.onnx.ITypeProto | null | undefined) => !!t?.tensorType && t.tensorType.elemType !== STRING_TYPE;
  if (!typed.every((vi) => plainTensor(vi.type))) return false;
  if ((g.initializer ?? []).some((t) => t.dataType === STRING_TYPE)) return false;
  return (g.node ?? []).every((n) => (!n.domain || n.domain === 'ai.onnx') && !UNSCOPED_OPS.test(n.opType ?? ''));
}
