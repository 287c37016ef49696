// The contract every operator file implements. One OpDef per ONNX operator (or per opset range of it):
// attribute parsing with defaults, dtype/shape inference, an optional cheap evaluator for constant folding,
// and an emitter that builds the kernel through codegen's Kernel wrapper.

import type { Expr, Kernel, Target, WType } from '../codegen/wasm.js';
import type { DType } from '../src/ir/dtype.js';
import type { AttrValue, Node, Shape, Tensor } from '../src/ir/graph.js';

export interface TensorInfo {
  dtype: DType;
  shape: Shape;
  /**
   * A data-dependent output (NonZero, Compress, Unique, NonMaxSuppression): the axis whose extent is known only at
   * run time; shape[dynamic] is its upper bound. The kernel writes the tensor densely for its actual shape and
   * the actual dims at EmitCtx.dims().
   */
  dynamic?: number;
  /** With `dynamic` (axis 0): the kernel zeroes the rows past the actual count, up to the bound. */
  zeroTail?: boolean;
}

/** An input as seen by inference: dtype, static shape, and the data when it is a known constant. */
export interface InputInfo extends TensorInfo {
  name: string;
  const?: Tensor;
}

/** Reads a node's attributes with defaults; wrong types are a clear error. */
export interface AttrReader {
  has(name: string): boolean;
  int(name: string, dflt?: number): number;
  float(name: string, dflt?: number): number;
  string(name: string, dflt?: string): string;
  ints(name: string, dflt?: number[]): number[];
  floats(name: string, dflt?: number[]): number[];
  strings(name: string, dflt?: string[]): string[];
  tensor(name: string): Tensor | undefined;
  raw(name: string): AttrValue | undefined;
}

export interface BaseCtx<A> {
  node: Node;
  opset: number;
  /** Parsed attributes (OpDef.attrs's result). */
  attrs: A;
  /** Throws a CompileError (INVALID_MODEL) naming this node. */
  fail(message: string): never;
}

export interface InferCtx<A> extends BaseCtx<A> {
  /** Input i, or undefined when omitted ('' in the node) or beyond the node's input count. */
  inputs: (InputInfo | undefined)[];
  /** Input i's constant data, or a DATA_DEPENDENT error telling the user to bind it with `constants`. */
  constInput(i: number, what?: string): Tensor;
}

export interface Operand extends TensorInfo {
  name: string;
  const?: Tensor;
  /** Byte address in linear memory (for constants, placed in the weights region on first use). */
  readonly ptr: number;
}

export interface EmitCtx<A> extends BaseCtx<A> {
  target: Target;
  /** The kernel variant chosen for this node, when its op has variants. */
  variant?: string;
  inputs: (Operand | undefined)[];
  /** Output operands; an omitted optional output (empty name in ctx.node.outputs) is undefined. */
  outputs: Operand[];
  /**
   * A kernel function shared by every node with the same key. The key must capture everything the body
   * depends on (op, dtypes, shapes, attributes). params are the wasm types of the parameters; most kernels
   * take i32 byte pointers.
   */
  kernel(key: string, params: WType[], build: (k: Kernel) => Expr | Expr[]): string;
  /** Append `call fn(args)` to run(); args are i32 constants (addresses) unless given as typed values. */
  call(fn: string, args: number[]): void;
  /** Place compile-time data (packed weights, lookup tables) in the weights region; returns its address. */
  data(bytes: Uint8Array, align?: number): number;
  /**
   * Address of this node's scratch memory (the bytes OpDef.scratch declared), 16-aligned: an arena buffer live
   * only during this node. A kernel that bakes the address into its body must put it in its kernel key.
   */
  scratch(): number;
  /**
   * Call fn(args(zeros, out)) `times` times from the module's exported prime() (once per fn), on dummy operands:
   * `zeros` is PRIME_AREA_BYTES that stay zero, `out` as many that the call may write. runtime-min calls prime()
   * right after instantiation, so an engine that tiers up hot code (V8) optimizes a shared hot kernel while the
   * weights are being copied instead of running the first layers in its baseline tier. (Not the wasm start
   * function: V8 compiled the tier-up synchronously there.) Several argument lists: each is called `times` times.
   */
  prime(fn: string, args: (zeros: number, out: number) => number[] | number[][], times?: number): void;
  /** Address of output i's actual dims (int32 each), which a kernel with a data-dependent output writes. */
  dims(i: number): number;
  /** Control flow in run(): the calls that follow, up to the closing node, form a new body. */
  openBody(): void;
  /** Closes the last two bodies as `if (u8 at condPtr) { first } else { second }`. */
  closeIf(condPtr: number): void;
  /** Closes the last body as `if (u8 at goPtr) loop { body; repeat while u8 at goPtr }`. */
  closeLoop(goPtr: number): void;
}

