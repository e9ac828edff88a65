/**
 * Fresh engines on demand. Creating one is mostly waiting for WebAssembly to
 * instantiate, so the pool keeps a few creations in flight and hands them out in
 * order; each engine is used for one run and dropped.
 *
 * @example
 * ```ts
 * import { EnginePool } from "./pool.ts";
 * const pool = new EnginePool("E2", { systemPages: 256 });
 * const e = await pool.take();
 * console.log(e.opsExecuted); // 0
 * ```
 */
import { Engine, type Capacity } from "../core/engine.ts";
import type { SchemeInput } from "../scheme/resolve.ts";

export class EnginePool {
  readonly scheme: SchemeInput;
  readonly capacity: Partial<Capacity>;
  readonly depth: number;
  #queue: Promise<Engine>[] = [];

  constructor(scheme: SchemeInput, capacity: Partial<Capacity>, depth = 4) {
    this.scheme = scheme;
    this.capacity = capacity;
    this.depth = Math.max(1, depth);
  }

  #make(): Promise<Engine> {
    const p = Engine.create({ scheme: this.scheme, capacity: this.capacity });
    p.catch(() => {}); // surfaced by take()
    return p;
  }

  /** A fresh engine; starts the next ones. */
  async take(): Promise<Engine> {
    while (this.#queue.length < this.depth) this.#queue.push(this.#make());
    const e = this.#queue.shift()!;
    this.#queue.push(this.#make());
    return e;
  }
}
