/**
 * Counter-layer options: which counter implementation stores _refcount, how many
 * simulated CPUs there are, and the cost model's parameters. Validation here names
 * the field at fault; the engine and the TypeScript model share it.
 *
 * Default costs (perf-anchors.md G11, from Pedro Falcato's lock xadd figures on
 * LKML, "mm: improve folio refcount scalability", 2026-03-01: 2.76 ns uncontended,
 * 42 / 85 / 226 ns per op with 4 / 8 / 16 threads on one line): local hit 1 ns,
 * uncontended atomic 3 ns, line transfer 40 ns within a socket and 100 ns across.
 * Contention: a line serializes its transfers (the queue is what makes per-op
 * latency grow with contenders), and each other CPU queued on the line adds
 * contenderNs to a transfer. Cycles are a model; counts are exact.
 *
 * @example
 * ```ts
 * import { resolveCounterOptions } from "./options.ts";
 * const r = resolveCounterOptions({ counter: "refcache", cpus: 8 });
 * console.log(r.counter, r.cpus, r.cost.epochNs); // refcache 8 10000000
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError, shown } from "../core/errors.ts";

export const COUNTER_NAMES = ["atomic", "percpu", "refcache", "snzi"] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

export const COUNTER_CODES: Record<CounterName, number> = {
  atomic: abi.COUNTER_ATOMIC,
  percpu: abi.COUNTER_PERCPU,
  refcache: abi.COUNTER_REFCACHE,
  snzi: abi.COUNTER_SNZI,
};

/** What each implementation models, for tables and help text. */
export const COUNTER_TEXT: Record<CounterName, string> = {
  atomic: "one shared atomic_t in struct page (today's _refcount): every get/put is an RMW on the page's line",
  percpu: "percpu_ref (percpu-refcount.h) / sloppy counters (OSDI'10): per-CPU counts; kill + RCU grace period + sum, then atomic mode",
  refcache: "Refcache (RadixVM EuroSys'13, sv6 refcache.hh): per-CPU 4096-way delta caches, epoch flush, review queue",
  snzi: "SNZI (PODC'07): per-object tree; a node tells its parent only on its own 0<->1, zero seen at the root",
};

export interface CostModel {
  /** A hit in the CPU's own cache, non-atomic (ns). */
  localNs: number;
  /** An atomic RMW on a line the CPU already owns (ns). */
  atomicNs: number;
  /** A cache-line transfer within a socket (ns). */
  transferNs: number;
  /** A cache-line transfer between sockets (ns). */
  crossSocketNs: number;
  /** Added to a transfer per other CPU queued on the same line (ns). */
  contenderNs: number;
  /** The rest of an op's work, which the model does not itemize: local, never contended (ns). */
  opNs: number;
  /** Refcache epoch: each CPU flushes its delta cache once per epoch (ns). */
  epochNs: number;
  /** percpu_ref: RCU grace period between kill and sum (ns). */
  graceNs: number;
  cpusPerSocket: number;
  /** SNZI: CPUs arriving at one leaf. */
  snziLeafCpus: number;
  /** SNZI: children per inner node. */
  snziArity: number;
  /** Refcache: flushes of every CPU after a zero before the object is freed (0 frees at once: unsafe). */
  reviewEpochs: number;
}

export const DEFAULT_COST: Readonly<CostModel> = Object.freeze({
  localNs: 1,
  atomicNs: 3,
  transferNs: 40,
  crossSocketNs: 100,
  contenderNs: 12,
  opNs: 50,
  epochNs: 10_000_000,
  graceNs: 10_000_000,
  cpusPerSocket: 10,
  snziLeafCpus: 1,
  snziArity: 2,
  reviewEpochs: 1,
});

const COST_SLOTS: Record<keyof CostModel, [kind: "ns" | "int", slot: number]> = {
  localNs: ["ns", abi.COST_LOCAL],
  atomicNs: ["ns", abi.COST_ATOMIC],
  transferNs: ["ns", abi.COST_TRANSFER],
  crossSocketNs: ["ns", abi.COST_CROSS_SOCKET],
  contenderNs: ["ns", abi.COST_CONTENDER],
  opNs: ["ns", abi.COST_OP],
  epochNs: ["ns", abi.COST_EPOCH],
  graceNs: ["ns", abi.COST_GRACE],
  cpusPerSocket: ["int", abi.CTR_CPUS_PER_SOCKET],
  snziLeafCpus: ["int", abi.CTR_SNZI_LEAF_CPUS],
  snziArity: ["int", abi.CTR_SNZI_ARITY],
  reviewEpochs: ["int", abi.CTR_REVIEW_EPOCHS],
};

