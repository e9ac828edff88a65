// Sweeps that survive a cluster (issue 16 items 2, 3): sweep files checked as
// strictly as scenarios, results streamed per run, a killed sweep resumed, failed
// runs recorded, workers from the CPUs the process may use, --shard auto for Slurm
// and Kubernetes, and the shipped sbatch script and Job manifest run for real with
// faked batch-system variables (the Dockerfile is exercised in package.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/dist.ts";
import { PLAIN_ENV } from "./helpers/cli.ts";
import { shardFromEnv } from "../src/experiment/shard-env.ts";
import { cgroupCpuLimit, usableCpus } from "../src/cli/cpus.ts";
import { runOnWorkers } from "../src/cli/sweep.ts";
import { planSweep } from "../src/experiment/sweep.ts";
import { readStream } from "../src/experiment/stream.ts";

const TMP = join(ROOT, "tmp", "test-cluster");
const CLI = ["--import", "tsx", join(ROOT, "src/cli/main.ts")];
const refsim = (args: string[], env: NodeJS.ProcessEnv = PLAIN_ENV, cwd = ROOT) => spawnSync(process.execPath, [...CLI, ...args], { cwd, encoding: "utf8", env });

/** A results file without meta (what must be equal however the sweep ran). */
const det = (file: string) => {
  const d = JSON.parse(readFileSync(file, "utf8"));
  delete d.meta;
  return JSON.stringify(d);
};

test.before(() => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
});

test("a sweep file with a misspelled key exits 2 naming the key and its line", () => {
  const f = join(TMP, "typo.json");
  writeFileSync(f, '{\n  "name": "t",\n  "schemes": ["E2"],\n  "workloads": [{ "workload": "seed-churn",\n    "parms": { "rounds": 4 } }],\n  "seeds": [1]\n}\n');
  const r = refsim(["sweep", f]);
  assert.is(r.status, 2);
  assert.match(r.stderr, /typo\.json line 5: workloads\[0\]\.parms: unknown field 'parms' \(did you mean 'params'\? fields: workload, params, capacity\)/);
  writeFileSync(f, '{"name": "t", "schemes": ["E2"], "scenarios": ["seed"],\n "seed": [1, 2]}');
  const s = refsim(["sweep", f]);
  assert.is(s.status, 2);
  assert.match(s.stderr, /line 2: seed: unknown field 'seed' \(did you mean 'seeds'\?/);
  writeFileSync(f, '{"name": "t", "schemes": ["E2"], "scenarios": ["seed"], "every": "often"}');
  assert.match(refsim(["sweep", f]).stderr, /line 1: every: must be a number, got "often"/);
  writeFileSync(f, '{"name": "t", "schemes": ["E2", {"base": "E2", "rules": {"swapFaultRef": 3}}], "scenarios": ["seed"]}');
  assert.match(refsim(["sweep", f]).stderr, /schemes\[1\]/);
});

test("the library's planSweep is as strict, naming the path without a file", async () => {
  try {
    await planSweep({ name: "t", schemes: ["E2"], workloads: [{ workload: "seed-churn", parms: {} }] } as never);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /^sweep: workloads\[0\]\.parms: unknown field 'parms'/);
  }
});

const SPEC = {
  name: "resume", schemes: ["E0-devmap", "E2", "E4"], scenarios: ["seed"],
  workloads: [{ workload: "seed-churn", params: { rounds: [400, 600] } }, { workload: "migrate-churn", params: { rounds: 200 } }], seeds: [1, 2], every: 64,
};
const RUNS = 21;

const runLines = (f: string) => (existsSync(f) ? readFileSync(f, "utf8").split("\n").filter((l) => l.startsWith('{"run"')).length : 0);

test("a sweep killed midway resumes with --resume and gives the same results as an uninterrupted run", async () => {
  const sweep = join(TMP, "resume.json");
  writeFileSync(sweep, JSON.stringify(SPEC));
  const whole = join(TMP, "whole.json");
  const w = refsim(["sweep", sweep, "--workers", "2", "--out", whole, "--quiet"]);
  assert.is(w.status, 0, w.stderr);

  // Kill -9 once a few runs are in the stream, as a batch system's time limit would.
  const out = join(TMP, "killed.json");
  const stream = join(TMP, "killed.runs.ndjson");
  const child = spawn(process.execPath, [...CLI, "sweep", sweep, "--workers", "1", "--out", out, "--quiet"], { cwd: ROOT, env: PLAIN_ENV, stdio: "ignore" });
  const exited = new Promise<NodeJS.Signals | null>((ok) => child.on("exit", (_code, signal) => ok(signal)));
  while (runLines(stream) < 3) await new Promise((ok) => setTimeout(ok, 5));
  child.kill("SIGKILL");
  assert.is(await exited, "SIGKILL");
  const kept = runLines(stream);
  assert.ok(kept >= 3 && kept < RUNS, `killed midway: ${kept} of ${RUNS} runs streamed`);
  assert.not.ok(existsSync(out), "no results file: the sweep never finished");

  // The stream of the killed shard merges as a partial result; --resume runs only the rest.
  const partial = refsim(["merge", stream, "--partial", "--out", join(TMP, "partial.json")]);
  assert.is(partial.status, 0, partial.stderr);
  assert.match(partial.stderr, new RegExp(`merged ${kept} of ${RUNS} runs \\(partial\\)`));
  const r = refsim(["sweep", sweep, "--workers", "2", "--out", out, "--resume"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`resuming: ${kept} done, ${RUNS - kept} to run`));
  assert.is(readStream(readFileSync(stream, "utf8"), stream).runs.size, RUNS);
  assert.ok(det(out) === det(whole), "resumed == uninterrupted");
  const merged = refsim(["merge", out, "--out", join(TMP, "merged.json")]);
  assert.is(merged.status, 0, merged.stderr);
  assert.ok(det(join(TMP, "merged.json")) === det(whole), "and merges to the same results");
});

