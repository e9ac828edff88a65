/**
 * A found interleaving as a scenario that replays it exactly: the setup steps as
 * written, then for every step of the schedule the thread's op (when that step
 * starts it, as an op step with `thread`) and one `{ "step": thread }` whose note
 * names the kernel code the step modelled, then the epilogue, and last an
 * expectation holding the violations the replay produces. `refsim run` on the
 * file reproduces the race step by step, and its expectation passes.
 *
 * @example
 * ```ts
 * import { interleavingSteps } from "./write.ts";
 * const steps = interleavingSteps(
 *   [{ name: "A", ops: [{ op: "read", mm: "p", addr: "buf" }] }, { name: "B", ops: [{ op: "check" }] }],
 *   { schedule: [0, 1, 0], labels: ["fault entry", "check", "migrate_to_ram"], done: [false, true, true] },
 * );
 * console.log(steps.map((s) => JSON.stringify(s)).join("\n"));
 * // {"op":"read","mm":"p","addr":"buf","thread":"A"}
 * // {"step":"A","note":"fault entry"}
 * // {"op":"check","thread":"B"}
 * // {"step":"B","note":"check"}
 * // {"step":"A","note":"migrate_to_ram"}
 * ```
 */
import type { OpStep, Scenario, Step } from "../scenario/types.ts";
import { contextSwitches, type Finding } from "./schedule.ts";
import type { Section } from "./format.ts";

/** The spawn and step steps of one schedule. */
export function interleavingSteps(threads: Section["threads"], f: Pick<Finding, "schedule" | "labels" | "done">): Step[] {
  const next = threads.map(() => 0); // index of each thread's next op
  const busy = threads.map(() => false);
  const out: Step[] = [];
  f.schedule.forEach((t, i) => {
    const th = threads[t];
    if (!busy[t]) {
      const op = th.ops[next[t]++];
      if (!op) throw new Error(`interleavingSteps: thread ${th.name} has no op left for step ${i + 1}`);
      out.push({ ...op, thread: th.name } as OpStep);
      busy[t] = true;
    }
    out.push({ step: th.name, note: f.labels[i] } as unknown as Step);
    if (f.done[i]) busy[t] = false;
  });
  return out;
}

export interface WriteInput {
  scenario: Scenario;
  section: Section;
  /** The (shrunk) threads. */
  threads: Section["threads"];
  finding: Finding;
  scheme: string;
  /** What the search reported, for the description. */
  how: string;
}

/**
 * The replay scenario; `expect` (the violations, and for a race.never finding the
 * statistic's value, as nested stats) is filled in by the caller after running it.
 */
export function replayScenario(w: WriteInput, violations: Record<string, number>, stats?: Record<string, unknown>): Scenario {
  const { scenario: sc, section, finding: f } = w;
  const threads = w.threads.map((t) => t.name).join(", ");
  return {
    name: `${sc.name}-${w.scheme}-${f.kind}`,
    title: `${sc.title ?? sc.name}: the interleaving refsim races found under ${w.scheme}`,
    ...(sc.spec ? { spec: sc.spec } : {}),
    description: `Written by refsim races: ${w.how}. Threads ${threads}; ${f.schedule.length} steps, ` +
      `${contextSwitches(f.schedule)} context switches. Each "step" runs one atomic step of that thread; its note names the kernel code it models.`,
    schemes: [w.scheme],
    ...(sc.capacity ? { capacity: sc.capacity } : {}),
    steps: [
      ...section.setup,
      ...interleavingSteps(w.threads, f),
      // the section's own expectations (a clean serial run) do not hold for the interleaving found
      ...(f.atEpilogue ? section.epilogue.filter((s) => !("expect" in s)) : []),
      { label: `found by refsim races: ${f.kind}`, expect: { violations: violations, ...(stats ? { stats: stats as Record<string, number> } : {}) } },
    ],
  };
}
