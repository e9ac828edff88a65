// Edit an engine's state where no op sequence could take it (a corruption to report, a guard
// no op reaches): through Engine.saveState / loadState, one u32 word at a time.
import type { Engine } from "../../src/core/engine.ts";

/**
 * The first u32 word of e's saved state holding `from` whose change to `to` makes done() true
 * once loaded stays changed (e is left with that state); false, e unchanged, when none does.
 */
export function editSavedWord(e: Engine, from: number, to: number, done: () => boolean): boolean {
  const s = e.saveState();
  const w = new Uint32Array(s.memory.buffer, s.memory.byteOffset, s.memory.byteLength >> 2);
  for (let i = 0; i < w.length; i++) {
    if (w[i] !== from >>> 0) continue;
    w[i] = to;
    e.loadState(s);
    if (done()) return true;
    w[i] = from;
  }
  e.loadState(s);
  return false;
}
