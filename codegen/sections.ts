// Splits a wasm binary by section kind, so reports give what the file really holds (binaryen's memory
// packing drops zero runs from data segments, so planned weight bytes overstate the file).

import { checksum, CHECKSUM_SECTION } from '../runtime-min/checksum.js';

export interface SectionParts {
  /** The header and every section but data and custom ones: functions, types, exports... */
  code: Uint8Array[];
  /** The data section: weights and other constants. */
  weights: Uint8Array[];
  /** Custom sections: the manifest (and names, when present). */
  manifest: Uint8Array[];
}

/** Each section of a module (made by this compiler: well formed), with its id. */
function sections(wasm: Uint8Array): { id: number; bytes: Uint8Array }[] {
  const out: { id: number; bytes: Uint8Array }[] = [];
  let at = 8; // magic + version
  while (at < wasm.length) {
    const id = wasm[at];
    let size = 0, shift = 0, p = at + 1, b: number;
    do {
      b = wasm[p++];
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    const end = p + size;
    out.push({ id, bytes: wasm.subarray(at, end) });
    at = end;
  }
  return out;
}

export function splitSections(wasm: Uint8Array): SectionParts {
  const parts: SectionParts = { code: [wasm.subarray(0, 8)], weights: [], manifest: [] };
  for (const { id, bytes } of sections(wasm)) parts[id === 11 ? 'weights' : id === 0 ? 'manifest' : 'code'].push(bytes);
  return parts;
}

/**
 * The module with its checksum appended as a last custom section (runtime-min/checksum.ts says what it covers),
 * so that the runtime refuses a damaged module before running its code.
 */
export function appendChecksum(wasm: Uint8Array): Uint8Array {
  const covered = [wasm.subarray(0, 8), ...sections(wasm).filter((s) => s.id !== 11 && s.id !== 12).map((s) => s.bytes)];
  const name = new TextEncoder().encode(CHECKSUM_SECTION);
  const body = [name.length, ...name, 0, 0, 0, 0];
  const section = Uint8Array.from([0, body.length, ...body]); // under 128 bytes: a one-byte size
  new DataView(section.buffer).setUint32(section.length - 4, checksum(covered), true);
  const out = new Uint8Array(wasm.length + section.length);
  out.set(wasm);
  out.set(section, wasm.length);
  return out;
}

const total = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);

export function sectionSizes(wasm: Uint8Array): { code: number; weights: number; manifest: number } {
  const p = splitSections(wasm);
  return { code: total(p.code), weights: total(p.weights), manifest: total(p.manifest) };
}
