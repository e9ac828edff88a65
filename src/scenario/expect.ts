/**
 * The shape of an expect step, checked before anything runs: which subject each
 * field needs (a page field without "page" would check nothing and pass), and the
 * type of each expected value, one for all schemes or per scheme.
 *
 * @example
 * ```ts
 * import { checkExpectation } from "./expect.ts";
 * console.log(checkExpectation({ page: { mm: "p", addr: "buf" }, refcount: { E0: 2, "*": 1 } })); // undefined (fine)
 * console.log(checkExpectation({ refcount: 1 })); // { field: 'refcount', message: '"refcount" is a page field: name the page with "page": { "mm", "addr" }' }
 * ```
 */
import { VIOLATION_KINDS } from "../core/violations.ts";
import { shown } from "../core/errors.ts";
import { parseHmmBytes } from "./hmm_bytes.ts";

type Subject = "page" | "bo" | "read" | "result" | "mirror";
type ValueType = "integer" | "boolean" | "kind" | "state" | "counts" | "bytes";

/** Each field: the subjects it can be asked of (none: a total) and its value's type. */
const FIELDS: Record<string, { subjects: readonly Subject[]; type: ValueType }> = {
  mapped: { subjects: ["page"], type: "boolean" },
  refcount: { subjects: ["page"], type: "integer" },
  mapcount: { subjects: ["page"], type: "integer" },
  entireMapcount: { subjects: ["page"], type: "integer" },
  pincount: { subjects: ["page"], type: "integer" },
  large: { subjects: ["page"], type: "boolean" },
  pmd: { subjects: ["page"], type: "boolean" },
  kind: { subjects: ["page"], type: "kind" },
  devicePrivate: { subjects: ["page"], type: "boolean" },
  devmap: { subjects: ["page"], type: "boolean" },
  writable: { subjects: ["page"], type: "boolean" },
  state: { subjects: ["bo"], type: "state" },
  pages: { subjects: ["bo"], type: "integer" },
  value: { subjects: ["read", "result"], type: "integer" },
  cpages: { subjects: ["mirror"], type: "integer" },
  faults: { subjects: ["mirror"], type: "integer" },
  entries: { subjects: ["mirror"], type: "integer" },
  open: { subjects: ["mirror"], type: "boolean" },
  snapshot: { subjects: [], type: "bytes" },
  violations: { subjects: [], type: "counts" },
  stats: { subjects: [], type: "counts" },
};

export const SUBJECTS: readonly Subject[] = ["page", "bo", "read", "result", "mirror"];
/** Every key an expect object may have. */
export const EXPECT_FIELDS: readonly string[] = [...SUBJECTS, ...Object.keys(FIELDS)];

