/**
 * `refsim kernel-check [scenario files or dirs...]`: run scenarios and random
 * traces on refsim under E2 and on a real Linux 6.1 in QEMU, and compare every
 * expect point field by field (src/kernel/). Provisions itself on first use
 * (kernel/provision.sh; Debian's packages, cached in ~/.cache/refsim-kernel).
 *
 * Options: --traces N (random traces, default 200), --ops N (ops per trace, default
 * 40), --seed N, --shrink-runs N (guest runs per shrink, default 40; 0: no shrink),
 * --found DIR (where shrunk differences go, default kernel-check-found), --json,
 * --out FILE (the JSON form to a file), --provision (provision and stop).
 * Default scenarios: kernel/scenarios/ and the built-ins of scenarios/.
 * Exit status: 0 when every difference is a known one (src/kernel/known.ts; --strict: when
 * nothing differs), 1 otherwise, 2 bad input, 3 cannot provision.
 */
import { parseArgs } from "node:util";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { RefsimError } from "../core/errors.ts";
import { loadScenario, packageRoot, builtinNames } from "../scenario/load.ts";
import type { LoadedScenario } from "../scenario/parse.ts";
import { runKernelCheck, CannotProvision } from "../kernel/check.ts";
import { provision } from "../kernel/provision.ts";
import { bootTimeout } from "../kernel/guest.ts";
import { formatCheck, checkJson } from "../kernel/report.ts";
import { nodeKernelHost } from "./kernel-host.ts";

function count(s: string | undefined, flag: string, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) throw new RefsimError(`kernel-check: --${flag} must be a whole number >= 0, got '${s}'`, { field: flag });
  return n;
}

async function scenarioFiles(args: string[]): Promise<LoadedScenario[]> {
  const refs: string[] = [];
  const root = packageRoot();
  const add = (p: string) => {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) { if (/\.(json|ts)$/.test(f)) refs.push(join(p, f)); }
    else refs.push(p);
  };
  if (args.length === 0) {
    add(join(root, "kernel", "scenarios"));
    refs.push(...builtinNames());
  } else {
    for (const a of args) {
      let isPath = false;
      try { isPath = statSync(a) !== undefined; } catch { /* a built-in name */ }
      if (isPath) add(resolve(a));
      else refs.push(a);
    }
  }
  const out: LoadedScenario[] = [];
  for (const r of refs) out.push(await loadScenario(r));
  return out;
}

export async function kernelCheckCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      traces: { type: "string" }, ops: { type: "string" }, seed: { type: "string" }, "shrink-runs": { type: "string" },
      found: { type: "string" }, strict: { type: "boolean" }, json: { type: "boolean" }, out: { type: "string" }, provision: { type: "boolean" }, quiet: { type: "boolean" },
    },
  });
  const host = nodeKernelHost();
  const log = values.quiet ? () => {} : (l: string) => console.error(`kernel-check: ${l.replace(/^provision: /, "")}`);
  if (values.provision) {
    const p = await provision(host, { onLog: log });
    if (!p.ok) { console.error(`kernel-check: cannot provision: ${p.reason.replace(/^cannot provision: /, "")}`); return 3; }
    console.log(JSON.stringify(p.manifest, null, 2));
    return 0;
  }
  try { bootTimeout(host.env.REFSIM_KERNEL_TIMEOUT); } catch (e) { throw new RefsimError(`kernel-check: ${(e as Error).message}`, { field: "REFSIM_KERNEL_TIMEOUT" }); }
  const traceOps = count(values.ops, "ops", 40);
  if (traceOps < 16) throw new RefsimError(`kernel-check: --ops must be at least 16, got ${traceOps}`, { field: "ops" });
  const options = {
    host,
    scenarios: await scenarioFiles(positionals),
    traces: count(values.traces, "traces", 200),
    traceOps,
    seed: count(values.seed, "seed", 1),
    shrinkRuns: count(values["shrink-runs"], "shrink-runs", 40),
    outDir: resolve(values.found ?? "kernel-check-found"),
    onLog: log,
  };
  let r;
  try {
    r = await runKernelCheck(options);
  } catch (e) {
    if (e instanceof CannotProvision) {
      console.error(`kernel-check: cannot provision: ${e.message.replace(/^cannot provision: /, "")}`);
      return 3;
    }
    throw e;
  }
  if (values.out) writeFileSync(values.out, JSON.stringify(checkJson(r), null, 2) + "\n");
  console.log(values.json ? JSON.stringify(checkJson(r), null, 2) : formatCheck(r));
  return (values.strict ? r.differ : r.unexplained) > 0 ? 1 : 0;
}
