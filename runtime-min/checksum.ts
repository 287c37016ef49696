// The module's checksum, shared by the compiler (which appends it) and the runtime (which checks it): FNV-1a over
// the header and every section but the data (11), data count (12) and checksum sections. It covers the code and
// the manifest, so that a damaged module is refused before its code runs (a flipped bit there could make a loop
// run forever); the weights are not covered, so loading a large model stays a single copy.

export const CHECKSUM_SECTION = 'onnx2wasm.checksum';

export function checksum(parts: Uint8Array[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p[i], 0x01000193);
  return h >>> 0;
}
