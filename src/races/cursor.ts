/**
 * The explorer's position in the tree of interleavings: the schedule taken so far
 * (one thread index per step) and a way back to any prefix of it. Two ways back:
 * "snapshot" saves the target's state before every step and restores it (a copy of
 * the WASM core's memory and globals), "replay" resets to the section start and
 * re-runs the prefix. bench/races.ts measures which is faster.
 *
 * @example
 * ```ts
 * import { Cursor } from "./cursor.ts";
 * import { counterRace } from "./toy.ts";
 * const c = new Cursor(counterRace(2), "replay");
 * c.push(0); c.push(1); c.pop();
 * console.log(c.path); // [ 0 ]
 * ```
 */
import type { StepInfo, StepTarget, Snapshot } from "./target.ts";

export type BacktrackMode = "snapshot" | "replay";

export class Cursor {
  readonly target: StepTarget;
  readonly mode: BacktrackMode;
  /** Thread of each step taken from the section start. */
  readonly path: number[] = [];
  /** The steps taken, in order. */
  readonly steps: StepInfo[] = [];
  /** Steps taken so far by each thread. */
  readonly perThread: number[];
  /** Steps executed on the target in total (including replays), for speed figures. */
  executed = 0;
  #saves: Snapshot[] = [];
  /** The target's state is not the path's (an epilogue ran): the next pop must rebuild it. */
  #dirty = false;

  constructor(target: StepTarget, mode: BacktrackMode = target.save ? "snapshot" : "replay") {
    if (mode === "snapshot" && (!target.save || !target.load)) throw new Error("Cursor: this target cannot save its state; use replay");
    this.target = target;
    this.mode = mode;
    this.perThread = new Array<number>(target.threads).fill(0);
    target.reset();
  }

  get depth(): number { return this.path.length; }

  /** Take one step of thread t from the current state. */
  push(t: number): StepInfo {
    if (this.mode === "snapshot") this.#saves.push(this.target.save!());
    const s = this.target.step(t);
    this.executed++;
    this.path.push(t);
    this.steps.push(s);
    this.perThread[t]++;
    return s;
  }

  /** Back to the state before the last step. */
  pop(): void {
    const t = this.path.pop();
    if (t === undefined) throw new Error("Cursor.pop at the section start");
    this.steps.pop();
    this.perThread[t]--;
    if (this.mode === "snapshot") {
      this.target.load!(this.#saves.pop()!);
    } else {
      this.#replay();
    }
    this.#dirty = false;
  }

  /** Run f (which may change the state, e.g. an epilogue), then put the path's state back. */
  probe<T>(f: () => T): T {
    const saved = this.mode === "snapshot" ? this.target.save!() : undefined;
    const r = f();
    if (saved !== undefined) this.target.load!(saved);
    else this.#dirty = true;
    return r;
  }

  /** Make the target's state the path's again if a probe left it changed. */
  settle(): void {
    if (this.#dirty) this.#replay();
    this.#dirty = false;
  }

  #replay(): void {
    this.target.reset();
    for (const t of this.path) {
      this.target.step(t);
      this.executed++;
    }
  }
}
