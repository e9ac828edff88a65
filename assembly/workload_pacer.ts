// src/workload/common.ts's Pacer inside the core: a generator's ids that are used for good (mm ids,
// BO ids) spread evenly over its op budget, so a long run does not spend them all in its first ops.
// The same doubles in the same order as the TypeScript Pacer.allow, so the same answer. No kernel analogue.

/** Pacer.allow(done): another of `slots` ids may go once used * budget <= done * slots (`used` so far). */
@inline export function pacerAllows(used: f64, slots: f64, budget: f64, done: f64): bool {
  return used < slots && used * budget <= done * slots;
}