test("failed runs are recorded and the sweep goes on; a new worker takes the next run", async () => {
  const plan = await planSweep({ name: "f", schemes: ["E2"], workloads: [{ workload: "seed-churn", params: { rounds: [2, 3, 4] } }] });
  const [a, b, c] = plan.runs;
  // A run the worker cannot even start (no scenario to run): it crashes inside the worker.
  const broken = { ...b, kind: "scenario" as const, scenario: undefined };
  const { done, failed } = await runOnWorkers([a, broken, c], 1);
  assert.equal(done.map((d) => d.result.index).sort(), [0, 2]);
  assert.is(failed.length, 1);
  assert.is(failed[0].index, 1);
  assert.match(failed[0].error, /TypeError|Cannot read/);
});

test("--shard auto: Slurm arrays (1-N, 0-N-1, steps) and Kubernetes indexed Jobs; REFSIM_SHARD overrides", () => {
  const slurm = (id: number, min: number, count: number, step?: number) =>
    shardFromEnv({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_COUNT: String(count), ...(step ? { SLURM_ARRAY_TASK_STEP: String(step) } : {}) });
  assert.equal([1, 2, 3, 4].map((i) => slurm(i, 1, 4).index), [0, 1, 2, 3], "--array=1-4");
  assert.equal([0, 1, 2].map((i) => slurm(i, 0, 3).index), [0, 1, 2], "--array=0-2");
  assert.equal([0, 10, 20].map((i) => slurm(i, 0, 3, 10).index), [0, 1, 2], "--array=0-20:10");
  assert.is(slurm(4, 1, 4).count, 4);
  assert.throws(() => slurm(5, 1, 4), /SLURM_ARRAY_TASK_ID=5 is not one of 4 tasks/);
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: "1" }), /SLURM_ARRAY_TASK_COUNT is not/);
  assert.equal(shardFromEnv({ JOB_COMPLETION_INDEX: "2", JOB_COMPLETIONS: "4" }).index, 2);
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: "2" }), /JOB_COMPLETIONS/);
  assert.equal(shardFromEnv({ REFSIM_SHARD: "1/3", SLURM_ARRAY_TASK_ID: "9" }).index, 1);
  assert.throws(() => shardFromEnv({}), /no batch-system shard/);
});

test("--workers defaults to the CPUs the process may use: affinity, capped by the cgroup's cpu.max", () => {
  const files = (m: Record<string, string>) => (p: string) => m[p];
  const v2 = files({ "/proc/self/cgroup": "0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n", "/sys/fs/cgroup/kubepods/pod1/cpu.max": "150000 100000\n" });
  assert.equal(cgroupCpuLimit(v2)?.cpus, 1.5, "a parent's limit applies");
  assert.equal(usableCpus(v2, 64).cpus, 2, "1.5 CPUs of quota: 2 workers on a 64-CPU host");
  assert.equal(usableCpus(v2, 1).cpus, 1, "affinity is lower");
  const v1 = files({ "/proc/self/cgroup": "4:cpu,cpuacct:/slurm/job7\n", "/sys/fs/cgroup/cpu,cpuacct/slurm/job7/cpu.cfs_quota_us": "400000", "/sys/fs/cgroup/cpu,cpuacct/slurm/job7/cpu.cfs_period_us": "100000" });
  assert.equal(usableCpus(v1, 32).cpus, 4);
  const none = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "max 100000" });
  assert.equal(usableCpus(none, 8), { cpus: 8, why: "affinity (8 CPUs)" });
});

/** "1-4" -> [1, 2, 3, 4] (the sbatch script's --array). */
function arrayIds(spec: string): { ids: number[]; min: number } {
  const m = /^(\d+)-(\d+)(?::(\d+))?$/.exec(spec)!;
  const ids: number[] = [];
  for (let i = Number(m[1]); i <= Number(m[2]); i += Number(m[3] ?? 1)) ids.push(i);
  return { ids, min: ids[0] };
}

