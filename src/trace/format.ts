/**
 * The binary trace format: an op stream that replays bit-identically.
 *
 * Layout (all integers little-endian):
 *
 *   0  8 bytes  magic "RSTRACE\0"
 *   8  u16      format version (TRACE_FORMAT_VERSION)
 *  10  u16      flags (0)
 *  12  u32      meta length M
 *  16  u32      op count
 *  20  u32      block count
 *  24  u32      body length B (bytes of all blocks)
 *  28  u32      CRC-32 of bytes 0..27 and the meta
 *  32  M bytes  meta: UTF-8 JSON (TraceMeta: engine version, resolved scheme, capacity, seed, source, final state)
 *  32+M         blocks, each: u32 payload length L, u32 ops k, u32 CRC-32 of the payload, L bytes of k records
 *
 * A record is one byte `opcode | nargs << 5` (nargs: how many of a0..a6 follow,
 * trailing zeros dropped; from format 2 an opcode of 32 or more is written as
 * 0 in that byte and the opcode in the next) and then each argument as a zigzag LEB128 varint, so a
 * typical op takes 4-8 bytes instead of the core's 32. Every block is checked
 * before anything runs: a truncated or corrupted trace is rejected with a
 * RefsimError naming the byte offset, and nothing of it is replayed.
 *
 * Web-standard APIs only (TextEncoder, typed arrays, DataView); files are read and
 * written by the CLI.
 *
 * @example
 * ```ts
 * import { TraceWriter, decodeTrace } from "./format.ts";
 * const w = new TraceWriter();
 * w.append(new Int32Array([1, 0, 0, 0, 0, 0, 0, 0]), 1); // mm_new
 * const bytes = w.finish({ source: "example", seed: null, scheme: { name: "E2" }, capacity: {} });
 * const t = decodeTrace(bytes);
 * console.log(t.ops, t.meta.source, Array.from(t.words().next().value!.words.slice(0, 1))); // 1 example [ 1 ]
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError } from "../core/errors.ts";

export const TRACE_MAGIC = new Uint8Array([0x52, 0x53, 0x54, 0x52, 0x41, 0x43, 0x45, 0x00]); // "RSTRACE\0"
export const TRACE_FORMAT_VERSION = 2; // 2: opcodes >= 32 (cpu, mprotect, mremap, ...) after an escape byte; 1 is read too
/** The engine version written when the caller gives none (package.json's version). */
export const ENGINE_VERSION = "0.1.0";
export const HEADER_BYTES = 32;
const BLOCK_HEADER = 12;
/** Ops per block. */
export const BLOCK_OPS = 4096;
const W = abi.OP_WORDS;

/** What the header says about a trace. */
export interface TraceMeta {
  engineVersion: string;
  /** The resolved scheme (a preset or custom scheme with every rule), so a custom scheme replays without its file. */
  scheme: unknown;
  /** The engine capacity the ops ran on. */
  capacity: unknown;
  /** The generator's seed, or null. */
  seed: number | null;
  /** What produced the stream: "scenario seed", "workload mix", "explore E0-devmap episode 3". */
  source: string;
  /** State after the last op, for the replay to compare. */
  final?: TraceFinal;
  [extra: string]: unknown;
}

export interface TraceFinal {
  /** FNV-1a of every op's result, or null when some results were not observed (a rejected op ended a call). */
  resultsHash: number | null;
  /** The engine's statistics after the last op. */
  stats: unknown;
  /** FNV-1a of the JSON of every violation record. */
  violationsHash: number;
  violations: number;
}

// ---------------------------------------------------------------- checksums

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib) of bytes[from, to), continuing from `crc`. */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length, crc = 0): number {
  let c = ~crc;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a over i32 words, continuing from h. */
export function fnvWords(words: ArrayLike<number>, n: number, h = FNV_OFFSET): number {
  let x = h | 0;
  for (let i = 0; i < n; i++) x = Math.imul(x ^ words[i], 0x01000193);
  return x >>> 0;
}

/** FNV-1a over a string's UTF-16 code units. */
export function fnvString(s: string, h = FNV_OFFSET): number {
  let x = h | 0;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193);
  return x >>> 0;
}

