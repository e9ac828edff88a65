/**
 * The explorer's target over the real kernel model: the threads of a scenario's
 * concurrent section, each a list of op steps, run on an Engine (the WASM core)
 * or on the TypeScript Model. An op is one atomic step, unless its kernel path
 * drops a lock the other CPUs can then get in behind; such an op is cut into
 * steps where the kernel drops it (./kernel-steps.ts says where).
 *
 * State: the section start is saved once; the Engine saves and restores its whole
 * core (Engine.saveState / loadState) so the explorer backtracks without replay;
 * the Model has no snapshot, so a reset rebuilds it from the setup steps.
 *
 * Footprints: the steps of GUP-fast, fork and munmap name what they touched
 * (./footprints.ts, ./gup-fast-steps.ts), so sleep sets prune among them; every
 * other step (a whole op, a half of a fault) is GLOBAL: refsim does not itemise it.
 *
 * @example
 * ```ts
 * import { kernelTarget } from "./kernel-target.ts";
 * import { exhaustive } from "./sleepsets.ts";
 * const setup = [
 *   { op: "mm_new", as: "p" },
 *   { op: "mmap", mm: "p", addr: "0x10000000", length: "4K", prot: "rw", as: "buf" },
 *   { op: "write", mm: "p", addr: "buf", value: 1 },
 *   { op: "driver_new", kind: "device-private", pages: 4, as: "gpu" },
 *   { op: "migrate_to_device", mm: "p", addr: "buf", length: "4K", driver: "gpu" },
 * ];
 * const threads = [
 *   { name: "A", ops: [{ op: "read", mm: "p", addr: "buf" }] },
 *   { name: "B", ops: [{ op: "munmap", mm: "p", addr: "buf", length: "4K" }] },
 * ];
 * const t = await kernelTarget({ name: "cve", steps: [] }, { setup, threads, epilogue: [], at: 0 }, "E0");
 * console.log(exhaustive(t, { bound: 4 }).finding?.schedule); // [ 0, 1, 0 ]
 * ```
 */
import { Engine, type EngineState } from "../core/engine.ts";
import { Model } from "../model/model.ts";
import { RefsimError } from "../core/errors.ts";
import { resolveScheme, type SchemeInput } from "../scheme/resolve.ts";
import type { Scenario, Step } from "../scenario/types.ts";
import { GLOBAL, type StepInfo, type StepTarget } from "./target.ts";
import type { Section } from "./format.ts";
import { OpRunner, type Host, type ThreadState } from "./kernel-steps.ts";

export type Backend = "engine" | "model";

/** The capacity a race section runs with unless the scenario gives one: small, so a snapshot is cheap. */
export const RACE_CAPACITY = {
  systemPages: 256, devicePages: 1024, pteTables: 32, pmdTables: 8, filePages: 64, processes: 8, vmas: 64, files: 8, drivers: 4,
  bufferObjects: 64, gupHandles: 256, violationRecords: 256, batch: 16,
}; // 512 KiB of core memory: a snapshot copies 65 us (the default capacity's 2 MiB took 4 times that); devicePages fits E5's 2 MiB-aligned pgmap

interface Saved {
  host: EngineState | null;
  runner: ReturnType<OpRunner["save"]>;
}

export class KernelTarget implements StepTarget {
  readonly threads: number;
  readonly names: string[];
  readonly section: Section;
  readonly backend: Backend;
  #host: Host;
  #runner: OpRunner;
  readonly #rebuild: () => Host;
  #start: Saved;
  /** Violations recorded before the section started (the setup's). */
  #base = 0;

  /** race.never: a statistic whose growth during the section is a violation (`<path> grew`). */
  readonly never?: string;
  #neverBase = 0;

