/**
 * A trace as text, for people and for kernel tooling: `dumpTrace` lists the
 * header and every op record (one line each, fields named, addresses in bytes);
 * `pageHistory` replays the trace and reports every op that changed one page
 * frame's counts, in the shape of the kernel's `page_ref_*` tracepoints
 * (include/trace/events/page_ref.h: "pfn=0x%lx ... count=%d mapcount=%d ... val=%d").
 *
 * A tracepoint fires at each count change inside the kernel; refsim sees the page
 * between ops, so one line is the net change of one op (`val`), named as the
 * kernel would name that change: page_ref_set when the page is (re)allocated
 * (set_page_count), page_ref_mod_and_test when the count drops to 0
 * (put_page_testzero), page_ref_mod otherwise; a change of mapcount or pincount
 * alone is a `mapcount` line (no tracepoint in the kernel).
 *
 * @example
 * ```ts
 * import { Engine } from "../core/engine.ts";
 * import { TraceRecorder } from "./record.ts";
 * import { dumpTrace, pageHistory } from "./dump.ts";
 * const rec = new TraceRecorder(await Engine.create({ scheme: "E4" }), { source: "by hand" });
 * rec.run([{ op: "mm_new" }, { op: "mmap", mm: 0, length: 4096 }, { op: "write", mm: 0, addr: 0x10000000, value: 1 }]);
 * const t = rec.finish();
 * console.log([...dumpTrace(t)].at(-1)); // op 2 write mm=0 addr=0x10000000 value=1
 * console.log((await pageHistory(t, 1)).events.length > 0); // true
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { PAGE_SIZE, OP_FIELDS, OP_NAME_BY_CODE, type OpName } from "../core/ops.ts";
import { RefsimError } from "../core/errors.ts";
import type { FrameInfo } from "../core/engine.ts";
import type { SchemeInput } from "../scheme/resolve.ts";
import { decodeTrace, type TraceMeta } from "./format.ts";
import { recordedSchemeName, traceEngine } from "./replay.ts";

const W = abi.OP_WORDS;

// Record slots hold pages where the op fields hold bytes (src/core/ops.ts encodes them).
const PAGES_TO_BYTES = new Set(["addr", "newAddr", "length", "newLength"]);

/** One op record as text: "op 7 gup mm=0 addr=0x10000000 write=1". */
export function describeRecord(index: number, words: Int32Array, at = 0): string {
  const code = words[at];
  const name = OP_NAME_BY_CODE[code] ?? `op#${code}`;
  const fields = OP_FIELDS[name as OpName] ?? [];
  const parts = [`op ${index}`, name];
  for (let k = 1; k < W; k++) {
    const v = words[at + k];
    const f = fields[k - 1];
    if (f === undefined) {
      if (v !== 0) parts.push(`a${k - 1}=${v}`);
      continue;
    }
    if (f.endsWith("ddr") && v === -1) parts.push(`${f}=any`);
    else if ((name === "gup" && f === "write") || (name === "mmap" && f === "prot")) parts.push(`${name === "gup" ? "gupflags" : "vmflags"}=0x${v.toString(16)}`);
    else if (PAGES_TO_BYTES.has(f)) parts.push(f.endsWith("ddr") ? `${f}=0x${((v >>> 0) * PAGE_SIZE).toString(16)}` : `${f}=${(v >>> 0) * PAGE_SIZE}`);
    else parts.push(`${f}=${v}`);
  }
  return parts.join(" ");
}

/** The header and every record, one line each (a generator: a 10 M-op trace is never held as text). */
export function* dumpTrace(bytes: Uint8Array): Generator<string> {
  const t = decodeTrace(bytes);
  const m = t.meta;
  yield `# refsim trace: ${m.source}; scheme ${recordedSchemeName(m)}, seed ${m.seed ?? "-"}, engine ${m.engineVersion}, format ${t.formatVersion}; ${t.ops} ops in ${t.blocks} blocks, ${t.bytes} bytes`;
  yield `# capacity ${JSON.stringify(m.capacity)}`;
  if (m.final) yield `# final: ${m.final.violations} violation record(s); results hash ${m.final.resultsHash === null ? "not kept" : `0x${(m.final.resultsHash >>> 0).toString(16)}`}`;
  for (const b of t.words()) for (let i = 0; i < b.ops; i++) yield describeRecord(b.firstOp + i, b.words, i * W);
}

