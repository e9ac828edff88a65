// The value-import graph of a source folder and its cycles (issue 17 item 2): a newcomer reads the
// core leaf first only where files do not import each other in a ring. A cycle is a strongly connected
// component of the graph; test/import-cycle.test.ts pins the ones assembly/ and src/model/ may have
// (the kernel's own mutual dependencies, listed in the README's layout section).
//
//   node --import tsx scripts/import-cycles.ts assembly src/model   # print each folder's cycles and edges
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

/** One value import: the module it names (an absolute path) and the names it takes from it. */
export interface ValueImport {
  file: string;
  names: string[];
}

/**
 * The modules `file` imports for their values: relative specifiers only (packages are not ours), with
 * `.ts` added where the specifier has no extension (AssemblyScript's style). Type-only imports
 * (`import type`, or braces naming only `type X`) are erased by every TypeScript runtime and do not count.
 */
export function valueImports(file: string): ValueImport[] {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: ValueImport[] = [];
  const re = /^\s*(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4];
    if (m[1] || !spec.startsWith(".")) continue;
    const clause = m[2]?.trim() ?? "";
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    const names = braces
      ? braces[1].split(",").map((s) => s.trim()).filter((s) => s && !s.startsWith("type ")).map((s) => s.split(/\s+as\s+/)[0])
      : [clause || "(side effects)"];
    if (braces && names.length === 0) continue;
    let target = resolve(dirname(file), spec);
    if (!/\.[cm]?[jt]s$/.test(target) && existsSync(target + ".ts")) target += ".ts";
    out.push({ file: target, names });
  }
  return out;
}

/** The value-import graph of the .ts files directly in `dir`: file name -> imported file name -> names. */
export function importGraph(dir: string): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  const here = resolve(dir);
  for (const f of readdirSync(here).filter((f) => f.endsWith(".ts")).sort()) {
    const edges = new Map<string, string[]>();
    for (const imp of valueImports(resolve(here, f))) {
      if (dirname(imp.file) !== here) continue; // only edges inside the folder can close a cycle in it
      const to = basename(imp.file);
      edges.set(to, [...(edges.get(to) ?? []), ...imp.names]);
    }
    graph.set(f, edges);
  }
  return graph;
}

/** The graph's cycles: its strongly connected components of more than one file (Tarjan), each sorted. */
export function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => b.length - a.length || a[0].localeCompare(b[0]));
}

/** The edges inside one cycle, as "from -> to: names" lines. */
export function cycleEdges(graph: Map<string, Map<string, string[]>>, scc: string[]): string[] {
  const inside = new Set(scc);
  const lines: string[] = [];
  for (const from of scc) {
    for (const [to, names] of graph.get(from) ?? []) if (inside.has(to)) lines.push(`${from} -> ${to}: ${names.join(", ")}`);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const dir of process.argv.slice(2)) {
    const graph = importGraph(dir);
    const found = cycles(graph);
    console.log(`${dir}: ${found.length === 0 ? "no cycle" : found.map((c) => `${c.length} files in a cycle`).join("; ")}`);
    for (const scc of found) {
      console.log(`  ${scc.map((f) => f.replace(/\.ts$/, "")).join(" ")}`);
      for (const line of cycleEdges(graph, scc)) console.log(`    ${line}`);
    }
  }
}
