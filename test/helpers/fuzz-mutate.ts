// Mutators for the fuzz suite: scenario files mangled as text, as bytes and as
// structure (a value replaced, a key dropped or doubled, steps shuffled), and traces
// mangled as bytes, with the checksums recomputed where the mutation should reach
// the code behind them (header fields, the meta JSON, records inside a block).
import { crc32, HEADER_BYTES } from "../../src/trace/format.ts";
import { OP_NAMES } from "../../src/core/ops.ts";
import { PROTOTYPE_NAMES, Values } from "./fuzz-values.ts";

const enc = new TextEncoder();
const BLOCK_HEADER = 12;

/** A scenario input: text, or raw bytes when the mutation broke the encoding. */
export type ScenarioInput = { text: string; bytes?: undefined } | { bytes: Uint8Array; text?: undefined };

type Json = Record<string, unknown>;
/** Stands for a value nested thousands deep until the text is written. */
const DEEP = "\u0000deep\u0000";

/** Every [container, key] in a JSON value, for picking a place to mutate (iterative: values can be deep). */
function places(root: unknown, limit = 4000): [Json | unknown[], string | number][] {
  const out: [Json | unknown[], string | number][] = [];
  const stack: unknown[] = [root];
  while (stack.length && out.length < limit) {
    const v = stack.pop();
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); stack.push(x); });
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) { out.push([v as Json, k]); stack.push(x); }
  }
  return out;
}

/** Bound names of the steps (their "as"), by the look of them: the mm, mapping, device and mirror names a new step may use. */
function boundNames(steps: unknown[]): string[] {
  const out: string[] = [];
  for (const x of steps) if (x && typeof x === "object" && typeof (x as Json).as === "string") out.push((x as Json).as as string);
  return out;
}

export class Mutator {
  /** Steps of the newer ops (mprotect, mremap, shared anonymous mmap, dmirror_*, read/write_range) inserted so far. */
  newerSteps = 0;
  constructor(readonly v: Values) {}

  /** A step of a newer op on the scenario's own names (or a wrong one), with plausible or mangled fields. */
  newerStep(steps: unknown[]): Json {
    const v = this.v;
    const r = v.rng;
    const names = boundNames(steps);
    const name = () => (names.length && r.chance(0.85) ? v.pick(names) : v.pick(["p", "nobody", "proc", "gpu", "fd", 0, 1]));
    const addr = () => v.pick([name(), "0x10000000", "0x10001000", `${names.length ? v.pick(names) : "buf"}+4K`, "0x10000001", 0]);
    const len = () => v.pick(["4K", "8K", "64K", "2M", "4M", 4096, 0, "-4K", "four K"]);
    this.newerSteps++;
    switch (r.below(9)) {
      case 0: return { op: "mprotect", mm: name(), addr: addr(), length: len(), prot: v.pick(["r", "rw", "none", "w", "x", 3]) };
      case 1: {
        const o: Json = { op: "mremap", mm: name(), addr: addr(), length: len(), newLength: len() };
        for (const k of ["maymove", "fixed", "dontunmap"]) if (r.chance(0.3)) o[k] = r.chance(0.9) ? true : "yes";
        if (r.chance(0.3)) o.newAddr = v.pick(["0x10100000", "0x10000000", "0x10100001", name()]);
        return o;
      }
      case 2: return { op: "mmap", mm: name(), length: len(), prot: "rw", shared: true, ...(r.chance(0.5) ? { addr: "0x10200000" } : {}), ...(r.chance(0.1) ? { huge: true } : {}), as: `shm${r.below(3)}` };
      case 3: return { op: "dmirror_new", kind: v.pick(["device-private", "device-coherent", "device-private", "fsdax", 1]), as: `dev${r.below(2)}` };
      case 4: return { op: "dmirror_open", device: v.pick([name(), "dev0", "dev1"]), mm: name(), as: `fd${r.below(2)}` };
      case 5: return { op: "dmirror_close", mirror: v.pick([name(), "fd0", "fd1"]) };
      case 6: return { op: v.pick(["dmirror_read", "dmirror_write", "dmirror_snapshot"]), mirror: v.pick([name(), "fd0", "fd1"]), addr: addr(), npages: v.pick([1, 2, 16, 1024, 0, -1, 4097]), ...(r.chance(0.4) ? { value: r.below(100), step: v.pick([1, -1, 1024]) } : {}) };
      case 7: return { op: v.pick(["write_range", "read_range"]), mm: name(), addr: addr(), length: len(), value: r.below(100), step: v.pick([0, 1, -1, 1024]) };
      default: return { expect: v.pick([{ mirror: v.pick([name(), "fd0"]), cpages: r.below(4) }, { mirror: v.pick([name(), "fd0"]), faults: r.below(2) }, { result: name(), value: 0 }]) };
    }
  }