// ---------------------------------------------------------------- writing

/** A growable byte buffer. */
class Bytes {
  buf = new Uint8Array(1 << 12);
  n = 0;
  ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.n] = v; b[this.n + 1] = v >>> 8; b[this.n + 2] = v >>> 16; b[this.n + 3] = v >>> 24;
    this.n += 4;
  }
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.n);
    this.n += src.length;
  }
}

/**
 * Collects op records into checksummed blocks; finish() adds the header. Only ops
 * the engine accepted belong in a trace.
 */
export class TraceWriter {
  #body = new Bytes();
  #block = new Bytes();
  #blockOps = 0;
  #blocks = 0;
  #ops = 0;

  get ops(): number { return this.#ops; }

  /** Append `count` op records (abi.OP_WORDS words each) from words[from*8...]. */
  append(words: Int32Array, count: number, from = 0): void {
    for (let i = 0; i < count; i++) {
      const o = (from + i) * W;
      const code = words[o];
      if (code < 1 || code > 255) throw new RefsimError(`trace: op code ${code} does not fit the record format`, { code: "BAD_TRACE" });
      let nargs = W - 1;
      while (nargs > 0 && words[o + nargs] === 0) nargs--;
      const blk = this.#block;
      blk.ensure(2 + nargs * 5);
      const b = blk.buf;
      let n = blk.n;
      if (code < 32) b[n++] = code | (nargs << 5);
      else { b[n++] = nargs << 5; b[n++] = code; } // the escape: opcode 0, then the opcode
      for (let k = 1; k <= nargs; k++) {
        const v = words[o + k];
        let z = ((v << 1) ^ (v >> 31)) >>> 0; // zigzag
        while (z >= 0x80) { b[n++] = (z & 0x7f) | 0x80; z >>>= 7; }
        b[n++] = z;
      }
      blk.n = n;
      this.#ops++;
      if (++this.#blockOps === BLOCK_OPS) this.#seal();
    }
  }

  #seal(): void {
    if (this.#blockOps === 0) return;
    const blk = this.#block;
    this.#body.u32(blk.n);
    this.#body.u32(this.#blockOps);
    this.#body.u32(crc32(blk.buf, 0, blk.n));
    this.#body.bytes(blk.buf.subarray(0, blk.n));
    blk.n = 0;
    this.#blockOps = 0;
    this.#blocks++;
  }

  /** The whole trace file. `meta.engineVersion` defaults to ENGINE_VERSION. */
  finish(meta: Omit<TraceMeta, "engineVersion"> & { engineVersion?: string }): Uint8Array {
    this.#seal();
    const full = { engineVersion: ENGINE_VERSION, ...meta };
    const json = new TextEncoder().encode(JSON.stringify(full));
    const body = this.#body;
    const out = new Uint8Array(HEADER_BYTES + json.length + body.n);
    const dv = new DataView(out.buffer);
    out.set(TRACE_MAGIC, 0);
    dv.setUint16(8, TRACE_FORMAT_VERSION, true);
    dv.setUint16(10, 0, true);
    dv.setUint32(12, json.length, true);
    dv.setUint32(16, this.#ops, true);
    dv.setUint32(20, this.#blocks, true);
    dv.setUint32(24, body.n, true);
    out.set(json, HEADER_BYTES);
    dv.setUint32(28, crc32(json, 0, json.length, crc32(out, 0, 28)), true);
    out.set(body.buf.subarray(0, body.n), HEADER_BYTES + json.length);
    return out;
  }
}

// ---------------------------------------------------------------- reading

function bad(msg: string, offset: number): never {
  throw new RefsimError(`trace: ${msg}`, { field: `byte ${offset}`, index: offset, code: "BAD_TRACE" });
}

export interface TraceBlock {
  /** Index of the block's first op in the stream. */
  firstOp: number;
  ops: number;
  /** Byte offset of the block's first record. */
  offset: number;
  /** Decoded op records, abi.OP_WORDS words each (valid until the next block). */
  words: Int32Array;
}

export interface DecodedTrace {
  meta: TraceMeta;
  formatVersion: number;
  ops: number;
  blocks: number;
  bytes: number;
  /** Decode the blocks one at a time (already validated). */
  words(): Generator<TraceBlock>;
  /** Byte offset of op `index`'s record. */
  offsetOf(index: number): number;
}

interface BlockRef { offset: number; length: number; ops: number; firstOp: number }

/** Decode records of one block into words; throws naming the byte offset of a bad record. */
function decodeBlock(bytes: Uint8Array, b: BlockRef, words: Int32Array, version: number, offsets?: number[]): void {
  let p = b.offset;
  const end = b.offset + b.length;
  for (let i = 0; i < b.ops; i++) {
    if (p >= end) bad(`block at byte offset ${b.offset - BLOCK_HEADER} ends after ${i} of its ${b.ops} records (record ${b.firstOp + i} at byte offset ${p})`, p);
    offsets?.push(p);
    const head = bytes[p++];
    let code = head & 31;
    const nargs = head >>> 5;
    if (code === 0 && version >= 2) {
      if (p >= end) bad(`record ${b.firstOp + i} runs past the end of its block at byte offset ${p}`, p);
      code = bytes[p++];
      if (code < 32) bad(`escaped op code ${code} in record ${b.firstOp + i} at byte offset ${p - 1} (only codes of 32 and more are escaped)`, p - 1);
    }
    if (code < 1 || code >= abi.OP_COUNT) bad(`bad op code ${code} in record ${b.firstOp + i} at byte offset ${p - 1}`, p - 1);
    const o = i * W;
    words[o] = code;
    for (let k = 1; k < W; k++) {
      if (k > nargs) { words[o + k] = 0; continue; }
      let z = 0;
      let shift = 0;
      for (;;) {
        if (p >= end) bad(`record ${b.firstOp + i} runs past the end of its block at byte offset ${p}`, p);
        const c = bytes[p++];
        if (shift === 28 && c > 0x0f) bad(`varint too long in record ${b.firstOp + i} at byte offset ${p - 1}`, p - 1);
        z |= (c & 0x7f) << shift;
        if ((c & 0x80) === 0) break;
        shift += 7;
      }
      words[o + k] = (z >>> 1) ^ -(z & 1);
    }
  }
  if (p !== end) bad(`block at byte offset ${b.offset - BLOCK_HEADER} has ${end - p} bytes after its ${b.ops} records (at byte offset ${p})`, p);
}

/**
 * Check and open a trace: header, meta, every block's length and checksum and
 * every record. Throws RefsimError naming the byte offset of the first problem;
 * nothing is decoded for use until all of it passed.
 */
export function decodeTrace(bytes: Uint8Array): DecodedTrace {
  if (bytes.length < HEADER_BYTES) bad(`truncated at byte offset ${bytes.length}: the header needs ${HEADER_BYTES} bytes`, bytes.length);
  for (let i = 0; i < TRACE_MAGIC.length; i++) {
    if (bytes[i] !== TRACE_MAGIC[i]) bad(`not a refsim trace: bad magic at byte offset ${i} (expected "RSTRACE\\0")`, i);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(8, true);
  if (version < 1 || version > TRACE_FORMAT_VERSION) bad(`format version ${version} at byte offset 8 is not supported (this build reads versions 1 to ${TRACE_FORMAT_VERSION})`, 8);
  const metaLen = dv.getUint32(12, true);
  const ops = dv.getUint32(16, true);
  const nBlocks = dv.getUint32(20, true);
  const bodyLen = dv.getUint32(24, true);
  const metaEnd = HEADER_BYTES + metaLen;
  if (bytes.length < metaEnd) bad(`truncated at byte offset ${bytes.length}: the header's meta needs bytes up to offset ${metaEnd}`, bytes.length);
  const want = dv.getUint32(28, true);
  if (crc32(bytes, HEADER_BYTES, metaEnd, crc32(bytes, 0, 28)) !== want) {
    bad(`corrupted header: the checksum at byte offset 28 does not match bytes 0..${metaEnd - 1}`, 0);
  }
  let meta: TraceMeta;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER_BYTES, metaEnd)));
  } catch (e) {
    bad(`meta at byte offset ${HEADER_BYTES} is not valid JSON (${(e as Error).message})`, HEADER_BYTES);
  }
  if (meta === null || typeof meta !== "object" || typeof meta.engineVersion !== "string") bad(`meta at byte offset ${HEADER_BYTES} lacks engineVersion`, HEADER_BYTES);
  const end = metaEnd + bodyLen;
  if (bytes.length < end) {
    // find the block the file ends in, for the message
    let p = metaEnd;
    let k = 0;
    while (k < nBlocks && p + BLOCK_HEADER <= bytes.length) {
      const len = dv.getUint32(p, true);
      if (p + BLOCK_HEADER + len > bytes.length) break;
      p += BLOCK_HEADER + len;
      k++;
    }
    bad(`truncated at byte offset ${bytes.length}: ${end - bytes.length} bytes of ${bodyLen} missing (block ${k} of ${nBlocks} starts at byte offset ${p})`, bytes.length);
  }
  if (bytes.length > end) bad(`${bytes.length - end} unexpected bytes after the last block, from byte offset ${end}`, end);
  const blocks: BlockRef[] = [];
  let p = metaEnd;
  let firstOp = 0;
  const scratch = new Int32Array(BLOCK_OPS * W);
  for (let k = 0; k < nBlocks; k++) {
    if (p + BLOCK_HEADER > end) bad(`truncated at byte offset ${end}: block ${k} of ${nBlocks} needs a ${BLOCK_HEADER}-byte header at byte offset ${p}`, p);
    const len = dv.getUint32(p, true);
    const n = dv.getUint32(p + 4, true);
    const crc = dv.getUint32(p + 8, true);
    if (n < 1 || n > BLOCK_OPS) bad(`block ${k} at byte offset ${p} claims ${n} ops (1..${BLOCK_OPS})`, p + 4);
    if (p + BLOCK_HEADER + len > end) bad(`block ${k} at byte offset ${p} claims ${len} bytes, past the end of the body at byte offset ${end}`, p);
    if (crc32(bytes, p + BLOCK_HEADER, p + BLOCK_HEADER + len) !== crc) {
      bad(`corrupted block ${k} (ops ${firstOp}..${firstOp + n - 1}): checksum mismatch over bytes ${p + BLOCK_HEADER}..${p + BLOCK_HEADER + len - 1} (block at byte offset ${p})`, p + BLOCK_HEADER);
    }
    const b = { offset: p + BLOCK_HEADER, length: len, ops: n, firstOp };
    decodeBlock(bytes, b, scratch, version);
    blocks.push(b);
    firstOp += n;
    p += BLOCK_HEADER + len;
  }
  if (p !== end) bad(`${end - p} bytes after block ${nBlocks - 1} at byte offset ${p} belong to no block`, p);
  if (firstOp !== ops) bad(`the header at byte offset 16 says ${ops} ops, the blocks hold ${firstOp}`, 16);
  return {
    meta,
    formatVersion: version,
    ops,
    blocks: nBlocks,
    bytes: bytes.length,
    *words() {
      for (const b of blocks) {
        decodeBlock(bytes, b, scratch, version);
        yield { firstOp: b.firstOp, ops: b.ops, offset: b.offset, words: scratch.subarray(0, b.ops * W) };
      }
    },
    offsetOf(index: number): number {
      const b = blocks.find((x) => index >= x.firstOp && index < x.firstOp + x.ops);
      if (!b) return -1;
      const offsets: number[] = [];
      decodeBlock(bytes, b, new Int32Array(b.ops * W), version, offsets);
      return offsets[index - b.firstOp];
    },
  };
}
