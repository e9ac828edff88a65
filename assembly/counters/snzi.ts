// SNZI, a scalable non-zero indicator (Ellen, Lev, Luchangco, Moir, PODC'07), used
// as a page refcount: a tree per object; a CPU arrives (get) and departs (put) at
// its leaf, and a node tells its parent only when its own count goes 0->1 (arrive
// at the parent) or 1->0 (depart from it), so the root changes only when the whole
// count crosses zero, and zero is seen at once (the root's 1->0). Every node is
// one cache line (padded to avoid false sharing); each update of a node is one
// CAS, modelled as one RMW (the paper's intermediate 1/2 state and CAS retries are
// not modelled). folio_ref_add(n) arrives with n in one RMW. A put on a CPU whose
// leaf holds fewer references departs from other leaves, scanning them in order
// (a reference taken on one CPU and dropped on another).
// Memory is O(nodes) = O(CPUs) per object.
import { ST_CTR_PROPAGATE } from "../abi";
import { bump } from "../stats";
import { ncpus, lineRmw, lineRead, clockOf } from "../cpus";
import { declareZero } from "./zero";

let frames: u32 = 0;
let leafCpus: i32 = 1;
export let nodes: i32 = 1; // per object
let leaves: i32 = 1;
let parentBase: usize = 0; // i32 per node of the shape (-1: root)
let countBase: usize = 0; //  i32 [pfn][node]

/** Nodes of the tree for `cpus` CPUs, `perLeaf` CPUs a leaf and `arity` children a node. */
export function snziNodes(cpus: i32, perLeaf: i32, arity: i32): i32 {
  let level = (cpus + perLeaf - 1) / perLeaf;
  let total = level;
  while (level > 1) {
    level = (level + arity - 1) / arity;
    total += level;
  }
  return total;
}

export function snziBytes(nFrames: u32, n: i32): u64 { return <u64>nFrames * <u64>n * 4; }

export function initSnzi(nFrames: u32, perLeaf: i32, arity: i32): void {
  frames = nFrames;
  leafCpus = perLeaf;
  leaves = (ncpus + perLeaf - 1) / perLeaf;
  nodes = snziNodes(ncpus, perLeaf, arity);
  parentBase = heap.alloc(<usize>nodes << 2);
  // Level by level: nodes [first, first+size) have parents [first+size, ...).
  let first = 0;
  let size = leaves;
  while (size > 1) {
    const up = (size + arity - 1) / arity;
    for (let i = 0; i < size; i++) store<i32>(parentBase + (<usize>(first + i) << 2), first + size + i / arity);
    first += size;
    size = up;
  }
  store<i32>(parentBase + (<usize>first << 2), -1);
  const bytes = <usize>nFrames * <usize>nodes << 2;
  countBase = heap.alloc(bytes);
  memory.fill(countBase, 0, bytes);
}

/** Cache line of node k of pfn's tree (after the struct page lines). */
@inline function lineOf(pfn: u32, k: i32): u32 { return frames + pfn * <u32>nodes + <u32>k; }
@inline function cntAt(pfn: u32, k: i32): usize { return countBase + ((<usize>pfn * <usize>nodes + <usize>k) << 2); }
@inline function parentOf(k: i32): i32 { return load<i32>(parentBase + (<usize>k << 2)); }

function arrive(pfn: u32, k0: i32, n: i32, c: i32): void {
  let k = k0;
  let add = n;
  while (k >= 0) {
    lineRmw(lineOf(pfn, k), c);
    if (k >= leaves) bump(ST_CTR_PROPAGATE);
    const p = cntAt(pfn, k);
    const old = load<i32>(p);
    store<i32>(p, old + add);
    if (old != 0) return;
    k = parentOf(k);
    add = 1;
  }
}

function depart(pfn: u32, k0: i32, n: i32, c: i32): void {
  let k = k0;
  let sub = n;
  while (k >= 0) {
    lineRmw(lineOf(pfn, k), c);
    if (k >= leaves) bump(ST_CTR_PROPAGATE);
    const p = cntAt(pfn, k);
    const v = load<i32>(p) - sub;
    store<i32>(p, v);
    if (v != 0) return;
    const up = parentOf(k);
    if (up < 0) { declareZero(pfn, clockOf(c)); return; } // the root went 1 -> 0
    k = up;
    sub = 1;
  }
}

export function snziGet(pfn: u32, n: i32, c: i32): void { arrive(pfn, c / leafCpus, n, c); }

export function snziPut(pfn: u32, n: i32, c: i32): void {
  const own = c / leafCpus;
  let left = n;
  for (let i = 0; i < leaves && left > 0; i++) {
    const leaf = (own + i) % leaves;
    if (i > 0) lineRead(lineOf(pfn, leaf), c); // look for a leaf holding references
    const have = load<i32>(cntAt(pfn, leaf));
    if (have <= 0) continue;
    const k = min<i32>(have, left);
    depart(pfn, leaf, k, c);
    left -= k;
  }
}

/** A plain store of the count (allocation): arrive or depart the difference here. */
export function snziStore(pfn: u32, diff: i32, c: i32): void {
  if (diff > 0) snziGet(pfn, diff, c);
  else if (diff < 0) snziPut(pfn, -diff, c);
}
