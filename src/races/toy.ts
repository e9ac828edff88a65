/**
 * Toy step systems: textbook concurrency bugs as StepTargets, small enough to
 * count their interleavings by hand. They exercise the explorer without the
 * kernel model, and show what a target has to provide.
 *
 * - counterRace(n): n threads each read a shared counter, then write it plus one
 *   (two steps); the epilogue reports `lost_update` unless the counter is n.
 * - privateWork(n, k): n threads each take k steps on an object of their own:
 *   every interleaving is equivalent, so a partial-order reduction explores one.
 * - lockOrder(): two threads take two locks in opposite orders: a deadlock.
 * - incrementers(programs): threads running ops by name, "inc" (read, then write
 *   plus one) and "work" (one private step): a program the shrinker can cut ops from.
 *
 * @example
 * ```ts
 * import { counterRace } from "./toy.ts";
 * const t = counterRace(2);
 * t.reset();
 * t.step(0); t.step(1); t.step(0); t.step(1); // both read 0, both write 1
 * console.log(t.epilogue!()); // [ 'lost_update' ]
 * ```
 */
import { readOf, writeOf, type StepInfo, type StepTarget } from "./target.ts";

interface ToyState {
  shared: number[];
  pc: number[];
  local: number[];
}

/** A target whose threads run fixed programs of step functions over a small shared state. */
class ToyTarget implements StepTarget {
  readonly threads: number;
  readonly names: string[];
  #s!: ToyState;
  readonly #init: () => ToyState;
  readonly #programs: ((s: ToyState, t: number) => StepInfo | null)[][];
  readonly #canRun: (s: ToyState, t: number) => boolean;
  readonly #check: (s: ToyState) => string[];

  constructor(
    programs: ((s: ToyState, t: number) => StepInfo | null)[][],
    init: () => ToyState,
    check: (s: ToyState) => string[] = () => [],
    canRun: (s: ToyState, t: number) => boolean = () => true,
  ) {
    this.threads = programs.length;
    this.names = programs.map((_, i) => String.fromCharCode(65 + i));
    this.#programs = programs;
    this.#init = init;
    this.#check = check;
    this.#canRun = canRun;
    this.reset();
  }

  reset(): void { this.#s = this.#init(); }
  finished(t: number): boolean { return this.#s.pc[t] >= this.#programs[t].length; }
  enabled(t: number): boolean { return !this.finished(t) && this.#canRun(this.#s, t); }
  step(t: number): StepInfo {
    const f = this.#programs[t][this.#s.pc[t]];
    const info = f(this.#s, t)!;
    this.#s.pc[t]++;
    return { ...info, opDone: info.opDone || this.finished(t) };
  }
  violations(): readonly string[] { return []; }
  epilogue(): readonly string[] { return this.#check(this.#s); }
  save(): ToyState { return { shared: [...this.#s.shared], pc: [...this.#s.pc], local: [...this.#s.local] }; }
  load(s: unknown): void {
    const x = s as ToyState;
    this.#s = { shared: [...x.shared], pc: [...x.pc], local: [...x.local] };
  }
}

const fresh = (shared: number, n: number) => (): ToyState => ({ shared: new Array(shared).fill(0), pc: new Array(n).fill(0), local: new Array(n).fill(0) });

const read = (s: ToyState, t: number): StepInfo => { s.local[t] = s.shared[0]; return { footprint: [readOf(0)], label: "read counter", opDone: false }; };
const write = (s: ToyState, t: number): StepInfo => { s.shared[0] = s.local[t] + 1; return { footprint: [writeOf(0)], label: "write counter + 1", opDone: true }; };

export function counterRace(n: number): StepTarget {
  return incrementers(Array.from({ length: n }, () => ["inc"]));
}

export function incrementers(programs: readonly (readonly ("inc" | "work")[])[]): StepTarget {
  const n = programs.length;
  const work = (s: ToyState, t: number): StepInfo => { s.shared[1 + t]++; return { footprint: [writeOf(1 + t)], label: "private step", opDone: true }; };
  const incs = programs.flat().filter((op) => op === "inc").length;
  return new ToyTarget(
    programs.map((ops) => ops.flatMap((op) => (op === "inc" ? [read, write] : [work]))),
    fresh(1 + n, n),
    (s) => (s.shared[0] === incs ? [] : ["lost_update"]),
  );
}

export function privateWork(n: number, k: number): StepTarget {
  const work = (s: ToyState, t: number): StepInfo => { s.shared[t]++; return { footprint: [writeOf(t)], label: "private step", opDone: false }; };
  return new ToyTarget(Array.from({ length: n }, () => new Array(k).fill(work)), fresh(n, n));
}

export function lockOrder(): StepTarget {
  // shared[0], shared[1]: the locks (0 free, t+1 held by t). pc 0: take the first, 1: take the second, 2: release both.
  const order = [[0, 1], [1, 0]];
  const take = (which: number) => (s: ToyState, t: number): StepInfo => {
    s.shared[order[t][which]] = t + 1;
    return { footprint: [writeOf(order[t][which])], label: `lock ${order[t][which]}`, opDone: false };
  };
  const release = (s: ToyState, t: number): StepInfo => {
    s.shared[0] = s.shared[1] = 0;
    return { footprint: [writeOf(0), writeOf(1)], label: "unlock both", opDone: false };
  };
  return new ToyTarget(
    [[take(0), take(1), release], [take(0), take(1), release]],
    fresh(2, 2),
    () => [],
    (s, t) => s.pc[t] >= 2 || s.shared[order[t][s.pc[t]]] === 0,
  );
}
