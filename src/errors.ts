// The one error type users see from compile(): a code, the node and op it concerns, and a one-line message.

export type ErrorCode =
  | 'NOT_ONNX'          // bytes are not a (complete) ONNX ModelProto
  | 'FILE'              // model or external-data file cannot be read
  | 'UNSUPPORTED_OP'    // operators (possibly several) this compiler does not implement
  | 'UNSUPPORTED_DOMAIN'
  | 'UNSUPPORTED_DTYPE'
  | 'CONTROL_FLOW'      // a Loop / Scan that cannot be made static (carried values change shape, cannot unroll)
  | 'SYMBOLIC_SHAPE'    // a dimension is not known: bind it with --shape / shapes
  | 'DATA_DEPENDENT'    // an output shape depends on tensor values not known at compile time
  | 'BAD_OPTION'        // an option names an input that does not exist, or has the wrong form
  | 'INVALID_MODEL'     // the graph is inconsistent (shapes that do not match, missing inputs...)
  | 'TOO_LARGE'         // a tensor or the module's memory exceeds what wasm32 (4 GiB) or engines can hold
  | 'OVER_BUDGET'       // the module's linear memory exceeds the --max-memory / maxMemory budget
  | 'BAD_CALIBRATION'   // int8 calibration data missing, empty, or not matching the model's inputs
  | 'NOTHING_TO_QUANTIZE' // int8 asked for, but the model has no op that can run in int8
  | 'INTERNAL';

export interface NodeRef { name: string; opType: string; opset?: number }

export class CompileError extends Error {
  readonly code: ErrorCode;
  readonly node?: string;
  readonly op?: string;
  /** For UNSUPPORTED_OP: every offending node. */
  readonly nodes?: NodeRef[];

  constructor(code: ErrorCode, message: string, where?: { node?: string; op?: string; nodes?: NodeRef[] }) {
    // One line, whatever the model's names hold: control characters (newlines too) are shown escaped.
    super(message.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
    this.name = 'CompileError';
    this.code = code;
    this.node = where?.node;
    this.op = where?.op;
    this.nodes = where?.nodes;
  }
}

/** Prefix for messages about one node: `node "conv1" (Conv, opset 13): `. */
export function nodeLabel(node: { name: string; opType: string }, opset?: number): string {
  return `node "${node.name}" (${node.opType}${opset !== undefined ? `, opset ${opset}` : ''})`;
}