  constructor(section: Section, backend: Backend, rebuild: () => Host, host: Host, never?: string) {
    this.never = never;
    this.section = section;
    this.backend = backend;
    this.threads = section.threads.length;
    this.names = section.threads.map((t) => t.name);
    this.#rebuild = rebuild;
    this.#host = host;
    this.#runner = new OpRunner(host, section.threads);
    this.#runner.runSerial(section.setup, "setup");
    this.#base = host.violations().length;
    if (never !== undefined) {
      const v = statAt(host, never);
      if (v === undefined) throw new RefsimError(`"race.never": unknown statistic '${never}'`, { field: "race.never", code: "BAD_SCENARIO" });
      this.#neverBase = v;
    }
    this.#start = this.#save();
    if (backend === "engine") {
      this.save = () => this.#save();
      this.load = (s) => this.#load(s as Saved);
    }
  }

  /** Engine states a search is done with (it loads each snapshot once, last saved first): reused by the next save. */
  #pool: EngineState[] = [];

  #save(): Saved {
    return { host: this.#host instanceof Engine ? this.#host.saveState(this.#pool.pop()) : null, runner: this.#runner.save() };
  }

  #load(s: Saved): void {
    if (s.host && this.#host instanceof Engine) this.#host.loadState(s.host);
    this.#runner.load(s.runner);
    if (s !== this.#start && s.host) this.#pool.push(s.host);
  }

  reset(): void {
    if (this.backend === "engine") { this.#load(this.#start); return; }
    // The Model has no snapshot: build it again and run the setup.
    this.#host = this.#rebuild();
    this.#runner = new OpRunner(this.#host, this.section.threads);
    this.#runner.runSerial(this.section.setup, "setup");
  }

  enabled(t: number): boolean { return !this.#runner.finished(t) && !this.#runner.blocked(t); }
  finished(t: number): boolean { return this.#runner.finished(t); }

  step(t: number): StepInfo {
    const r = this.#runner.step(t);
    return { footprint: r.footprint ?? [GLOBAL], label: r.label, opDone: r.opDone };
  }

  violations(): readonly string[] {
    const kinds: string[] = this.#host.violations().slice(this.#base).map((v) => v.kind);
    if (this.never !== undefined && statAt(this.#host, this.never)! > this.#neverBase) kinds.push(`${this.never} grew`);
    return kinds;
  }

  epilogue(): readonly string[] {
    const before = this.#host.violations().length;
    this.#runner.runSerial(this.section.epilogue, "epilogue");
    return this.#host.violations().slice(before).map((v) => v.kind);
  }

  /** Each thread's position, for reports. */
  threadStates(): readonly ThreadState[] { return this.#runner.save().threads; }

  save?: () => Saved;
  load?: (s: unknown) => void;
}

/** A statistic by dotted path ("migrateFailed", "device.pageFree"), undefined if there is none. */
function statAt(h: Host, path: string): number | undefined {
  const v = path.split(".").reduce<unknown>((x, k) => (x && typeof x === "object" ? (x as Record<string, unknown>)[k] : undefined), h.stats());
  return typeof v === "number" ? v : undefined;
}

/** The engine options a section runs with. */
export function sectionOptions(sc: Scenario, scheme: SchemeInput) {
  return { scheme: resolveScheme(scheme), capacity: { ...RACE_CAPACITY, ...sc.capacity } };
}

/**
 * A maker of targets for sections of `sc` under `scheme`, all on one Engine (reset to
 * its fresh state for each: a search builds targets one after another) or on new Models.
 */
export async function targetFactory(sc: Scenario, scheme: SchemeInput, backend: Backend = "engine", never?: string): Promise<(section: Section) => KernelTarget> {
  const opts = sectionOptions(sc, scheme);
  if (backend === "model") {
    const make = () => Model.create(opts) as unknown as Host;
    return (section) => new KernelTarget(section, backend, make, make(), never);
  }
  const engine = await Engine.create(opts);
  const fresh = engine.saveState();
  const none = (): Host => { throw new RefsimError("engine targets reset from a snapshot"); };
  return (section) => {
    engine.loadState(fresh);
    return new KernelTarget(section, backend, none, engine as unknown as Host, never);
  };
}

/** A target for `section` of `sc` under `scheme` on the Engine (default) or the Model. */
export async function kernelTarget(sc: Scenario, section: Section, scheme: SchemeInput, backend: Backend = "engine"): Promise<KernelTarget> {
  return (await targetFactory(sc, scheme, backend))(section);
}