export interface CounterOptions {
  /** Counter implementation; the layer (and the cost model) is off when not given. */
  counter?: CounterName;
  /** Simulated CPUs (1..128); `cpu` ops must name one of them. Default 1. */
  cpus?: number;
  /** Cost-model parameters over DEFAULT_COST. */
  cost?: Partial<CostModel>;
}

export interface ResolvedCounter {
  counter: CounterName | null;
  cpus: number;
  cost: CostModel;
}

function bad(field: string, why: string): never {
  throw new RefsimError(`${field} ${why}`, { field, code: "BAD_OPTION" });
}

/** Defaults overlaid with the options, every field checked (RefsimError names it). */
export function resolveCounterOptions(o: CounterOptions = {}): ResolvedCounter {
  let counter: CounterName | null = null;
  if (o.counter !== undefined) {
    if (typeof o.counter !== "string" || !(COUNTER_NAMES as readonly string[]).includes(o.counter)) {
      bad("counter", `must be one of ${COUNTER_NAMES.join(", ")}, got ${shown(o.counter)}`);
    }
    counter = o.counter;
  }
  const cpus = o.cpus ?? 1;
  if (typeof cpus !== "number" || !Number.isInteger(cpus) || cpus < 1 || cpus > abi.MAX_CPUS) {
    bad("cpus", `must be a whole number 1..${abi.MAX_CPUS}, got ${shown(o.cpus)}`);
  }
  const cost: CostModel = { ...DEFAULT_COST };
  if (o.cost !== undefined) {
    if (o.cost === null || typeof o.cost !== "object" || Array.isArray(o.cost)) bad("cost", `must be an object, got ${shown(o.cost)}`);
    for (const [k, v] of Object.entries(o.cost)) {
      const spec = Object.hasOwn(COST_SLOTS, k) ? COST_SLOTS[k as keyof CostModel] : undefined; // not "toString"
      if (!spec) bad(`cost.${k}`, `is unknown (fields: ${Object.keys(COST_SLOTS).join(", ")})`);
      if (v === undefined) continue;
      const min = k === "epochNs" || k === "graceNs" || k === "cpusPerSocket" || k === "snziLeafCpus" ? Number.MIN_VALUE : k === "snziArity" ? 2 : 0;
      if (typeof v !== "number" || !Number.isFinite(v) || v < min || (spec[0] === "int" && !Number.isInteger(v)) || v > 2 ** 31 - 1) {
        bad(`cost.${k}`, `must be a ${spec[0] === "int" ? "whole number" : "number of ns"} >= ${min === Number.MIN_VALUE ? (spec[0] === "int" ? 1 : "> 0") : min}, got ${shown(v)}`);
      }
      (cost as unknown as Record<string, number>)[k] = v;
    }
  }
  if (counter === null && o.cost !== undefined) bad("cost", "needs a counter (the cost model runs with the counter layer)");
  return { counter, cpus, cost };
}

/** Write the resolved options into the core's config block (CTR_WORDS i32, then COST_WORDS f64). */
export function encodeCounterConfig(r: ResolvedCounter, ints: Int32Array, ns: Float64Array): void {
  ints.fill(0);
  ns.fill(0);
  ints[abi.CTR_COUNTER] = r.counter === null ? 0 : COUNTER_CODES[r.counter];
  ints[abi.CTR_CPUS] = r.cpus;
  for (const [k, [kind, slot]] of Object.entries(COST_SLOTS)) {
    const v = (r.cost as unknown as Record<string, number>)[k];
    if (kind === "int") ints[slot] = v;
    else ns[slot] = v;
  }
}

/** Kernel-equivalent memory of one counter (what the scheme would cost in a kernel, not the simulator's bytes). */
export function counterMemory(counter: CounterName, cpus: number, cost: CostModel): { perPage: number; perCpu: number; note: string } {
  switch (counter) {
    case "atomic":
      return { perPage: 4, perCpu: 0, note: "atomic_t inside the 64 B struct page" };
    case "percpu":
      return { perPage: 16 + 56 + 8 * cpus, perCpu: 0, note: "struct percpu_ref (2 words) + percpu_ref_data (~56 B) + 8 B per CPU (O(pages x CPUs))" };
    case "refcache":
      return { perPage: 40, perCpu: 4096 * 16, note: "sv6 object header (~40 B) + 4096 ways x 16 B per CPU" };
    case "snzi": {
      const nodes = snziNodes(cpus, cost.snziLeafCpus, cost.snziArity);
      return { perPage: nodes * 64, perCpu: 0, note: `${nodes} tree nodes, one 64 B line each (O(CPUs) per page)` };
    }
  }
}

/** SNZI tree size, as assembly/counters/snzi.ts builds it. */
export function snziNodes(cpus: number, perLeaf: number, arity: number): number {
  let level = Math.ceil(cpus / perLeaf);
  let total = level;
  while (level > 1) {
    level = Math.ceil(level / arity);
    total += level;
  }
  return total;
}