export interface PageEvent {
  /** The op that made the change, and its text. */
  op: number;
  what: string;
  /** page_ref_set, page_ref_mod, page_ref_mod_and_test, or mapcount (mapcount or pincount only). */
  event: "page_ref_set" | "page_ref_mod" | "page_ref_mod_and_test" | "mapcount";
  before: FrameInfo;
  after: FrameInfo;
  /** The op's net refcount change. */
  val: number;
  /** The op's result (a handle, an address in pages, -errno). */
  result: number;
}

export interface PageHistory {
  meta: TraceMeta;
  pfn: number;
  scheme: string;
  ops: number;
  events: PageEvent[];
  /** Set when the replay stopped at a rejected op (under another scheme, say). */
  stopped?: string;
}

const changed = (a: FrameInfo, b: FrameInfo) =>
  a.refcount !== b.refcount || a.mapcount !== b.mapcount || a.pincount !== b.pincount || a.allocated !== b.allocated || a.kind !== b.kind;

/** Replay the trace op by op (under its scheme, or `scheme`) and keep every change of frame `pfn`. */
export async function pageHistory(bytes: Uint8Array, pfn: number, options: { scheme?: SchemeInput } = {}): Promise<PageHistory> {
  const t = decodeTrace(bytes);
  const engine = await traceEngine(t.meta, options.scheme);
  if (!Number.isInteger(pfn) || pfn < 0) throw new RefsimError(`page history: pfn must be a frame number, got ${pfn}`, { field: "pfn" });
  let before = engine.frame(pfn); // names the engine's frame range when pfn is past it
  const events: PageEvent[] = [];
  let stopped: string | undefined;
  let ran = 0;
  done: for (const b of t.words()) {
    for (let i = 0; i < b.ops; i++) {
      const rec = b.words.subarray(i * W, (i + 1) * W);
      let result: number;
      try {
        result = engine.runEncoded(rec, 1)[0];
      } catch (e) {
        if (!(e instanceof RefsimError)) throw e;
        stopped = `${describeRecord(b.firstOp + i, rec)}: rejected: ${e.message}`;
        break done;
      }
      ran++;
      const after = engine.frame(pfn);
      if (changed(before, after)) {
        const val = after.refcount - before.refcount;
        const event = !before.allocated && after.allocated ? "page_ref_set"
          : val === 0 ? "mapcount"
          : after.refcount === 0 ? "page_ref_mod_and_test" : "page_ref_mod";
        events.push({ op: b.firstOp + i, what: describeRecord(b.firstOp + i, rec), event, before, after, val, result });
      }
      before = after;
    }
  }
  return { meta: t.meta, pfn, scheme: engine.scheme.name, ops: ran, events, ...(stopped ? { stopped } : {}) };
}

/** One event as a tracepoint-shaped line: "page_ref_mod: pfn=0x5 count=2 mapcount=1 pincount=0 val=1 kind=system <- op 9 gup ...". */
export function formatPageEvent(e: PageEvent): string {
  const a = e.after;
  const ret = e.event === "page_ref_mod_and_test" ? ` ret=${a.refcount === 0 ? 1 : 0}` : "";
  const flags = [a.anon ? "anon" : "", a.anonExclusive ? "anon_exclusive" : "", a.pageCache ? "pagecache" : "", a.large ? `large(head 0x${a.head.toString(16)})` : ""].filter(Boolean).join("|") || "-";
  return `${e.event}: pfn=0x${a.pfn.toString(16)} flags=${flags} count=${a.refcount} mapcount=${a.mapcount} pincount=${a.pincount} val=${e.val}${ret} kind=${a.kind} <- ${e.what} = ${e.result}`;
}