const PAGE_KINDS = ["system", "device-private", "device-coherent", "fsdax", "device-dax", "p2pdma", "zero"];
const SUBJECT_TEXT: Record<Subject, string> = {
  page: '"page": { "mm", "addr" }',
  bo: '"bo": a buffer object',
  read: '"read": { "mm", "addr" }',
  result: '"result": a name bound by "as"',
  mirror: '"mirror": a test_hmm file (dmirror_open)',
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Whether an expected value is given per scheme ({ "E0": 2, "*": 1 }). For counts
 * (violations, stats) the value itself is an object of numbers, so it is per scheme
 * exactly when its values are objects; otherwise any object is per scheme.
 */
export function isPerScheme(type: "counts" | "scalar", v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  if (type === "scalar") return true;
  const values = Object.values(v);
  return values.length > 0 && values.every(isObject);
}

/** Why `v` is not a value of `type`, or undefined. */
function typeError(type: ValueType, field: string, v: unknown): string | undefined {
  switch (type) {
    case "integer": return typeof v === "number" && Number.isInteger(v) ? undefined : "a whole number";
    case "boolean": return typeof v === "boolean" ? undefined : "true or false";
    case "kind": return typeof v === "string" && PAGE_KINDS.includes(v) ? undefined : `one of ${PAGE_KINDS.join(", ")}`;
    case "state": return v === "live" || v === "freed" ? undefined : '"live" or "freed"';
    case "bytes": {
      try {
        parseHmmBytes(v, "snapshot");
        return undefined;
      } catch (e) {
        return `a list of HMM_DMIRROR_PROT_* bytes or names (${(e as Error).message.replace(/^snapshot: /, "")})`;
      }
    }
    case "counts": {
      if (!isObject(v)) return field === "stats" ? `an object of counts (like { "ops.mmap": 1 })` : `an object of counts (like { "leak_page": 1 }; {} for none)`;
      for (const [k, n] of Object.entries(v)) {
        if (field === "violations" && !(VIOLATION_KINDS as readonly string[]).includes(k)) return `violation counts by kind, and '${k}' is not a kind (kinds: ${VIOLATION_KINDS.join(", ")})`;
        if (typeof n !== "number" || !Number.isInteger(n)) return `whole-number counts, and '${k}' is ${shown(n)}`;
      }
      return undefined;
    }
  }
}

/** Check one expect object; returns the field at fault and why, or undefined when it is well formed. */
export function checkExpectation(e: Record<string, unknown>): { field: string; message: string } | undefined {
  const subjects = SUBJECTS.filter((k) => e[k] !== undefined);
  if (subjects.length > 1) return { field: subjects[1], message: `one subject per expectation, got ${subjects.join(" and ")}` };
  const subject = subjects[0];
  for (const k of Object.keys(e)) {
    if (!EXPECT_FIELDS.includes(k)) return { field: k, message: `unknown expectation '${k}' (fields: ${EXPECT_FIELDS.join(", ")})` };
  }
  if (subject === "page" || subject === "read") {
    const at = e[subject];
    if (!isObject(at)) return { field: subject, message: `"${subject}" must be { "mm": ..., "addr": ... }, got ${shown(at)}` };
    for (const k of Object.keys(at)) if (k !== "mm" && k !== "addr") return { field: `${subject}.${k}`, message: `"${subject}" takes "mm" and "addr", not '${k}'` };
    for (const k of ["mm", "addr"]) {
      const v = at[k];
      if (typeof v !== "number" && typeof v !== "string") return { field: `${subject}.${k}`, message: `"${subject}.${k}" must be a number or a name, got ${shown(v)}` };
    }
  }
  if (subject === "mirror" && typeof e.mirror !== "number" && typeof e.mirror !== "string") return { field: "mirror", message: `"mirror" must be a test_hmm file id or a name, got ${shown(e.mirror)}` };
  if (subject === "bo" && typeof e.bo !== "number" && typeof e.bo !== "string") return { field: "bo", message: `"bo" must be a buffer object id or a name, got ${shown(e.bo)}` };
  if (subject === "result" && typeof e.result !== "string") return { field: "result", message: `"result" must name a value bound by an earlier step's "as", got ${shown(e.result)}` };
  let fields = 0;
  for (const [k, spec] of Object.entries(FIELDS)) {
    const v = e[k];
    if (v === undefined) continue;
    fields++;
    if (spec.subjects.length && !spec.subjects.includes(subject as Subject)) {
      const want = spec.subjects.map((s) => SUBJECT_TEXT[s]).join(" or ");
      const kindOf = spec.subjects[0] === "page" ? "a page field" : spec.subjects[0] === "bo" ? "a buffer-object field" : spec.subjects[0] === "mirror" ? "a test_hmm file field" : "the value of a read or a result";
      return { field: k, message: `"${k}" is ${kindOf}: name the ${spec.subjects[0] === "bo" ? "buffer object" : spec.subjects[0] === "mirror" ? "file" : spec.subjects[0]} with ${want}${subject ? `, not "${subject}"` : ""}` };
    }
    const values = isPerScheme(spec.type === "counts" ? "counts" : "scalar", v) ? Object.entries(v) : [["", v] as [string, unknown]];
    for (const [scheme, x] of values) {
      const want = typeError(spec.type, k, x);
      if (want) return { field: k, message: `"${k}"${scheme ? ` for ${scheme}` : ""} must be ${want}, got ${shown(x)}` };
    }
  }
  if (fields === 0) return { field: subject ?? "expect", message: subject ? `"${subject}" is named but nothing is checked (fields: ${Object.keys(FIELDS).join(", ")})` : "an expectation needs a subject and fields, or totals (violations, stats)" };
  return undefined;
}
