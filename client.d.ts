// Types for `.onnx` imports through the onnx2wasm/vite plugin. Add `/// <reference types="onnx2wasm/client" />`
// to a .d.ts file of the project, or "onnx2wasm/client" to compilerOptions.types (as with vite/client).
// With options in the query, put the form last (`./m.onnx?target=scalar&init`) so that its type applies.

declare module '*.onnx' {
  /** The compiled model, loaded (the import awaits it). */
  const model: import('onnx2wasm/runtime').Model;
  export default model;
}

declare module '*.onnx?url' {
  /** URL of the compiled .wasm (a hashed asset in a build). */
  const url: string;
  export default url;
}
declare module '*&url' {
  const url: string;
  export default url;
}

declare module '*.onnx?init' {
  /** Loads the compiled model when called. */
  const init: (options?: import('onnx2wasm/runtime').LoadOptions) => Promise<import('onnx2wasm/runtime').Model>;
  export default init;
}
declare module '*&init' {
  const init: (options?: import('onnx2wasm/runtime').LoadOptions) => Promise<import('onnx2wasm/runtime').Model>;
  export default init;
}
