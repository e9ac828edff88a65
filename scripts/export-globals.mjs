// Add an export "g<i>" for every mutable global of a WASM module, so the host can
// save and restore the core's whole state (linear memory + globals) to backtrack
// the interleaving explorer (src/races/) without replaying. Called by
// scripts/embed-wasm.mjs on build/refsim.wasm; the core's code is unchanged.
//
// The binary format (WebAssembly core spec, "Binary Format"): after the 8-byte
// header come sections [id u8][size u32 LEB][payload]. Imports (id 2) can bring
// globals, which come first in the global index space; the global section (id 6)
// lists [valtype][mut][init expr ... end]; the export section (id 7) lists
// [name][kind][index], kind 3 = global.

function readU32(b, at) {
  let v = 0, shift = 0, byte;
  do {
    byte = b[at.i++];
    v |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return v >>> 0;
}

function skipLeb(b, at) {
  while (b[at.i++] & 0x80);
}

function u32Leb(v) {
  const out = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

function skipName(b, at) {
  const n = readU32(b, at);
  at.i += n;
}

function skipLimits(b, at) {
  const flag = b[at.i++];
  readU32(b, at);
  if (flag & 1) readU32(b, at);
}

/** Skip a constant expression up to and including its `end` (0x0b). */
function skipInitExpr(b, at) {
  for (;;) {
    const op = b[at.i++];
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x42) skipLeb(b, at); // i32.const, i64.const
    else if (op === 0x43) at.i += 4; // f32.const
    else if (op === 0x44) at.i += 8; // f64.const
    else if (op === 0x23 || op === 0xd2) readU32(b, at); // global.get, ref.func
    else if (op === 0xd0) at.i += 1; // ref.null t
    else if (op === 0xfd && b[at.i] === 12) { at.i += 1; at.i += 16; } // v128.const
    else if (op >= 0x6a && op <= 0x7e) continue; // extended-const add/sub/mul
    else throw new Error(`export-globals: unknown opcode 0x${op.toString(16)} in a global's init expression`);
  }
}

/** The module's bytes with every mutable global exported as g<index>. Returns the count too. */
export function exportMutableGlobals(bytes) {
  const b = bytes;
  const sections = [];
  let i = 8;
  while (i < b.length) {
    const id = b[i];
    const at = { i: i + 1 };
    const size = readU32(b, at);
    sections.push({ id, start: i, payload: at.i, end: at.i + size });
    i = at.i + size;
  }
  let importedGlobals = 0;
  const mutable = [];
  for (const s of sections) {
    const at = { i: s.payload };
    if (s.id === 2) {
      const n = readU32(b, at);
      for (let k = 0; k < n; k++) {
        skipName(b, at);
        skipName(b, at);
        const kind = b[at.i++];
        if (kind === 0) readU32(b, at);
        else if (kind === 1) { at.i++; skipLimits(b, at); }
        else if (kind === 2) skipLimits(b, at);
        else if (kind === 3) { at.i += 2; importedGlobals++; }
        else throw new Error(`export-globals: unknown import kind ${kind}`);
      }
    } else if (s.id === 6) {
      const n = readU32(b, at);
      for (let k = 0; k < n; k++) {
        at.i++; // valtype
        const mut = b[at.i++];
        skipInitExpr(b, at);
        if (mut === 1) mutable.push(importedGlobals + k);
      }
    }
  }
  const exp = sections.find((s) => s.id === 7);
  if (!exp) throw new Error("export-globals: the module has no export section");
  const at = { i: exp.payload };
  const count = readU32(b, at);
  const entries = b.subarray(at.i, exp.end);
  const extra = [];
  for (const g of mutable) {
    const name = new TextEncoder().encode(`g${g}`);
    extra.push(...u32Leb(name.length), ...name, 3, ...u32Leb(g));
  }
  const payload = [...u32Leb(count + mutable.length), ...entries, ...extra];
  const section = [7, ...u32Leb(payload.length), ...payload];
  const out = new Uint8Array(exp.start + section.length + (b.length - exp.end));
  out.set(b.subarray(0, exp.start), 0);
  out.set(section, exp.start);
  out.set(b.subarray(exp.end), exp.start + section.length);
  return { bytes: out, globals: mutable.length };
}