test("examples/cluster/sweep.sbatch: every array task of its --array runs its shard; the merge equals the unsharded sweep", () => {
  const script = readFileSync(join(ROOT, "examples/cluster/sweep.sbatch"), "utf8");
  const array = /^#SBATCH --array=(\S+)$/m.exec(script)![1];
  const { ids, min } = arrayIds(array);
  const results = join(TMP, "slurm");
  const env = { ...PLAIN_ENV, SWEEP: join(ROOT, "examples/cluster/sweep.json"), RESULTS: results, REFSIM: `${process.execPath} ${CLI.join(" ")}` };
  for (const id of ids) {
    const r = spawnSync("bash", [join(ROOT, "examples/cluster/sweep.sbatch")], {
      cwd: TMP, encoding: "utf8",
      env: { ...env, SLURM_ARRAY_JOB_ID: "42", SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_COUNT: String(ids.length) },
    });
    assert.is(r.status, 0, `task ${id}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`shard ${id - min}/${ids.length}, Slurm`));
  }
  const shards = ids.map((id) => join(results, `cluster-eras-${id}.json`));
  assert.is(refsim(["merge", ...shards, "--out", join(results, "merged.json")]).status, 0);
  assert.is(refsim(["sweep", join(ROOT, "examples/cluster/sweep.json"), "--out", join(results, "whole.json"), "--quiet"]).status, 0);
  assert.ok(det(join(results, "merged.json")) === det(join(results, "whole.json")), "merged shards == unsharded");
});

/** Just enough YAML for the manifest: block maps, block lists, quoted scalars and JSON-style flow lists. */
function miniYaml(text: string): unknown {
  const lines = text.split("\n").map((l) => l.replace(/\s+#.*$/, "")).filter((l) => l.trim() && !l.trim().startsWith("#"));
  let i = 0;
  const scalar = (s: string): unknown => (s.startsWith("[") || s.startsWith('"') ? JSON.parse(s) : /^\d+$/.test(s) ? Number(s) : s);
  const block = (indent: number): unknown => {
    if (lines[i].trimStart().startsWith("- ")) {
      const list: unknown[] = [];
      while (i < lines.length && lines[i].search(/\S/) === indent && lines[i].trimStart().startsWith("- ")) {
        lines[i] = lines[i].replace("- ", "  ");
        list.push(block(indent + 2));
      }
      return list;
    }
    const map: Record<string, unknown> = {};
    while (i < lines.length && lines[i].search(/\S/) === indent) {
      const m = /^\s*([\w.-]+):\s*(.*)$/.exec(lines[i++])!;
      map[m[1]] = m[2] ? scalar(m[2]) : block(lines[i].search(/\S/));
    }
    return map;
  };
  return block(0);
}

test("examples/cluster/sweep-job.yaml: an indexed Job whose every completion index runs its shard; the merge equals the unsharded sweep", () => {
  const job = miniYaml(readFileSync(join(ROOT, "examples/cluster/sweep-job.yaml"), "utf8")) as {
    kind: string; spec: { completionMode: string; completions: number; template: { spec: { containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[] } } };
  };
  assert.is(job.kind, "Job");
  assert.is(job.spec.completionMode, "Indexed");
  const [c] = job.spec.template.spec.containers;
  assert.is(Number(c.env.find((e) => e.name === "JOB_COMPLETIONS")!.value), job.spec.completions, "JOB_COMPLETIONS is spec.completions");
  assert.equal(c.command, ["refsim"]);
  const results = join(TMP, "k8s");
  mkdirSync(results, { recursive: true });
  const sweeps = join(ROOT, "examples/cluster");
  for (let index = 0; index < job.spec.completions; index++) {
    // What the kubelet does: $(VAR) expanded from the container's env, the volumes mounted.
    const env = { JOB_COMPLETION_INDEX: String(index), ...Object.fromEntries(c.env.map((e) => [e.name, e.value])) };
    const args = c.args.map((a) => a.replace(/\$\((\w+)\)/g, (_, v) => env[v as keyof typeof env]).replace(/^\/sweeps\//, `${sweeps}/`).replace(/^\/results\//, `${results}/`));
    const r = refsim(args, { ...PLAIN_ENV, ...env });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`shard ${index}/${job.spec.completions}, Kubernetes`));
  }
  const shards = Array.from({ length: job.spec.completions }, (_, k) => join(results, `cluster-eras-${k}.json`));
  assert.is(refsim(["merge", ...shards, "--out", join(results, "merged.json")]).status, 0);
  assert.is(refsim(["sweep", join(sweeps, "sweep.json"), "--out", join(results, "whole.json"), "--quiet"]).status, 0);
  assert.ok(det(join(results, "merged.json")) === det(join(results, "whole.json")), "merged shards == unsharded");
});

test.run();
