/**
 * kernel-check output: a table per scenario and step (refsim E2 against the kernel,
 * field by field), a summary of the random traces with every difference, and the
 * closing line `kernel-check: N agree, N differ, N not comparable`.
 */
import type { CheckResult } from "./check.ts";

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const show = (v: unknown) => (typeof v === "boolean" ? (v ? "yes" : "no") : String(v));

export function closingLine(r: Pick<CheckResult, "agree" | "differ" | "notComparable">): string {
  return `kernel-check: ${r.agree} agree, ${r.differ} differ, ${r.notComparable} not comparable`;
}

export function formatCheck(r: CheckResult): string {
  const out: string[] = [];
  out.push(`Linux ${r.kernel.version} (${r.kernel.release}) under ${r.kernel.qemu}, TCG; refsim scheme E2`);
  for (const s of r.scenarios) {
    if (s.notComparable) { out.push("", `== ${s.name}: not comparable: ${s.notComparable}`); continue; }
    const bad = s.points.filter((p) => !p.agree).length;
    out.push("", `== ${s.name} (${s.points.length} points, ${bad ? `${bad} differ` : "all agree"})`);
    out.push(`   ${pad("step", 34)} ${pad("page", 14)} ${pad("field", 15)} ${pad("refsim", 8)} ${pad("kernel", 8)}`);
    for (const p of s.points) {
      for (const row of p.rows) {
        out.push(`   ${pad(`${p.step + 1}: ${p.label}`.slice(0, 34), 34)} ${pad(row.page, 14)} ${pad(row.field, 15)} ${pad(show(row.refsim), 8)} ${pad(show(row.kernel), 8)}${row.agree ? "" : p.known ? ` DIFFER (known: ${p.known})` : " DIFFER"}`);
      }
    }
  }
  const tr = r.traces;
  if (tr.length > 0) {
    const compared = tr.filter((t) => !t.notComparable);
    const ops = compared.reduce((s, t) => s + t.ops, 0);
    const snaps = compared.reduce((s, t) => s + t.snapshots, 0);
    const bad = compared.filter((t) => !t.agree);
    out.push("", `== random traces: ${tr.length} (${ops} ops, ${snaps} snapshots of every page of every process, one after every op): ${bad.length ? `${bad.length} differ` : "all agree"}`);
    for (const t of tr.filter((x) => x.notComparable)) out.push(`   trace ${t.seed}: not comparable: ${t.notComparable}`);
    for (const t of bad) {
      out.push(`   trace ${t.seed} (${t.ops} ops) differs${t.known ? ` (known: ${t.known})` : ""}:`);
      for (const p of t.differences) for (const row of p.rows.filter((x) => !x.agree).slice(0, 6)) {
        out.push(`     ${p.label}: ${row.page} ${row.field} refsim ${show(row.refsim)} kernel ${show(row.kernel)}${p.known ? "" : " (unexplained)"}`);
      }
      if (t.shrunk) out.push(`     shrunk to ${t.shrunk.ops} ops in ${t.shrunk.runs} guest runs: ${t.shrunk.file}`);
    }
  }
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  out.push("", `${r.scenarioPoints} points (${r.expectPoints} expect steps; the rest GUP results and reads) in ${r.scenarios.filter((s) => !s.notComparable).length} scenarios, ${r.traces.length} random traces; ` +
    `provisioning ${sec(r.provision.ms)}, boot and run ${sec(r.boot.ms)} (guest ${sec(r.boot.guestMs)})${r.shrinkMs ? `, shrinking ${sec(r.shrinkMs)}` : ""}, total ${sec(r.totalMs)}`);
  if (r.differ > 0) {
    out.push(`${r.differ} differ: ${r.unexplained} unexplained${r.known.length ? `, known: ${r.known.map((k) => `${k.id} ${k.count}`).join(", ")}` : ""}`);
    for (const k of r.known) out.push(`  ${k.id}: ${k.kernel} [${k.status}]`);
  }
  out.push(closingLine(r));
  return out.join("\n");
}

/** The JSON form: everything but the per-page rows that agree in random traces (they have none). */
export function checkJson(r: CheckResult): unknown {
  return { format: "refsim-kernel-check/1", ...r, closing: closingLine(r) };
}
