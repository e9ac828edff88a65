/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function,
 * with WASM functions named from build/refsim.wat when the module carries no name
 * section (the release build does not), and time per source line where V8
 * recorded it.
 *
 *   node --cpu-prof --cpu-prof-dir=tmp/prof --import tsx bench/main.ts --only churn-small --targets wasm
 *   node --import tsx bench/profile.ts tmp/prof/<file>.cpuprofile [top=25] [path/to/refsim.wat]
 *
 * (With --engine pointing at another build, pass that build's .wat for the names.)
 */
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** WASM function index -> name, in index space order (imports first). */
export function wasmNames(watPath: string = fileURLToPath(new URL("../build/refsim.wat", import.meta.url))): string[] {
  if (!existsSync(watPath)) return [];
  const text = readFileSync(watPath, "utf8");
  const names: string[] = [];
  for (const m of text.matchAll(/^ \(import "[^"]*" "[^"]*" \(func \$(\S+)/gm)) names.push(m[1]);
  for (const m of text.matchAll(/^ \(func \$(\S+)/gm)) names.push(m[1]);
  return names;
}

export function summarise(p: Profile, names: string[], top = 25): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const total = p.samples.length;
  const counts = new Map<number, number>();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const label = (n: Node) => {
    let f = n.callFrame.functionName || "(anonymous)";
    const m = /^(?:wasm-function|\$?func)\[?(\d+)\]?$/.exec(f) ?? /^\$(\d+)$/.exec(f);
    if (m && names[Number(m[1])]) f = `wasm ${names[Number(m[1])]}`;
    else if (n.callFrame.url.startsWith("wasm")) f = `wasm ${f}`;
    const file = n.callFrame.url.split("/").pop() ?? "";
    return file && !n.callFrame.url.startsWith("wasm") ? `${f} (${file}:${n.callFrame.lineNumber + 1})` : f;
  };
  for (const [id, c] of counts) {
    const n = byId.get(id)!;
    const k = label(n);
    self.set(k, (self.get(k) ?? 0) + c);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const ms = (p.endTime - p.startTime) / 1000;
  const lines = [`${total} samples over ${ms.toFixed(0)} ms`, "", "| self % | function |", "|---:|---|"];
  for (const [k, c] of rows) lines.push(`| ${((100 * c) / total).toFixed(1)} | ${k} |`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("profile.ts")) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]");
    process.exit(1);
  }
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  console.log(summarise(p, wasmNames(process.argv[4]), Number(process.argv[3] ?? 25)));
}
