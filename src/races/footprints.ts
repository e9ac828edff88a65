/**
 * What a kernel step touched, as footprint entries (./target.ts) over named
 * kernel objects: one PTE (`pte:<mm>:<vpn>`), one folio's refcount, mapcount and
 * flags (`folio:<pfn>`), an mm's write_protect_seq (`seq:<mm>`) and
 * MMF_HAS_PINNED (`pinned:<mm>`), its VMA tree (`vmas:<mm>`), the GUP handle table
 * (`pins`), the page allocator (`frames`), the mm table (`mms`). A step whose
 * effects are not itemised here stays GLOBAL.
 *
 * Handle, walk and mm numbers are handed out in step order, so two steps that each
 * allocate one commute only up to renaming those numbers; nothing the checks look at
 * depends on the numbers, so allocation is left out of the footprints (as model
 * checkers usually treat fresh names).
 *
 * @example
 * ```ts
 * import { objectId } from "./footprints.ts";
 * console.log(objectId("pte:0:65536") === objectId("pte:0:65536"), objectId("pte:0:1") === objectId("pte:1:1")); // true false
 * ```
 */
import type { PageInfo } from "../core/engine.ts";
import { GLOBAL, readOf, writeOf, type Footprint } from "./target.ts";
import type { Host } from "./kernel-steps.ts";

const ids = new Map<string, number>();

/** A small number for a named object (interned for the process: only equality matters). */
export function objectId(key: string): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size;
    ids.set(key, id);
  }
  return id;
}

export const read = (key: string): number => readOf(objectId(key));
export const write = (key: string): number => writeOf(objectId(key));

/** More pages than this in one op's range: the op stays GLOBAL (itemising it would cost more than it prunes). */
const MAX_ITEMS = 64;

/** The page at mm/vpn if it is a plain small page mapped by a present PTE; "none" for no page; null for anything else. */
export function plainPage(host: Host, mm: number, vpn: number): PageInfo | "none" | null {
  let p: PageInfo | null;
  try {
    p = host.page(mm, vpn * 4096);
  } catch {
    return null;
  }
  if (p === null) return "none";
  if (p.pmd || p.large || p.kind !== "system" || !p.pte.present) return null;
  return p;
}

/**
 * zap_pte_range over [vpn, vpn + n) of mm (munmap): it writes the VMA tree, every
 * PTE of the range, the folio of every page mapped there, the handle table
 * (detach_pins) and the page allocator; GLOBAL when a page in the range is not a
 * plain small page (a THP, a device entry) or the range is large.
 */
export function zapFootprint(host: Host, mm: number, vpn: number, n: number): Footprint {
  if (n > MAX_ITEMS) return [GLOBAL];
  const f: number[] = [write(`vmas:${mm}`), write("pins"), write("frames")];
  for (let x = vpn; x < vpn + n; x++) {
    const p = plainPage(host, mm, x);
    if (p === null) return [GLOBAL];
    if (p === "none") continue;
    f.push(write(`pte:${mm}:${x}`), write(`folio:${p.pfn}`));
  }
  return f;
}

/** The pages of mm's VMAs (vpn, pfn), or null when one is not a plain small page or there are too many. */
export function mappedPages(host: Host, mm: number): [number, number][] | null {
  if (!host.maps) return null;
  const out: [number, number][] = [];
  for (const v of host.maps(mm)) {
    for (let a = v.start; a < v.end; a += 4096) {
      if (out.length > MAX_ITEMS) return null;
      const p = plainPage(host, mm, a / 4096);
      if (p === null) return null;
      if (p !== "none") out.push([a / 4096, p.pfn]);
    }
  }
  return out;
}