  /** Structural: change the parsed scenario, then write it back as JSON (one step a line, like the built-ins). */
  structural(text: string): string {
    const v = this.v;
    const r = v.rng;
    const s = JSON.parse(text) as Json;
    const steps = s.steps as unknown[];
    switch (r.below(11)) {
      case 9: case 10: { // a step of a newer op (mprotect, mremap, shmem, dmirror, ranges) at a random place, on the scenario's names
        if (Array.isArray(steps)) steps.splice(r.below(steps.length + 1), 0, this.newerStep(steps));
        break;
      }
      case 0: case 1: { // replace any value (sometimes with one nested 10 000 deep, spliced in as text below)
        const p = places(s);
        const [c, k] = v.pick(p);
        (c as Json)[k as string] = r.chance(0.1) ? DEEP : v.jsonValue();
        break;
      }
      case 2: { // drop a key
        const objs = places(s).filter(([c]) => !Array.isArray(c));
        if (objs.length) { const [c, k] = v.pick(objs); delete (c as Json)[k as string]; }
        break;
      }
      case 3: { // add a key
        const objs = places(s).map(([c, k]) => (c as Json)[k as string]).filter((x) => x !== null && typeof x === "object" && !Array.isArray(x)) as Json[];
        const o = objs.length ? v.pick(objs) : s;
        o[v.pick(["op", "as", "mm", "addr", "length", "expect", "page", "bo", "value", "label", "note", "violations", "stats", "capacity", ...PROTOTYPE_NAMES])] = v.jsonValue();
        break;
      }
      case 4: { // an op name from anywhere
        const ops = steps.filter((x) => x && typeof x === "object" && "op" in (x as Json)) as Json[];
        if (ops.length) v.pick(ops).op = v.pick([...OP_NAMES, ...PROTOTYPE_NAMES, "OP_MMAP", ""]);
        break;
      }
      case 5: { // steps: delete, duplicate or swap
        if (steps.length > 1) {
          const i = r.below(steps.length);
          const j = r.below(steps.length);
          if (r.chance(0.4)) steps.splice(i, 1);
          else if (r.chance(0.5)) steps.splice(i, 0, steps[j]);
          else [steps[i], steps[j]] = [steps[j], steps[i]];
        }
        break;
      }
      case 6: s.schemes = v.pick([[], ["E2", "toString"], [{ base: "E2", rules: { tlbBatch: -1 } }], [{ base: "E9" }], ["E4", "E4"], "E2", [v.jsonValue()]]); break;
      case 7: s.capacity = v.pick([null, [], { systemPages: 2 ** 30 }, { processes: 2 ** 30 }, { batch: 2 ** 27 }, { filePages: 2 ** 30 }, { devicePages: 2 ** 26 }, { drivers: 0, bufferObjects: 0 }, { violationRecords: 0 }, { vmas: 0 }, { systemPages: 8 }]); break;
      default: steps.push(v.jsonValue());
    }
    const { steps: st, ...top } = s;
    const head = JSON.stringify(top).slice(0, -1);
    const out = `${head}${head.length > 1 ? "," : ""}\n"steps": ${Array.isArray(st) ? `[\n${st.map((x) => JSON.stringify(x)).join(",\n")}\n]` : JSON.stringify(st)}}\n`;
    return out.replaceAll(JSON.stringify(DEEP), () => v.deepText(1000 + r.below(10_000)));
  }

  /** Text-level: cut, insert, double a key, truncate. */
  textual(text: string): string {
    const v = this.v;
    const r = v.rng;
    const at = r.below(text.length + 1);
    switch (r.below(6)) {
      case 0: return text.slice(0, at) + text.slice(at + 1 + r.below(20));
      case 1: return text.slice(0, at) + v.pick(["{", "}", "[", "]", ",", ":", '"', "\\", "\n", "0", "-", "e9", "null", "\u2028", "\ud800"]) + text.slice(at);
      case 2: return text.slice(0, at);
      case 3: { // write a key of some object twice
        const keys = [...text.matchAll(/"(\w+)":\s*([^,{}[\]]+)/g)];
        if (!keys.length) return text;
        const m = v.pick(keys);
        const i = m.index! + m[0].length;
        return `${text.slice(0, i)}, "${m[1]}": ${m[2]}${text.slice(i)}`;
      }
      case 4: { const i = r.below(text.length); return text.slice(0, at) + text.slice(i, i + 1 + r.below(40)) + text.slice(at); }
      default: return text + v.pick([" ", "x", "}", "\n{}"]);
    }
  }