/** Size of each of the two dummy areas given to EmitCtx.prime. */
export const PRIME_AREA_BYTES = 1024;

export interface OpDef<A = unknown> {
  /** ONNX operator type, e.g. 'Conv'. */
  op: string;
  /** '' for the default ONNX domain. */
  domain?: string;
  /** The opset range whose semantics this definition implements (inclusive). */
  since: number;
  until?: number;
  /** For docs/operators.md: the dtypes handled, and notes. */
  dtypes: readonly DType[];
  notes?: string;
  /** Parse attributes once, applying the ONNX defaults for this opset. */
  attrs?(a: AttrReader, opset: number, node: Node): A;
  /** Output dtypes and static shapes. Validate attributes and inputs here. */
  infer(ctx: InferCtx<A>): TensorInfo[];
  /**
   * Constant folding when every input is known (cheap ops only; otherwise the compiler runs the kernel).
   * Returning undefined also hands the node to the kernel (for cases the evaluator does not cover).
   */
  evaluate?(ctx: InferCtx<A>): Tensor[] | undefined;
  /** Bytes of scratch memory the emitted kernel needs while it runs (im2col tiles, packing buffers...). */
  scratch?(ctx: InferCtx<A>): number;
  /** Build the kernel(s) and the call(s) in run(). (An op with `variants` has its emit on each variant.) */
  emit?(ctx: EmitCtx<A>): void;
  /**
   * Kernel implementations in priority order (Winograd, depthwise, im2col + GEMM, int8 GEMM, a plain loop...):
   * codegen picks the first whose condition holds, once per node with the target known, and uses that variant's
   * scratch and emit. Its name goes into the node's kernel function names and the report.
   */
  variants?: readonly KernelVariant<A>[];
  /**
   * Output 0 is input 0's bytes reinterpreted (Reshape, Flatten, Squeeze, ...): no kernel, no copy. A function
   * decides per node (Dropout is a view unless its mask output is used).
   */
  view?: boolean | ((node: Node) => boolean);
  /**
   * Output 0 may be written over input 0's buffer when that input dies at this node and has the same byte
   * size (elementwise ops: each output element depends only on inputs at the same position).
   */
  inPlace?: boolean;
  /**
   * Each output element depends only on the input elements at the same (broadcast) position: the op may run over
   * a data-dependent input's whole bound, its output then has the same run-time count (src/passes/bounded.ts).
   */
  elementwise?: boolean;
  /** Inputs (by index) that must be compile-time constants. */
  constInputs?: readonly number[];
  /** The outputs depend only on input shapes and dtypes (Shape, Size): always folded. */
  shapeOnly?: boolean;
  /** Never fold (random generators). */
  noFold?: boolean;
  /**
   * Opens or closes a control-flow region of run() (If, Loop): the memory planner keeps every buffer used both
   * inside and outside a region alive across all of it, since its nodes may run many times or not at all.
   */
  region?: 'open' | 'close';
}

/** What a variant's condition and scratch see: the inference context and the target's capabilities. */
export interface VariantCtx<A> extends InferCtx<A> {
  target: Target;
  /** Asked by what a target allows, never by its name, so that a new target cannot silently fall back. */
  has(capability: Capability): boolean;
}

export type Capability = 'simd128';

export function targetHas(target: Target, capability: Capability): boolean {
  return capability === 'simd128' && target === 'simd';
}

/** One implementation of an operator, chosen per node (see OpDef.variants). */
export interface KernelVariant<A> {
  /** Short and stable: 'winograd-f2x2-3x3', 'depthwise', 'im2col-gemm', 'int8-gemm'... */
  name: string;
  applies(ctx: VariantCtx<A>): boolean;
  scratch?(ctx: VariantCtx<A>): number;
  emit(ctx: EmitCtx<A>): void;
}

/** The first variant of `def` that applies to this node (the last one should always apply). */
export function chooseVariant<A>(def: OpDef<A>, ctx: VariantCtx<A>): KernelVariant<A> | undefined {
  return def.variants?.find((v) => v.applies(ctx));
}

/** Whether this node of `def` is a view of its input 0. */
export function isViewOp(def: Pick<OpDef, 'view'> | undefined, node: Node): boolean {
  return typeof def?.view === 'function' ? def.view(node) : !!def?.view;
}

/** Helper so that op files get full type checking of their attribute type. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}
