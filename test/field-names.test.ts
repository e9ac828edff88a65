// The core names the op field an error is about by an index the host reads as OP_FIELDS[op][index]
// (src/core/ops.ts). Those indexes are named constants in assembly/abi.ts, and the names must say
// the field the host will print: F_<OP>_<FIELD> is that op's field; the shared ones (one check a
// helper makes for several ops) are listed here with every op they serve. And no fail()/reject()
// in the core or the model may name a field by a bare number again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import * as abi from "../assembly/abi.ts";
import { OP_FIELDS } from "../src/core/ops.ts";

const fieldConstants = Object.entries(abi).filter(([k]) => /^F_[A-Z0-9_]+$/.test(k)) as [string, number][];

/** A shared constant: every [op, field] it stands for (each must be OP_FIELDS[op][value]). */
const SHARED: Record<string, [string, string][]> = {
  F_MM: ["mmap", "munmap", "read", "write", "fork", "exit", "madvise_dontneed", "migrate_to_device", "migrate_to_ram", "gup",
    "fault_begin", "madvise_pageout"].map((op) => [op, "mm"]),
  F_ACCESS_ADDR: ["read", "write", "gup", "write_range", "read_range"].map((op) => [op, "addr"]),
  F_LOOP_MM: [["write_range", "mm"], ["read_range", "mm"]],
  F_LOOP_ADDR: [["write_range", "addr"], ["read_range", "addr"]],
  F_LOOP_PAGES: [["write_range", "length"], ["read_range", "length"], ["dmirror_read", "npages"], ["dmirror_write", "npages"],
    ["dmirror_exclusive", "npages"]],
  F_DMIRROR_MIRROR: ["dmirror_close", "dmirror_read", "dmirror_write", "dmirror_snapshot", "dmirror_migrate_to_dev",
    "dmirror_migrate_to_sys", "dmirror_release", "dmirror_flags", "dmirror_exclusive", "dmirror_check_exclusive", "dmirror_mmap"].map((op) => [op, "mirror"]),
  F_DMIRROR_ADDR: ["dmirror_read", "dmirror_write", "dmirror_snapshot", "dmirror_migrate_to_dev", "dmirror_migrate_to_sys",
    "dmirror_release", "dmirror_flags", "dmirror_exclusive", "dmirror_check_exclusive", "dmirror_mmap"].map((op) => [op, "addr"]),
  F_DMIRROR_NPAGES: [...["dmirror_read", "dmirror_write", "dmirror_snapshot", "dmirror_migrate_to_dev", "dmirror_migrate_to_sys",
    "dmirror_release", "dmirror_exclusive", "dmirror_check_exclusive"].map((op): [string, string] => [op, "npages"]), ["dmirror_flags", "flags"]], // cmd.npages is the flags word
};

const snake = (s: string) => s.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

/** The [op, field] an F_<OP>_<FIELD> name says, or undefined if no op's field spells it. */
function ownField(name: string): [string, string] | undefined {
  for (const [op, fields] of Object.entries(OP_FIELDS)) {
    const prefix = `F_${op.toUpperCase()}_`;
    if (!name.startsWith(prefix)) continue;
    const field = fields.find((f) => snake(f) === name.slice(prefix.length));
    if (field) return [op, field];
  }
  return undefined;
}

test("NO_FIELD is -1, the host's no-field index", () => {
  assert.is(abi.NO_FIELD, -1);
});

test("every F_<OP>_<FIELD> constant is OP_FIELDS[op]'s index of that field", () => {
  assert.ok(fieldConstants.length > 40, `${fieldConstants.length} constants`);
  const wrong: string[] = [];
  for (const [name, value] of fieldConstants) {
    const uses = SHARED[name] ?? (ownField(name) ? [ownField(name)!] : undefined);
    if (!uses) { wrong.push(`${name}: names no op's field (and is not a listed shared constant)`); continue; }
    for (const [op, field] of uses) {
      const host = (OP_FIELDS as Record<string, string[]>)[op]?.[value];
      if (host !== field) wrong.push(`${name} = ${value}: OP_FIELDS.${op}[${value}] is ${JSON.stringify(host)}, not "${field}"`);
    }
  }
  assert.equal(wrong, []);
});

/** fail(ERR_X, <number> / reject(ERR_X, <number>, also inside a conditional: a field named by a bare index. */
export function numericFieldSites(src: string, file: string): string[] {
  const sites: string[] = [];
  src.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/\b(?:fail|reject)\(\s*ERR_[A-Z_]+\s*,([^,)]*)/g)) {
      // the field is the whole argument, or the branches of a conditional (its condition may hold numbers)
      const q = m[1].indexOf("?");
      const fields = q < 0 ? [m[1]] : m[1].slice(q + 1).split(":");
      if (fields.some((f) => /^\s*-?\d+\s*$/.test(f))) sites.push(`${file}:${i + 1}: ${m[0].trim()}`);
    }
  });
  return sites;
}

test("the check finds a bare field index, also in a conditional", () => {
  assert.equal(numericFieldSites("return fail(ERR_RANGE, 1);\nreject(ERR_RANGE, a1 < 0 ? F_X : 2);\nfail(ERR_BAD_MM, F_MM);\nfail(ERR_RANGE, a1 < 0 ? F_X : F_Y);", "x.ts").length, 2);
});

test("no fail()/reject() in assembly/*.ts or src/model/*.ts names its field by a number", () => {
  const sites: string[] = [];
  for (const dir of ["assembly", "src/model"]) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts")).sort()) {
      sites.push(...numericFieldSites(readFileSync(`${dir}/${f}`, "utf8"), `${dir}/${f}`));
    }
  }
  assert.equal(sites, []);
});

test.run();