  /** A scenario input from a source file's text: 1 to 3 mutations, sometimes ending in a broken byte. */
  scenario(source: string): ScenarioInput {
    const r = this.v.rng;
    let text = source;
    for (let n = 1 + r.below(3); n > 0; n--) {
      let ok = true;
      try { JSON.parse(text); } catch { ok = false; }
      let next: string | undefined;
      if (ok && r.chance(0.6)) {
        try { next = this.structural(text); } catch { next = undefined; } // JSON.stringify recurses: a value nested 10 000 deep is too deep for it
      }
      text = next ?? this.textual(text);
    }
    if (!r.chance(0.08)) return { text };
    const bytes = enc.encode(text);
    bytes[r.below(bytes.length)] = this.v.pick([0x80, 0xbf, 0xc0, 0xc3, 0xe0, 0xed, 0xf4, 0xf8, 0xff]);
    return { bytes };
  }

  /** A mutated trace: bytes flipped, cut or added, or header / meta / records changed with their checksums fixed. */
  trace(src: Uint8Array): Uint8Array {
    const v = this.v;
    const r = v.rng;
    const b = new Uint8Array(src);
    const dv = new DataView(b.buffer);
    const metaLen = dv.getUint32(12, true);
    const fixHeader = (bytes: Uint8Array) => {
      const d = new DataView(bytes.buffer, bytes.byteOffset);
      const m = d.getUint32(12, true);
      if (HEADER_BYTES + m <= bytes.length) d.setUint32(28, crc32(bytes, HEADER_BYTES, HEADER_BYTES + m, crc32(bytes, 0, 28)), true);
      return bytes;
    };
    switch (r.below(7)) {
      case 0: b[r.below(b.length)] ^= 1 << r.below(8); return b;
      case 1: return b.subarray(0, r.below(b.length));
      case 2: return new Uint8Array([...b, ...Array.from({ length: 1 + r.below(16) }, () => r.below(256))]);
      case 3: { // a header count or length, checksum fixed
        dv.setUint32(v.pick([12, 16, 20, 24]), v.pick([0, 1, metaLen + 1, 0xffffffff, dv.getUint32(16, true) + 1, r.below(1 << 20)]), true);
        return fixHeader(b);
      }
      case 4: { // the meta JSON: capacity, scheme, seed or final state, checksum fixed
        const meta = JSON.parse(new TextDecoder().decode(b.subarray(HEADER_BYTES, HEADER_BYTES + metaLen))) as Json;
        const field = v.pick(["capacity", "scheme", "seed", "final", "engineVersion", "source"]);
        meta[field] = field === "capacity"
          ? { ...(meta.capacity as Json), ...v.capacity(["systemPages", "devicePages", "processes", "vmas", "pteTables", "pmdTables", "files", "filePages", "drivers", "bufferObjects", "gupHandles", "violationRecords", "batch", "hugePages"]) }
          : v.jsonValue();
        const json = enc.encode(JSON.stringify(meta));
        const out = new Uint8Array(HEADER_BYTES + json.length + b.length - HEADER_BYTES - metaLen);
        out.set(b.subarray(0, HEADER_BYTES));
        out.set(json, HEADER_BYTES);
        out.set(b.subarray(HEADER_BYTES + metaLen), HEADER_BYTES + json.length);
        new DataView(out.buffer).setUint32(12, json.length, true);
        return fixHeader(out);
      }
      default: { // a record inside the first block: op code, argument count or a varint byte, block checksum fixed
        const p = HEADER_BYTES + metaLen;
        if (p + BLOCK_HEADER > b.length) return b;
        const len = dv.getUint32(p, true);
        const payload = p + BLOCK_HEADER;
        if (len === 0 || payload + len > b.length) return b;
        const at = payload + r.below(len);
        b[at] = r.chance(0.5) ? r.below(256) : (b[at] & 0xe0) | v.pick([0, 31, 30, 1 + r.below(31)]);
        dv.setUint32(p + 8, crc32(b, payload, payload + len), true);
        return b;
      }
    }
  }
}
