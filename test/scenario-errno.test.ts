// Scenario op steps that expect the kernel to fail the op: "errno" (a syscall's
// -errno) and "signal" (a CPU access's signal), per scheme like every expectation.
// The run goes on after an expected failure; an unexpected one is a failed check that
// ends that scheme's run; a wrong name or shape is refsim's bad input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseScenario } from "../src/scenario/parse.ts";
import { runScenario } from "../src/scenario/run.ts";
import { RefsimError } from "../src/core/errors.ts";

/** A scenario of these steps after an mm "p" with a one-page read-only mapping "ro" and a hole "hole". */
function scenario(steps: object[], schemes = ["E2", "E4"]) {
  return JSON.stringify({
    name: "t",
    schemes,
    steps: [
      { op: "mm_new", as: "p" },
      { op: "mmap", mm: "p", addr: "0x10000000", length: "4K", prot: "r", as: "ro" },
      ...steps,
    ],
  });
}

async function run(steps: object[], scheme = "E4", schemes?: string[]) {
  const loaded = parseScenario(scenario(steps, schemes), "t.json");
  return runScenario(loaded, scheme, schemes ?? ["E2", "E4"]);
}

const checksOf = (r: Awaited<ReturnType<typeof run>>) => r.checks.map((c) => [c.field, c.expected, c.observed, c.pass]);

test("an expected errno and an expected signal pass, and the run goes on", async () => {
  const r = await run([
    { op: "mmap", mm: "p", addr: "0x10000000", length: "4K", errno: "EEXIST" },
    { op: "write", mm: "p", addr: "ro", value: 1, signal: "SIGSEGV" },
    { op: "gup", mm: "p", addr: "ro", write: true, errno: "EFAULT" },
    { op: "read", mm: "p", addr: "0x20000000", signal: "SIGSEGV" },
    { expect: { read: { mm: "p", addr: "ro" }, value: 0 } },
  ]);
  assert.equal(r.error, undefined);
  assert.equal(r.stopped, undefined);
  assert.equal(checksOf(r).slice(0, 4), [
    ["errno", "EEXIST", "EEXIST", true],
    ["signal", "SIGSEGV", "SIGSEGV", true],
    ["errno", "EFAULT", "EFAULT", true],
    ["signal", "SIGSEGV", "SIGSEGV", true],
  ]);
  assert.is(r.checks.at(-1)!.pass, true, "the expectation after the failures ran");
  assert.is(r.passed, true);
});

test("a wrong errno, or an op that succeeds where one was expected, is a failed check; the run goes on", async () => {
  const r = await run([
    { op: "gup", mm: "p", addr: "ro", write: true, errno: "EPERM" },
    { op: "read", mm: "p", addr: "ro", signal: "SIGSEGV" },
    { expect: { read: { mm: "p", addr: "ro" }, value: 0 } },
  ]);
  assert.equal(checksOf(r), [["errno", "EPERM", "EFAULT", false], ["signal", "SIGSEGV", "none", false], ["value", 0, 0, true]]);
  assert.equal(r.stopped, undefined);
});

test("a kernel failure the step does not expect (no field, or \"none\"): a failed check, and that scheme's run ends there (STOPPED)", async () => {
  for (const outcome of [{}, { signal: "none" }, { errno: "none" }]) {
    const r = await run([
      { op: "write", mm: "p", addr: "ro", value: 1, ...outcome },
      { expect: { read: { mm: "p", addr: "ro" }, value: 0 } },
    ]);
    assert.equal(checksOf(r), [["signal", "none", "SIGSEGV", false]], JSON.stringify(outcome));
    assert.match(r.stopped!.message, /t\.json step 3 .*write: the kernel returned SIGSEGV, which the step does not expect; the run ends here/);
    assert.is(r.error, undefined, "a kernel failure is not bad input");
    assert.is(r.passed, false);
  }
  const r = await run([{ op: "gup", mm: "p", addr: "ro", write: true }]);
  assert.match(r.stopped!.message, /gup: the kernel returned -EFAULT/);
});

test("per scheme: the E1 era's longterm pin of a coherent page with an extra ref fails EBUSY; \"*\" names the rest", async () => {
  const steps = [
    { op: "mmap", mm: "p", length: "4K", as: "buf" },
    { op: "write", mm: "p", addr: "buf", value: 3 },
    { op: "driver_new", kind: "device-coherent", pages: 4, as: "gpu" },
    { op: "migrate_to_device", mm: "p", addr: "buf", length: "4K", driver: "gpu" },
    { op: "gup", mm: "p", addr: "buf", as: "get" },
    { op: "gup", mm: "p", addr: "buf", pin: true, longterm: true, errno: { E1: "EBUSY", E4: "EBUSY", "*": "none" }, as: "lt" },
    { expect: { stats: { gupLive: 1 } } },
  ];
  for (const scheme of ["E1", "E4"]) {
    const r = await run(steps, scheme, ["E1", "E4"]);
    assert.equal(checksOf(r)[0], ["errno", "EBUSY", "EBUSY", true], scheme);
    assert.is(r.passed, true, scheme);
  }
});

test("a failed op binds no name: using it later is refsim's error naming the step", async () => {
  const r = await run([
    { op: "mmap", mm: "p", addr: "0x10000000", length: "4K", errno: "EEXIST", as: "dup" },
    { op: "read", mm: "p", addr: "dup" },
  ]);
  assert.ok(r.error, "the second step is rejected");
  assert.match(r.error!.message, /step 4/);
  assert.match(r.error!.message, /dup/);
});

test("bad errno / signal fields are refsim's errors naming the field", () => {
  const cases: [object, string, RegExp][] = [
    [{ op: "read", mm: "p", addr: "ro", errno: "EWHAT" }, "errno", /must be one of EPERM.*or "none", got "EWHAT"/],
    [{ op: "read", mm: "p", addr: "ro", signal: "SIGKILL" }, "signal", /must be one of SIGBUS, SIGSEGV or "none"/],
    [{ op: "read", mm: "p", addr: "ro", errno: 14 }, "errno", /got 14/],
    [{ op: "read", mm: "p", addr: "ro", errno: {} }, "errno", /at least one scheme/],
    [{ op: "read", mm: "p", addr: "ro", errno: { E2: "EFAULT", E4: 3 } }, "errno", /for E4 must be one of/],
    [{ op: "gup", mm: "p", addr: "ro", errno: "EFAULT", signal: "SIGSEGV" }, "signal", /not both/],
  ];
  for (const [step, field, message] of cases) {
    let err: unknown;
    try { parseScenario(scenario([step]), "t.json"); } catch (x) { err = x; }
    assert.ok(err instanceof RefsimError, JSON.stringify(step));
    assert.is((err as RefsimError).field, field, JSON.stringify(step));
    assert.match((err as RefsimError).message, message);
    assert.match((err as RefsimError).message, /t\.json step 3/);
  }
});

test("a per-scheme errno naming no scheme of the run is refsim's error", async () => {
  const r = await run([{ op: "read", mm: "p", addr: "ro", errno: { E9: "EFAULT" } }]);
  assert.equal(r.error?.field, "E9");
  assert.match(r.error!.message, /t\.json step 3 .*"errno" has a value for 'E9', which is not a scheme of this run/);
});

test.run();
