/**
 * HMM_DMIRROR_SNAPSHOT bytes in scenario files: each item is a byte, or
 * HMM_DMIRROR_PROT_* names joined by "|", with "*N" for N pages alike; an empty
 * name list (or "NONE") is 0.
 *
 * @example
 * ```ts
 * import { parseHmmBytes, formatHmmBytes } from "./hmm_bytes.ts";
 * const b = parseHmmBytes(["ERROR*2", "ZERO|READ", 3], "step 4");
 * console.log(b, formatHmmBytes(b)); // [ 255, 255, 17, 3 ] [ 'ERROR*2', 'ZERO|READ', 'READ|WRITE' ]
 * ```
 */
import * as abi from "../../assembly/abi.ts";
import { RefsimError } from "../core/errors.ts";

export const HMM_PROT: Readonly<Record<string, number>> = {
  NONE: abi.HMM_PROT_NONE, READ: abi.HMM_PROT_READ, WRITE: abi.HMM_PROT_WRITE, PMD: abi.HMM_PROT_PMD, PUD: abi.HMM_PROT_PUD,
  ZERO: abi.HMM_PROT_ZERO, DEV_PRIVATE_LOCAL: abi.HMM_PROT_DEV_PRIVATE_LOCAL, DEV_PRIVATE_REMOTE: abi.HMM_PROT_DEV_PRIVATE_REMOTE,
  DEV_COHERENT_LOCAL: abi.HMM_PROT_DEV_COHERENT_LOCAL, DEV_COHERENT_REMOTE: abi.HMM_PROT_DEV_COHERENT_REMOTE,
};

/** The bytes a list of items stands for; throws Error naming the bad item. */
export function parseHmmBytes(items: unknown, where: string): number[] {
  if (!Array.isArray(items)) throw new RefsimError(`${where}: "bytes" must be an array of bytes or HMM_DMIRROR_PROT_* names`, { code: "BAD_SCENARIO" });
  const out: number[] = [];
  for (const item of items) {
    if (typeof item === "number") {
      if (!Number.isInteger(item) || item < 0 || item > 255) throw new RefsimError(`${where}: byte ${item} is not 0..255`, { code: "BAD_SCENARIO" });
      out.push(item);
      continue;
    }
    if (typeof item !== "string") throw new RefsimError(`${where}: ${JSON.stringify(item)} is not a byte or a name`, { code: "BAD_SCENARIO" });
    const m = /^([A-Z_|]*?)(?:\*(\d+))?$/.exec(item.trim());
    if (!m) throw new RefsimError(`${where}: cannot read ${JSON.stringify(item)} (e.g. "DEV_PRIVATE_LOCAL|WRITE*512")`, { code: "BAD_SCENARIO" });
    let b = 0;
    if (m[1] === "ERROR") b = abi.HMM_PROT_ERROR;
    else {
      for (const name of m[1].split("|").filter((x) => x)) {
        if (!(name in HMM_PROT)) throw new RefsimError(`${where}: unknown name '${name}' (names: ERROR, ${Object.keys(HMM_PROT).join(", ")})`, { code: "BAD_SCENARIO" });
        b |= HMM_PROT[name];
      }
    }
    const n = m[2] === undefined ? 1 : Number(m[2]);
    for (let i = 0; i < n; i++) out.push(b);
  }
  return out;
}

/** A byte as names: "ERROR", or the high nibble's kind (if any) then READ/WRITE, PMD, PUD. */
export function hmmByteName(b: number): string {
  if (b === abi.HMM_PROT_ERROR) return "ERROR";
  const names: string[] = [];
  const kind = b & 0xf0;
  const kindName = Object.entries(HMM_PROT).find(([k, v]) => v === kind && kind !== 0 && !["READ", "WRITE", "PMD", "PUD"].includes(k));
  if (kind !== 0) names.push(kindName ? kindName[0] : `0x${kind.toString(16)}`);
  for (const k of ["READ", "WRITE", "PMD", "PUD"]) if ((b & HMM_PROT[k]) !== 0) names.push(k);
  return names.length ? names.join("|") : "NONE";
}

/** Bytes in the compact form (runs as "*N"). */
export function formatHmmBytes(bytes: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; ) {
    let j = i + 1;
    while (j < bytes.length && bytes[j] === bytes[i]) j++;
    out.push(hmmByteName(bytes[i]) + (j - i > 1 ? `*${j - i}` : ""));
    i = j;
  }
  return out;
}
