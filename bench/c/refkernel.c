/*
 * refkernel: the C reference for refsim's benchmarks (bench/main.ts builds it
 * with the machine's gcc -O2 into tmp/ and runs it in the same bench run).
 *
 * It keeps the core's data layout (assembly/frames.ts, assembly/pgtable.ts):
 * struct-of-arrays frames (refcount, mapcount, flags, index, content, lastOp),
 * a LIFO buddy list linked through page->index that pops ascending pfns, per-mm pgds of 512 entries, and
 * pmd / pte tables of 512 entries (each PTE beside its shadow word) from pools with free stacks. PTEs
 * are pfn << 7 | flag bits, as in assembly/abi.ts.
 *
 * Two implementations of every case, run on the same op sequence:
 *   bare    the essential work only: what a hand-written kernel would do
 *           (3-level walk, frame alloc/free, refcount/mapcount, PTE + shadow).
 *   engine  a line-by-line port of the WASM core's path for the same ops: op
 *           records dispatched by runBatch/execute, validation, find_vma,
 *           fault-room checks, i64 statistics, scheme-rule loads, the
 *           mmu_gather, per-PTE ptePtr in fork. engine/bare is the cost of the
 *           core's design; WASM/engine is the cost of AssemblyScript -> WASM -> V8.
 *
 * Cases (same PRNG stream as bench/streams.ts: xorshift32 13/17/5):
 *   churn  N-slot anon VMA; slot i starts populated if next()&1 (value i); a
 *          stream S of L slots (next() % N); one cycle = S then S reversed, so
 *          the state returns to where it started. Op j of the cycle: if the slot
 *          is pte_none, OP_WRITE (do_anonymous_page, value j), else
 *          OP_MADV_DONTNEED of that page (zap, rmap -1, put, free).
 *   fork   an N-page anon VMA, fully written; one unit = OP_FORK of it
 *          (copy_pte_range) + OP_EXIT of the child (zap_pte_range with the
 *          mmu_gather batch of 510, free_pgtables). Time is per PTE (2N per unit).
 *
 * Built twice: the core's layout (one array per field), and -DAOS16 (refcount,
 * mapcount, flags and index in one 16-byte record per frame) to measure what the
 * layout costs on DRAM-bound runs.
 *
 * Usage: refkernel churn|fork bare|engine N frames L seed minSamples maxMs
 * Prints one JSON line: ns per op (churn) or per PTE (fork), mean and rme.
 */
#ifdef REFKERNEL_WASM
/* -DREFKERNEL_WASM: the same engine port built by clang for wasm32 (bench/cwasm.ts),
 * freestanding: no libc, so a bump allocator over memory.grow, the compiler's
 * memset/memcpy (memory.fill / memory.copy with -mbulk-memory), and a failure
 * reported through the import env.rk_abort(code, message). bench/cwasm.ts
 * calls rk_setup and rk_run from the bench's own Node process. */
#include <stdint.h>
#include <stddef.h>
#define memset __builtin_memset
#define memcpy __builtin_memcpy
__attribute__((import_module("env"), import_name("rk_abort"), noreturn)) void rk_abort(int code, const char *msg);
#define DIE(code, ...) rk_abort(code, rk_first(__VA_ARGS__, 0))
#define rk_first(msg, ...) (msg)
extern unsigned char __heap_base;
static uintptr_t heapTop = (uintptr_t)&__heap_base;
static void *malloc(size_t bytes) {
  uintptr_t p = (heapTop + 15) & ~(uintptr_t)15;
  uintptr_t end = p + bytes;
  uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return 0;
  heapTop = end;
  return (void *)p;
}
static void free(void *p) { (void)p; } /* bump allocator: setup only */
#else
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#define DIE(code, ...) do { fprintf(stderr, __VA_ARGS__); exit(code); } while (0)
#endif

typedef int32_t i32;
typedef uint32_t u32;
typedef int64_t i64;

#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The core's constants (op codes, vm_flags, pte and page-flag bits, scheme and stats words),
   generated from assembly/abi.ts by bench/c-abi.ts when the bench builds this file. */
#include "abi.h"
#define VPN_LIMIT ((i64)1 << VPN_BITS)
#define MMAP_BASE 0x10000u
#define TLB_BATCH 510
#define MAX_GATHER 4096

static void *xalloc(size_t bytes, int fill) {
  void *p = malloc(bytes ? bytes : 16);
  if (!p) DIE(2, "refkernel: out of memory (%zu bytes)\n", bytes);
  memset(p, fill, bytes); /* pre-touch, as the core's memory.fill does */
  return p;
}

/* ---- frames (assembly/frames.ts) ---- */
static u32 frameCount, sysFrames;
static int prefetchOn; /* group prefetching, on for large engines (prefetch.ts) */
static u32 buddyHead; /* free system pages link through their index (frames.ts) */
static u32 buddyTop;  /* how many are free */
#ifdef AOS16
/* -DAOS16: refcount, mapcount, flags, index interleaved in one 16-byte record per
 * frame (one cache line holds 4 frames); content and lastOp stay arrays. */
struct frame { i32 ref, map; u32 flags, index; };
static struct frame *frame_;
static u32 *content_;
static i32 *lastop_;
#define REF(p) (frame_[p].ref)
#define MAPC(p) (frame_[p].map)
#define FLAGS(p) (frame_[p].flags)
#define PINDEX(p) (frame_[p].index)
#define CONTENT(p) (content_[p])
#define LASTOP(p) (lastop_[p])
#else
static i32 *refc_, *mapc_, *lastop_;
static u32 *flags_, *pindex_, *content_;
#define REF(p) (refc_[p])
#define MAPC(p) (mapc_[p])
#define FLAGS(p) (flags_[p])
#define PINDEX(p) (pindex_[p])
#define CONTENT(p) (content_[p])
#define LASTOP(p) (lastop_[p])
#endif
static inline u32 buddyPop(void) { u32 pfn = buddyHead; buddyHead = PINDEX(pfn); buddyTop--; return pfn; }
static inline void buddyPush(u32 pfn) { PINDEX(pfn) = buddyHead; buddyHead = pfn; buddyTop++; }

/* ---- page tables (assembly/pgtable.ts) ---- */
static i32 *pgd;        /* mmCap * 512 */
static i32 *tablesPerMm;
static i32 *pmdPool;    /* (nPmd+1) * 512 */
static u32 *ptePool;    /* (nPte+1) * 512 slots of PTE_SLOT words: the PTE, then its shadow word (pgtable.ts) */
#define PTE_SLOT 2
#define SLOT(base, i) ((base) + (size_t)(i) * PTE_SLOT) /* entry i of a table (pgtable.ts pteSlot) */
static i32 *pmdFree, *pteFree;
static i32 pmdFreeTop, pteFreeTop;

/* ---- mm / vma (assembly/mm.ts) ---- */
static i32 mmCap, mmCount;
static i32 *mmAlive, *mmHead, *mmPinned, *mmVmas;
static i32 vmaCap;
static i32 *vmStart, *vmEnd, *vmFlags, *vmFile, *vmPgoff, *vmNext, *vmaFree;
static i32 vmaFreeTop;

/* ---- stats, scheme, violations, ops ---- */
static i64 stats[ST_WORDS];
static i32 scheme[SCHEME_WORDS];
static i32 currentOp, opSeq;
static i32 violationCount;
static i32 *opBuf, *results, errorBlock[4];
static i32 batchCap = 4096;
static i32 errCode, errField, errDetail;
static u32 gatherPfn[MAX_GATHER];
static i32 gatherCount, gatherMm = -1;
static i32 gatherRefs[MAX_GATHER];
/* State the core's fast-path guards read (assembly/fastpath.ts rangeFastOk): no
 * THP, large folio, counter layer or mirror exists in the benchmark, but the guards
 * load them as the core does. */
/* Not static: gcc and clang fold a static that nothing writes to its initial 0 and
 * drop every guard that reads it, where the core loads each global at each use. */
i32 hugeLeaves, largeLive, counterOn, mirrorsOpen;
/* fork_begin's deferred parent write-protect (gup_fast.ts deferParentWp, read per PTE
 * by copyRangeFast) and the forks between fork_begin and fork_end (forksOpen: OP_EXIT
 * scans for a forking parent only while one is open); neither happens in the benchmark. */
i32 deferParentWp, forksOpen;
static NOINLINE int forkingParent(i32 mm) { (void)mm; DIE(3, "no fork_begin in the benchmark\n"); }
static i32 *mmVmaCache, *vmAnonVma; /* find_vma's per-mm cache, vma->anon_vma (mm.ts) */
static i32 fp[10]; /* the core's fast-path counters (fastpath.ts FP_*, i32 there) */
enum { FP_ACCESS_FAST, FP_ACCESS_FULL, FP_ZAP_FAST, FP_ZAP_FULL, FP_ZAP_PTE_FULL, FP_COPY_FAST, FP_COPY_FULL,
       FP_COPY_PTE_FULL, FP_FLUSH_FAST, FP_FLUSH_FULL };

static void init_state(u32 nSys, i32 nMm, i32 nVma, i32 nPmd, i32 nPte) {
  sysFrames = nSys;
  frameCount = 1 + nSys;
  prefetchOn = frameCount >= (1u << 20);
  size_t fb = (size_t)frameCount * 4;
#ifdef AOS16
  frame_ = xalloc(fb * 4, 0); content_ = xalloc(fb, 0); lastop_ = xalloc(fb, 0xff);
#else
  refc_ = xalloc(fb, 0); mapc_ = xalloc(fb, 0); flags_ = xalloc(fb, 0);
  pindex_ = xalloc(fb, 0); content_ = xalloc(fb, 0); lastop_ = xalloc(fb, 0xff);
#endif
  for (u32 pfn = 1; pfn < nSys; pfn++) PINDEX(pfn) = pfn + 1;
  buddyHead = nSys ? 1 : 0;
  buddyTop = nSys;
  mmCap = nMm; mmCount = 0;
  mmAlive = xalloc((size_t)nMm * 4, 0); mmHead = xalloc((size_t)nMm * 4, 0);
  mmPinned = xalloc((size_t)nMm * 4, 0); mmVmas = xalloc((size_t)nMm * 4, 0);
  mmVmaCache = xalloc((size_t)nMm * 4, 0xff);
  vmaCap = nVma;
  vmStart = xalloc((size_t)nVma * 4, 0); vmEnd = xalloc((size_t)nVma * 4, 0); vmFlags = xalloc((size_t)nVma * 4, 0);
  vmFile = xalloc((size_t)nVma * 4, 0); vmPgoff = xalloc((size_t)nVma * 4, 0); vmNext = xalloc((size_t)nVma * 4, 0);
  vmaFree = xalloc((size_t)nVma * 4, 0); vmAnonVma = xalloc((size_t)nVma * 4, 0);
  for (i32 i = 0; i < nVma; i++) vmaFree[i] = nVma - 1 - i;
  vmaFreeTop = nVma;
  pgd = xalloc((size_t)nMm * PT_ENTRIES * 4, 0);
  tablesPerMm = xalloc((size_t)nMm * 4, 0);
  pmdPool = xalloc((size_t)(nPmd + 1) * PT_ENTRIES * 4, 0);
  ptePool = xalloc((size_t)(nPte + 1) * PT_ENTRIES * 4 * PTE_SLOT, 0);
  pmdFree = xalloc((size_t)nPmd * 4, 0); pteFree = xalloc((size_t)nPte * 4, 0);
  for (i32 i = 0; i < nPmd; i++) pmdFree[i] = nPmd - i;
  for (i32 i = 0; i < nPte; i++) pteFree[i] = nPte - i;
  pmdFreeTop = nPmd; pteFreeTop = nPte;
  memset(stats, 0, sizeof stats);
  memset(scheme, 0, sizeof scheme);
  /* E4 preset (src/scheme/presets.ts) */
  scheme[SCHEME_ANON_EXCLUSIVE] = 1; scheme[SCHEME_PIN_BIAS] = 1024; scheme[SCHEME_TLB_BATCH] = TLB_BATCH;
  scheme[SCHEME_SWAP_FAULT_REF] = 1; scheme[SCHEME_COW_PINNED] = 1;
  opBuf = xalloc((size_t)batchCap * OP_WORDS * 4, 0);
  results = xalloc((size_t)batchCap * 4, 0);
}

/* ====================== shared helpers ====================== */

static inline i32 *pgdSlot(i32 mm, u32 vpn) { return &pgd[(size_t)mm * PT_ENTRIES + (vpn >> 18)]; }

/* ptePtr (pgtable.ts): walk, allocating tables when asked; NULL if absent. */
static inline u32 *ptePtr(i32 mm, u32 vpn, int alloc) {
  i32 *g = pgdSlot(mm, vpn);
  i32 pmd = *g;
  if (pmd == 0) {
    if (!alloc || pmdFreeTop == 0) return NULL;
    pmd = pmdFree[--pmdFreeTop];
    memset(&pmdPool[(size_t)pmd * PT_ENTRIES], 0, PT_ENTRIES * 4);
    *g = pmd;
    tablesPerMm[mm] += 1;
  }
  i32 *m = &pmdPool[(size_t)pmd * PT_ENTRIES + ((vpn >> 9) & 511)];
  i32 pt = *m;
  if (pt == 0) {
    if (!alloc || pteFreeTop == 0) return NULL;
    pt = pteFree[--pteFreeTop];
    memset(SLOT(ptePool, (size_t)pt * PT_ENTRIES), 0, PT_ENTRIES * 4 * PTE_SLOT);
    *m = pt;
    tablesPerMm[mm] += 1;
  }
  return SLOT(ptePool, (size_t)pt * PT_ENTRIES + (vpn & 511));
}

static inline i32 pteTableOf(i32 mm, u32 vpn) {
  i32 pmd = *pgdSlot(mm, vpn);
  if (pmd == 0) return 0;
  return pmdPool[(size_t)pmd * PT_ENTRIES + ((vpn >> 9) & 511)];
}

static inline u32 *shadowOf(u32 *p) { return p + 1; }

/* freeAllTables (pgtable.ts) */
static void freeAllTables(i32 mm) {
  i32 left = tablesPerMm[mm]; /* the walk ends when it has met every table of the mm */
  for (int i = 0; i < PT_ENTRIES; i++) {
    if (left <= 0) break;
    i32 *g = &pgd[(size_t)mm * PT_ENTRIES + i];
    i32 pmd = *g;
    if (pmd == 0) continue;
    left--;
    for (int j = 0; j < PT_ENTRIES; j++) {
      if (left <= 0) break;
      i32 pt = pmdPool[(size_t)pmd * PT_ENTRIES + j];
      if (pt != 0) { left--; pteFree[pteFreeTop++] = pt; }
    }
    pmdFree[pmdFreeTop++] = pmd;
    *g = 0;
  }
  tablesPerMm[mm] = 0;
}

/* ---- group prefetching (assembly/prefetch.ts) ---- */
enum { PREFETCH_GROUP = 32 };
static u32 sink;
static u32 *pfPtes[PREFETCH_GROUP];

static inline u32 touchFrame(u32 pfn) {
  return (u32)REF(pfn) ^ (u32)MAPC(pfn) ^ FLAGS(pfn) ^ PINDEX(pfn) ^ CONTENT(pfn) ^ (u32)LASTOP(pfn);
}

static inline u32 *pteOfRecord(const i32 *w) {
  i32 op = w[0];
  if (op != OP_READ && op != OP_WRITE && op != OP_MADV_DONTNEED) return NULL;
  i32 mm = w[1], vpn = w[2];
  if ((u32)mm >= (u32)mmCap || (u32)vpn >= (u32)VPN_LIMIT) return NULL;
  i32 pt = pteTableOf(mm, (u32)vpn);
  return pt == 0 ? NULL : SLOT(ptePool, (size_t)pt * PT_ENTRIES + ((u32)vpn & 511));
}

/* Touch the PTEs, shadows and frames of records [from, to), then the free list's top. */
static void prefetchGroup(const i32 *ops, i32 from, i32 to) {
  u32 s = sink;
  for (i32 i = from; i < to; i++) {
    u32 *p = pteOfRecord(ops + (size_t)i * OP_WORDS);
    pfPtes[i - from] = p;
    if (p) s ^= *p; /* its shadow word is in the same line */
  }
  i32 faults = 0;
  for (i32 i = from; i < to; i++) {
    u32 *p = pfPtes[i - from];
    if (!p) { faults++; continue; }
    u32 pte = *p, pfn = pte >> PTE_PFN_SHIFT;
    if (!(pte & PTE_PRESENT) || pfn >= frameCount) { faults++; continue; }
    s ^= touchFrame(pfn);
  }
  u32 pfn = buddyHead;
  for (i32 k = 0; k < faults && pfn != 0; k++) { s ^= touchFrame(pfn); pfn = PINDEX(pfn); }
  sink = s;
}

/* The bare loop's version: the same two stages with the compiler's prefetch hint. */
static void barePrefetch(u32 base, const u32 *slots, u32 n) {
  u32 *ps[PREFETCH_GROUP];
  for (u32 i = 0; i < n; i++) {
    i32 pt = pteTableOf(0, base + slots[i]);
    ps[i] = pt == 0 ? NULL : SLOT(ptePool, (size_t)pt * PT_ENTRIES + ((base + slots[i]) & 511));
    if (ps[i]) __builtin_prefetch(ps[i], 1); /* and its shadow word, in the same line */
  }
  u32 faults = 0;
  for (u32 i = 0; i < n; i++) {
    u32 pte = ps[i] ? *ps[i] : 0, pfn = pte >> PTE_PFN_SHIFT;
    if (!(pte & PTE_PRESENT)) { faults++; continue; }
    __builtin_prefetch(&REF(pfn), 1); __builtin_prefetch(&MAPC(pfn), 1); __builtin_prefetch(&FLAGS(pfn), 1);
    __builtin_prefetch(&LASTOP(pfn), 1); __builtin_prefetch(&PINDEX(pfn), 1);
  }
  u32 pfn = buddyHead;
  for (u32 k = 0; k < faults && pfn != 0; k++) {
    __builtin_prefetch(&REF(pfn), 1); __builtin_prefetch(&CONTENT(pfn), 1); __builtin_prefetch(&FLAGS(pfn), 1);
    pfn = PINDEX(pfn);
  }
}

/* ====================== bare kernel ====================== */

static void bare_map(u32 vpn, u32 value) {
  u32 *p = ptePtr(0, vpn, 1);
  u32 pfn = buddyPop();
  REF(pfn) = 1;
  MAPC(pfn) = 1;
  FLAGS(pfn) = PG_ALLOCATED | PG_ANON | PG_ANON_EXCLUSIVE;
  PINDEX(pfn) = vpn;
  CONTENT(pfn) = value;
  *p = (pfn << PTE_PFN_SHIFT) | PTE_PRESENT | PTE_WRITE;
  *shadowOf(p) = value;
}

/* One churn op: map if pte_none else zap; returns 1 for a map. */
static inline int bare_churn_op(u32 vpn, u32 value, i32 seq) {
  u32 *p = ptePtr(0, vpn, 1);
  u32 pte = *p;
  if (pte == 0) {
    u32 pfn = buddyPop();
    REF(pfn) = 1;
    MAPC(pfn) = 1;
    FLAGS(pfn) = PG_ALLOCATED | PG_ANON | PG_ANON_EXCLUSIVE;
    PINDEX(pfn) = vpn;
    CONTENT(pfn) = value;
    *p = (pfn << PTE_PFN_SHIFT) | PTE_PRESENT | PTE_WRITE;
    *shadowOf(p) = value;
    return 1;
  }
  *p = 0;
  *shadowOf(p) = 0;
  u32 pfn = pte >> PTE_PFN_SHIFT;
  MAPC(pfn) -= 1;
  LASTOP(pfn) = seq;
  if (--REF(pfn) == 0) {
    FLAGS(pfn) = 0;
    buddyPush(pfn);
  }
  return 0;
}

/* fork: copy_pte_range table by table into mm `child`; returns PTEs copied. */
static i64 bare_fork(i32 parent, i32 child, u32 start, u32 end) {
  i64 n = 0;
  for (u32 vpn = start; vpn < end;) {
    u32 tableEnd = ((vpn | (PT_ENTRIES - 1)) + 1);
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      u32 *src = SLOT(ptePool, (size_t)pt * PT_ENTRIES);
      u32 *dst = ptePtr(child, vpn, 1) - (vpn & 511) * PTE_SLOT;
      for (u32 i = vpn & 511, e = i + (tableEnd - vpn); i < e; i++) {
        u32 pte = *SLOT(src, i);
        if (pte == 0) continue;
        u32 pfn = pte >> PTE_PFN_SHIFT;
        REF(pfn) += 1;
        MAPC(pfn) += 1;
        FLAGS(pfn) &= ~(u32)PG_ANON_EXCLUSIVE;
        u32 shared = pte & ~(u32)PTE_WRITE;
        *SLOT(src, i) = shared;
        *SLOT(dst, i) = shared;
        *shadowOf(SLOT(dst, i)) = *shadowOf(SLOT(src, i));
        n++;
      }
    }
    vpn = tableEnd;
  }
  return n;
}

static inline void bare_flush(void) {
  for (i32 k = 0; k < gatherCount; k++) {
    u32 pfn = gatherPfn[k];
    if (--REF(pfn) == 0) {
      FLAGS(pfn) = 0;
      buddyPush(pfn);
    }
  }
  gatherCount = 0;
}

/* zap_pte_range over [start, end) of mm with the mmu_gather batch, then free its tables. */
static i64 bare_zap_all(i32 mm, u32 start, u32 end, i32 seq) {
  i64 n = 0;
  for (u32 vpn = start; vpn < end;) {
    u32 tableEnd = ((vpn | (PT_ENTRIES - 1)) + 1);
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      u32 *t = SLOT(ptePool, (size_t)pt * PT_ENTRIES);
      for (u32 i = vpn & 511, e = i + (tableEnd - vpn); i < e; i++) {
        u32 pte = *SLOT(t, i);
        if (pte == 0) continue;
        *SLOT(t, i) = 0;
        *shadowOf(SLOT(t, i)) = 0;
        u32 pfn = pte >> PTE_PFN_SHIFT;
        MAPC(pfn) -= 1;
        LASTOP(pfn) = seq;
        gatherPfn[gatherCount++] = pfn;
        if (gatherCount >= TLB_BATCH) bare_flush();
        n++;
      }
    }
    vpn = tableEnd;
  }
  bare_flush();
  freeAllTables(mm);
  return n;
}

/* ====================== engine port (assembly/ops.ts and friends) ====================== */

static inline void bump(int i) { stats[i] += 1; }
static inline i32 rule(int i) { return scheme[i]; }
static inline i32 kindOf(u32 pfn) { return (i32)((FLAGS(pfn) >> PG_KIND_SHIFT) & 7); }
static inline int isAllocated(u32 pfn) { return (FLAGS(pfn) & PG_ALLOCATED) != 0; }
static inline int hasFlag(u32 pfn, u32 f) { return (FLAGS(pfn) & f) != 0; }

static NOINLINE void violation(i32 kind, u32 pfn, i32 mm, i32 vpn, i32 r, i32 m, i32 extra) {
  (void)pfn; (void)mm; (void)vpn; (void)r; (void)m; (void)extra;
  stats[ST_VIOLATIONS + kind] += 1;
  violationCount++;
}

static i32 fail(i32 code, i32 field, i32 detail) { errCode = code; errField = field; errDetail = detail; return -1; }

static i32 freeAt(i32 kind) {
  if (kind == KIND_DEVICE_PRIVATE) return rule(SCHEME_FREE_AT_PRIVATE);
  if (kind == KIND_DEVICE_COHERENT) return rule(SCHEME_FREE_AT_COHERENT);
  return 0;
}

/* late faults (frames.ts lateFaults): the fast path's anon faults, their statistics summed
 * before any other live-frame change and at the end of each batch */
static i32 lateFaults;
static NOINLINE void addLateFaults(void) {
  i64 k = lateFaults;
  lateFaults = 0;
  fp[FP_ACCESS_FAST] += (i32)k; /* each also a fast access (frames.ts addLateFaults) */
  stats[ST_FAULTS] += k; stats[ST_ATOMIC_MAP] += k; stats[ST_FRAMES_ALLOC] += k;
  i64 live = stats[ST_LIVE_FRAMES] + k;
  stats[ST_LIVE_FRAMES] = live;
  if (live > stats[ST_PEAK_FRAMES]) stats[ST_PEAK_FRAMES] = live;
}
static inline void sumLateFaults(void) { if (lateFaults != 0) addLateFaults(); }
/* late zaps (frames.ts lateZaps): zapPageFast's pages put at once, their pure counters summed at the batch's end */
static i32 lateZaps;
static NOINLINE void addLateZaps(void) {
  i64 k = lateZaps;
  lateZaps = 0;
  fp[FP_ZAP_FAST] += (i32)k; fp[FP_FLUSH_FAST] += (i32)k;
  stats[ST_PTES_ZAPPED] += k; stats[ST_ATOMIC_MAP] += k; stats[ST_TLB_FLUSH] += k; stats[ST_ATOMIC_REF] += k;
}
static inline void sumLateAll(void) { sumLateFaults(); if (lateZaps != 0) addLateZaps(); }
static void noteAlloc(void) {
  sumLateFaults();
  bump(ST_FRAMES_ALLOC);
  i64 live = stats[ST_LIVE_FRAMES] + 1;
  stats[ST_LIVE_FRAMES] = live;
  if (live > stats[ST_PEAK_FRAMES]) stats[ST_PEAK_FRAMES] = live;
}
static void noteFree(void) { sumLateFaults(); bump(ST_FRAMES_FREED); stats[ST_LIVE_FRAMES] -= 1; }

static u32 allocSystemPage(void) {
  u32 pfn = buddyPop();
  REF(pfn) = 1; MAPC(pfn) = 0; FLAGS(pfn) = PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT);
  CONTENT(pfn) = 0; PINDEX(pfn) = 0;
  noteAlloc();
  return pfn;
}
static void freeSystemPage(u32 pfn) { FLAGS(pfn) = 0; buddyPush(pfn); noteFree(); }

static void folioGet(u32 pfn, i32 n, i32 mm, i32 vpn) {
  if (!isAllocated(pfn)) violation(V_UAF, pfn, mm, vpn, REF(pfn), MAPC(pfn), 1);
  REF(pfn) += n;
  bump(ST_ATOMIC_REF);
}
static void folioPut(u32 pfn, i32 n, i32 mm, i32 vpn) {
  i32 r = REF(pfn);
  if (!isAllocated(pfn)) { violation(V_UAF, pfn, mm, vpn, r, MAPC(pfn), -n); return; }
  i32 floor_ = freeAt(kindOf(pfn));
  bump(ST_ATOMIC_REF);
  if (r - n < floor_) { violation(V_UNDERFLOW, pfn, mm, vpn, r, MAPC(pfn), -n); return; }
  REF(pfn) = r - n;
  if (r - n == floor_) {
    if (kindOf(pfn) == KIND_SYSTEM) freeSystemPage(pfn);
    /* device pages are not used by the benchmark ops */
  }
}
static void rmapAdd(u32 pfn) { MAPC(pfn) += 1; bump(ST_ATOMIC_MAP); }
static void rmapRemove(u32 pfn, i32 mm, i32 vpn) {
  i32 m = MAPC(pfn);
  bump(ST_ATOMIC_MAP);
  if (m <= 0) { violation(V_UNDERFLOW, pfn, mm, vpn, REF(pfn), m, -1); return; }
  MAPC(pfn) = m - 1;
  LASTOP(pfn) = currentOp;
}

static int mmValid(i32 mm) { return mm >= 0 && mm < mmCount && mmAlive[mm] != 0; }
static inline i32 findVma(i32 mm, u32 vpn) {
  i32 c = mmVmaCache[mm];
  if (c >= 0 && vpn >= (u32)vmStart[c] && vpn < (u32)vmEnd[c]) return c;
  i32 v = mmHead[mm];
  while (v >= 0) {
    if (vpn < (u32)vmStart[v]) return -1;
    if (vpn < (u32)vmEnd[v]) { mmVmaCache[mm] = v; return v; }
    v = vmNext[v];
  }
  return -1;
}
static i32 newMm(void) { i32 mm = mmCount++; mmAlive[mm] = 1; mmHead[mm] = -1; mmPinned[mm] = 0; mmVmas[mm] = 0; mmVmaCache[mm] = -1; return mm; }
static i32 insertVma(i32 mm, u32 start, u32 end, i32 fl, i32 file, u32 pgoff) {
  i32 v = vmaFree[--vmaFreeTop];
  vmStart[v] = (i32)start; vmEnd[v] = (i32)end; vmFlags[v] = fl; vmFile[v] = file; vmPgoff[v] = (i32)pgoff;
  vmAnonVma[v] = 0;
  i32 prev = -1, cur = mmHead[mm];
  while (cur >= 0 && (u32)vmStart[cur] < start) { prev = cur; cur = vmNext[cur]; }
  vmNext[v] = cur;
  if (prev < 0) mmHead[mm] = v; else vmNext[prev] = v;
  mmVmas[mm] += 1;
  return v;
}
static void unlinkVma(i32 mm, i32 v, i32 prev) {
  mmVmaCache[mm] = -1; /* vmacache_invalidate */
  vmAnonVma[v] = 0;
  if (prev < 0) mmHead[mm] = vmNext[v]; else vmNext[prev] = vmNext[v];
  vmaFree[vmaFreeTop++] = v;
  mmVmas[mm] -= 1;
}
static inline int isCow(i32 v) { return (vmFlags[v] & VM_SHARED) == 0; }
static inline int isAnon(i32 v) { return (vmFlags[v] & VM_ANON) != 0; }

static i32 tablesNeeded(i32 mm, u32 vpn) {
  i32 pmd = *pgdSlot(mm, vpn);
  if (pmd == 0) return 2;
  return pmdPool[(size_t)pmd * PT_ENTRIES + ((vpn >> 9) & 511)] == 0 ? 1 : 0;
}
static i32 faultRoom(i32 mm, u32 vpn) {
  if (buddyTop < 2) return fail(ERR_NOMEM_FRAMES, -1, 2);
  i32 t = tablesNeeded(mm, vpn);
  if (pteFreeTop < 1 || (t == 2 && pmdFreeTop < 1)) return fail(ERR_NOMEM_TABLES, -1, t);
  return 0;
}

static u32 newAnonPage(i32 v, u32 vpn, u32 data) {
  vmAnonVma[v] = 1; /* anon_vma_prepare */
  u32 pfn = allocSystemPage();
  PINDEX(pfn) = vpn;
  CONTENT(pfn) = data;
  FLAGS(pfn) |= rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON;
  rmapAdd(pfn);
  return pfn;
}

static u32 *handleFault(i32 mm, i32 v, u32 vpn, int write) {
  bump(ST_FAULTS);
  u32 *p = ptePtr(mm, vpn, 1);
  u32 pte = *p;
  if ((pte & PTE_DEVICE_PRIVATE) != 0) DIE(3, "unexpected device entry\n");
  if (pte == 0) {
    if (isAnon(v)) {
      if (!write) { *p = PTE_PRESENT | PTE_SPECIAL; return p; }
      *p = (newAnonPage(v, vpn, 0) << PTE_PFN_SHIFT) | PTE_PRESENT | PTE_WRITE;
      return p;
    }
    DIE(3, "file faults are not in the benchmark\n");
  } else if (write && (pte & PTE_PRESENT) != 0 && (pte & PTE_WRITE) == 0) {
    DIE(3, "wp faults are not in the benchmark\n");
  }
  return p;
}

static void storeValue(i32 mm, i32 v, u32 vpn, u32 *p, u32 value) {
  u32 pfn = *p >> PTE_PFN_SHIFT;
  if (pfn != 0 && !isAllocated(pfn)) violation(V_UAF, pfn, mm, (i32)vpn, REF(pfn), MAPC(pfn), 3);
  CONTENT(pfn) = value;
  *shadowOf(p) = value;
  if (hasFlag(pfn, PG_PAGECACHE) && (vmFlags[v] & VM_FILE) != 0) DIE(3, "file write\n");
}

static i32 access_(i32 mm, i32 vpn, int write, i32 value) {
  if (vpn < 0 || (i64)vpn >= VPN_LIMIT) return fail(ERR_RANGE, 1, 0);
  i32 v = findVma(mm, (u32)vpn);
  if (v < 0) return fail(ERR_SEGV, 1, 0);
  if (write && (vmFlags[v] & VM_WRITE) == 0) return fail(ERR_ACCESS, 1, 0);
  i32 room = faultRoom(mm, (u32)vpn);
  if (room < 0) return room;
  u32 *p = handleFault(mm, v, (u32)vpn, write);
  if ((*p & PTE_PRESENT) == 0) return 0;
  if (!write) return (i32)CONTENT(*p >> PTE_PFN_SHIFT);
  storeValue(mm, v, (u32)vpn, p, (u32)value);
  return 0;
}

/* ---- guarded fast paths (assembly/fastpath.ts, zap.ts, fork.ts): the same guards and work ---- */

static NOINLINE void mirrorsInvalidate(void) { DIE(3, "no mirrors in the benchmark\n"); }
/* mmu_notifier_invalidate_range_start (mmu_notifier.ts): counted; mirrors only if open. */
static inline void mmuNotifierInvalidate(void) { bump(ST_MMU_NOTIFY); if (mirrorsOpen != 0) mirrorsInvalidate(); }
static inline int rangeFastOk(void) { return hugeLeaves == 0 && largeLive == 0 && !counterOn && mirrorsOpen == 0; }
/* fastAccess's guard did not hold: the full path, out of line (fastpath.ts fullAccess). */
static NOINLINE i32 fullAccess(i32 mm, i32 vpn, int write, i32 value) { fp[FP_ACCESS_FULL]++; return access_(mm, vpn, write, value); }

/* fastAccess (fastpath.ts): OP_READ / OP_WRITE of a private anon, non-THP vma with its PTE table; its
 * result, or fullAccess when the guard does not hold. Inlined where execute() calls it, as the core's. */
static ALWAYS_INLINE i32 fastAccess(i32 mm, i32 vpn, int write, i32 value) {
  if (counterOn || (u32)vpn >= (u32)VPN_LIMIT) return fullAccess(mm, vpn, write, value);
  i32 v = findVma(mm, (u32)vpn);
  if (v < 0) return fullAccess(mm, vpn, write, value);
  i32 need = VM_ANON | (write ? VM_WRITE : VM_READ);
  /* no vmFile test: a VM_ANON vma has no file (fastpath_anon.ts tests VM_FILE on the same flags, before this) */
  if ((vmFlags[v] & (need | VM_SHARED | VM_HUGEPAGE)) != need) return fullAccess(mm, vpn, write, value);
  u32 *p = ptePtr(mm, (u32)vpn, 0);
  if (!p) return fullAccess(mm, vpn, write, value);
  u32 pte = *p;
  if (pte == 0) {
    if (hugeLeaves != 0) return fullAccess(mm, vpn, write, value); /* the core looks for a PMD over the table then */
    if (buddyTop < 2 || pteFreeTop < 1) return fullAccess(mm, vpn, write, value);
    if (write) {
      lateFaults++; /* noteLateFault: its ST_FAULTS, allocation and rmapAdd statistics summed later */
      vmAnonVma[v] = 1;
      /* allocSystemPageAs (frames.ts): every field of the new anon page stored once, in its final value */
      u32 anon = rule(SCHEME_ANON_EXCLUSIVE) != 0 ? PG_ANON | PG_ANON_EXCLUSIVE : PG_ANON;
      u32 pfn = buddyPop();
      REF(pfn) = 1; MAPC(pfn) = 1; FLAGS(pfn) = PG_ALLOCATED | (KIND_SYSTEM << PG_KIND_SHIFT) | anon;
      CONTENT(pfn) = (u32)value; PINDEX(pfn) = (u32)vmPgoff[v] + ((u32)vpn - (u32)vmStart[v]);
      *p = (pfn << PTE_PFN_SHIFT) | PTE_PRESENT | PTE_WRITE;
      *shadowOf(p) = (u32)value;
      return 0; /* its FP_ACCESS_FAST counted with the late fault */
    }
    if (CONTENT(0) != *shadowOf(p)) return fullAccess(mm, vpn, write, value);
    bump(ST_FAULTS);
    *p = PTE_PRESENT | PTE_SPECIAL;
    fp[FP_ACCESS_FAST]++; return (i32)CONTENT(0);
  }
  if ((pte & PTE_PRESENT) == 0 || (write && (pte & PTE_WRITE) == 0)) return fullAccess(mm, vpn, write, value);
  u32 pfn = pte >> PTE_PFN_SHIFT;
  if (pfn != 0 && !isAllocated(pfn)) return fullAccess(mm, vpn, write, value);
  if (write) {
    CONTENT(pfn) = (u32)value;
    *shadowOf(p) = (u32)value;
    fp[FP_ACCESS_FAST]++; return 0;
  }
  u32 got = CONTENT(pfn);
  if (got != *shadowOf(p)) return fullAccess(mm, vpn, write, value);
  fp[FP_ACCESS_FAST]++; return (i32)got;
}

#define KIND_MASK (7u << PG_KIND_SHIFT)
#define ORDINARY_MASK (PG_ALLOCATED | KIND_MASK | PG_HEAD | PG_TAIL)
#define NOT_NORMAL (PTE_PRESENT | PTE_SPECIAL | PTE_DEVICE_PRIVATE | PTE_MIGRATION)

/* flushRunFast (mmu_gather.ts): tlbFlush's fast puts over the entries [i, last), a loop
 * without calls; returns the first other entry (or last): every entry before it was put; the frees in runFreed. */
static i32 runFreed;
static i32 flushRunFast(i32 i, i32 last) {
  i32 freed = 0;
  for (; i < last; i++) {
    u32 pfn = gatherPfn[i];
    i32 r = REF(pfn) - gatherRefs[i];
    /* no pfn > sysFrames test: a device frame's flags hold its kind, so the flags test stops there too */
    if ((FLAGS(pfn) & ORDINARY_MASK) != PG_ALLOCATED) break;
    if (r <= 0) { /* one test for a page that stays referenced (a fork's); the rest in here */
      if (r < 0) break;
      REF(pfn) = 0;
      FLAGS(pfn) = 0; buddyPush(pfn); freed++;
      continue;
    }
    REF(pfn) = r;
  }
  runFreed = freed;
  return i;
}
/* tlbFlush (mmu_gather.ts) with its fast path: small system pages put here, statistics summed per flush. */
static void tlbFlush(void) {
  if (gatherCount == 0) return;
  bump(ST_TLB_FLUSH);
  i64 fastPuts = 0, freed = 0;
  const int fast = !counterOn;
  i32 last = gatherCount, i = 0;
  while (i < last) {
    if (fast) {
      i32 i0 = i;
      i = flushRunFast(i, last);
      fastPuts += i - i0; freed += runFreed;
      if (i >= last) break;
    }
    fp[FP_FLUSH_FULL]++;
    folioPut(gatherPfn[i], gatherRefs[i], gatherMm, -1);
    last = gatherCount; /* only a put through folioPut could change it */
    i++;
  }
  stats[ST_ATOMIC_REF] += fastPuts;
  if (freed > 0) { sumLateFaults(); stats[ST_FRAMES_FREED] += freed; stats[ST_LIVE_FRAMES] -= freed; }
  fp[FP_FLUSH_FAST] += fastPuts;
  gatherCount = 0;
}
static void tlbRemovePage(i32 mm, u32 pfn) {
  i32 batch = rule(SCHEME_TLB_BATCH) < MAX_GATHER ? rule(SCHEME_TLB_BATCH) : MAX_GATHER;
  if (batch <= 0) { folioPut(pfn, 1, mm, -1); return; }
  gatherMm = mm;
  gatherPfn[gatherCount] = pfn;
  gatherRefs[gatherCount++] = 1;
  if (gatherCount >= batch) tlbFlush();
}
static void zapOne(i32 mm, u32 vpn, u32 *p) {
  u32 pte = *p;
  if (pte == 0) return;
  *p = 0;
  *shadowOf(p) = 0;
  bump(ST_PTES_ZAPPED);
  u32 pfn = pte >> PTE_PFN_SHIFT;
  if ((pte & (PTE_DEVICE_PRIVATE | PTE_MIGRATION)) != 0) DIE(3, "device entry\n");
  if ((pte & PTE_PRESENT) == 0) return;
  if ((pte & PTE_SPECIAL) != 0) { if (pfn != 0) LASTOP(pfn) = currentOp; return; }
  if (!isAllocated(pfn)) { violation(V_UAF, pfn, mm, (i32)vpn, REF(pfn), MAPC(pfn), 4); return; }
  rmapRemove(pfn, mm, (i32)vpn);
  tlbRemovePage(mm, pfn);
}
/* zapRunFast (zap.ts): zapRangeFast's per-PTE work over the slots [p, stop) of one table, a
 * loop without calls; stops at a PTE for zapOne or at stop, which the caller puts where the
 * gather cannot overflow (no end test per entry); the gather's new count in runGather. */
static i32 runGather;
#define ZERO_PTE (PTE_PRESENT | PTE_SPECIAL)
static u32 *zapRunFast(u32 *p, u32 *stop, i32 n) {
  const i32 op = currentOp;
  for (; p < stop; p += PTE_SLOT) {
    u32 pte = *p;
    u32 pfn = pte >> PTE_PFN_SHIFT;
    if ((pte & NOT_NORMAL) != PTE_PRESENT) { /* pte_none too: tested in here, off the common path */
      if (pte == 0) continue;
      /* zap_pte_range (6.1): vm_normal_page() is NULL for the zero page: the PTE cleared, nothing put */
      if (pte != ZERO_PTE) break;
      *p = 0;
      *shadowOf(p) = 0;
      stats[ST_PTES_ZAPPED]++;
      continue;
    }
    u32 fl = FLAGS(pfn); /* no pfn > sysFrames test: a device frame's flags hold its kind (zap.ts) */
    if ((fl & ORDINARY_MASK) != PG_ALLOCATED) break;
    i32 m = MAPC(pfn);
    if (m <= 0) break;
    i32 r = REF(pfn);
    if (r > m) { /* the page cache's own reference is no pin; tested only when there are more */
      if ((fl & PG_PAGECACHE) == 0) break;
      if (r > m + 1) break;
    }
    *p = 0;
    *shadowOf(p) = 0;
    MAPC(pfn) = m - 1;
    LASTOP(pfn) = op;
    gatherPfn[n] = pfn;
    gatherRefs[n] = 1;
    n++;
  }
  runGather = n;
  return p;
}
/* zapRangeFast (zap.ts) */
static void zapRangeFast(i32 mm, u32 start, u32 end) {
  i32 batch = rule(SCHEME_TLB_BATCH) < MAX_GATHER ? rule(SCHEME_TLB_BATCH) : MAX_GATHER;
  i32 gatherEnd = batch > 0 ? batch : 0;
  i64 zapped = 0;
  u32 vpn = start;
  while (vpn < end) {
    u32 tableEnd = (vpn | (PT_ENTRIES - 1)) + 1;
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      u32 *first = SLOT(ptePool, (size_t)pt * PT_ENTRIES + (vpn & (PT_ENTRIES - 1)));
      u32 *last = SLOT(first, tableEnd - vpn);
      u32 *p = first;
      while (p < last) {
        i32 n0 = gatherCount, n = n0;
        u32 *stop = last;
        if (batch > 0) { /* a slot adds at most one entry: the run stops by the slot that fills the gather */
          i32 room = batch - n0 > 1 ? batch - n0 : 1;
          if ((last - p) / PTE_SLOT > room) stop = SLOT(p, room);
          p = zapRunFast(p, stop, n0);
          n = runGather;
        }
        if (n != n0) { /* tlbGather's gatherMm and count, for the run's entries */
          zapped += n - n0;
          gatherMm = mm;
          gatherCount = n;
          if (n >= gatherEnd) { tlbFlush(); continue; }
        }
        if (p >= stop) continue; /* the run reached its stop: no PTE for zapOne there */
        fp[FP_ZAP_PTE_FULL]++;
        zapOne(mm, vpn + (u32)((p - first) / PTE_SLOT), p);
        p += PTE_SLOT;
      }
    }
    vpn = tableEnd;
  }
  stats[ST_PTES_ZAPPED] += zapped;
  stats[ST_ATOMIC_MAP] += zapped;
}
/* zapPage (zap_page.ts; here a bool, the caller runs zapRange on 0): a one-page MADV_DONTNEED that zapRangeFast would zap, without the range
 * loop; the page alone in the gather is put as tlbFlush's fast branch puts it, inline */
static int zapPageFast(i32 mm, u32 vpn) {
  if (!rangeFastOk()) return 0;
  i32 batch = rule(SCHEME_TLB_BATCH); /* the rule itself: its tests say the same as of min(rule, MAX_GATHER) (zap_page.ts) */
  if (batch <= 0) return 0;
  i32 pt = pteTableOf(mm, vpn);
  if (pt == 0) return 0;
  u32 *p = SLOT(ptePool, (size_t)pt * PT_ENTRIES + (vpn & (PT_ENTRIES - 1)));
  u32 pte = *p, pfn = pte >> PTE_PFN_SHIFT;
  if ((pte & NOT_NORMAL) != PTE_PRESENT) return 0; /* no pfn > sysFrames test: the flags test stops at a device frame (zap.ts) */
  i32 m = MAPC(pfn);
  u32 fl = FLAGS(pfn);
  if ((fl & ORDINARY_MASK) != PG_ALLOCATED || m <= 0) return 0;
  if (REF(pfn) > m && ((fl & PG_PAGECACHE) == 0 || REF(pfn) > m + 1)) return 0; /* the cache's tested only when there are more */
  *p = 0;
  *shadowOf(p) = 0;
  MAPC(pfn) = m - 1;
  LASTOP(pfn) = currentOp;
  /* into an empty gather with room for more: the page put at once, the entry never stored (zapPage) */
  if (gatherCount == 0 && batch > 1) {
    i32 r = REF(pfn) - 1;
    if (r >= 0) {
      gatherMm = mm;
      lateZaps++; /* noteLateZap: FP_ZAP_FAST, PTES_ZAPPED, ATOMIC_MAP, TLB_FLUSH, ATOMIC_REF, FP_FLUSH_FAST summed later */
      REF(pfn) = r;
      if (r == 0) { FLAGS(pfn) = 0; buddyPush(pfn); sumLateFaults(); stats[ST_FRAMES_FREED] += 1; stats[ST_LIVE_FRAMES] -= 1; }
      return 1;
    }
  }
  if (batch > MAX_GATHER) batch = MAX_GATHER; /* tlbRemoveFolio's batch */
  gatherMm = mm;
  gatherPfn[gatherCount] = pfn;
  gatherRefs[gatherCount++] = 1;
  if (gatherCount >= batch) tlbFlush();
  fp[FP_ZAP_FAST]++;
  stats[ST_PTES_ZAPPED] += 1;
  stats[ST_ATOMIC_MAP] += 1;
  tlbFlush();
  return 1;
}
static void zapRange(i32 mm, u32 start, u32 end) {
  if (rangeFastOk()) { fp[FP_ZAP_FAST]++; zapRangeFast(mm, start, end); tlbFlush(); return; }
  fp[FP_ZAP_FULL]++;
  u32 vpn = start;
  while (vpn < end) {
    u32 tableEnd = (vpn | (PT_ENTRIES - 1)) + 1;
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(mm, vpn);
    if (pt != 0) {
      u32 *base = SLOT(ptePool, (size_t)pt * PT_ENTRIES);
      for (u32 v = vpn; v < tableEnd; v++) zapOne(mm, v, SLOT(base, v & (PT_ENTRIES - 1)));
    }
    vpn = tableEnd;
  }
  tlbFlush();
}

static inline void copyOne(i32 parent, int cow, u32 vpn, u32 *src, u32 pte, u32 *dst) {
  u32 data = *shadowOf(src);
  bump(ST_PTES_COPIED);
  u32 pfn = pte >> PTE_PFN_SHIFT;
  if (pfn != 0 && !isAllocated(pfn)) violation(V_UAF, pfn, parent, (i32)vpn, REF(pfn), MAPC(pfn), 5);
  if ((pte & PTE_DEVICE_PRIVATE) != 0) DIE(3, "device entry\n");
  else if ((pte & PTE_SPECIAL) != 0) {
    u32 shared = cow ? pte & ~(u32)PTE_WRITE : pte;
    *src = shared; *dst = shared;
  } else if (hasFlag(pfn, PG_ANON) && rule(SCHEME_COW_PINNED) != 0 && mmPinned[parent] > 0 && REF(pfn) >= rule(SCHEME_PIN_BIAS)) {
    DIE(3, "pinned copy\n");
  } else {
    folioGet(pfn, 1, parent, (i32)vpn);
    rmapAdd(pfn);
    if (hasFlag(pfn, PG_ANON)) FLAGS(pfn) &= ~(u32)PG_ANON_EXCLUSIVE;
    u32 shared = cow ? pte & ~(u32)PTE_WRITE : pte;
    *src = shared; *dst = shared;
  }
  *shadowOf(dst) = data;
}
/* copyRun (fork.ts): copyRangeFast's per-PTE work over the parent's slots [src, last), the child's
 * at src + delta, a loop without calls; stops at a PTE for copyOne (returned), the pte_none slots
 * passed in runNone. copyRunCow is the common fork's copy (wp == srcMask == ~PTE_WRITE, constants).
 * As fork.ts: eight fast PTEs a turn while eight slots are left (any other PTE ends the turn), then one
 * PTE (a pte_none, a fast PTE of the last few, or the stop). */
static i32 runNone;
static ALWAYS_INLINE int isFastPte(u32 pte) { return (pte & (PTE_PRESENT | PTE_SPECIAL | PTE_DEVICE_PRIVATE)) == PTE_PRESENT; }
static ALWAYS_INLINE int isFastFrame(u32 f) { return (f & (PG_ALLOCATED | PG_HEAD | PG_TAIL)) == PG_ALLOCATED; }
static ALWAYS_INLINE void copyFastPte(u32 *src, ptrdiff_t delta, u32 pte, u32 pfn, u32 f, u32 wp, u32 srcMask) {
  REF(pfn) += 1;
  MAPC(pfn) += 1;
  if (f & PG_ANON) FLAGS(pfn) = f & ~(u32)PG_ANON_EXCLUSIVE;
  u32 *dst = src + delta;
  *src = pte & srcMask; /* wrprotectSrc */
  *dst = pte & wp;
  *shadowOf(dst) = *shadowOf(src);
}
#define COPY_FAST_STEP(brk) { \
    pte = *src; if (!isFastPte(pte)) brk; \
    pfn = pte >> PTE_PFN_SHIFT; f = FLAGS(pfn); if (!isFastFrame(f)) brk; \
    copyFastPte(src, delta, pte, pfn, f, wp, srcMask); src += PTE_SLOT; }
static ALWAYS_INLINE u32 *copyRun(u32 *src, u32 *last, ptrdiff_t delta, u32 wp, u32 srcMask) {
  runNone = 0;
  u32 pte, pfn, f;
  for (;;) {
    while (src + 8 * PTE_SLOT <= last) {
      COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one)
      COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one) COPY_FAST_STEP(goto one)
    }
  one:
    if (src >= last) break;
    pte = *src;
    if (pte == 0) {
      runNone++;
      src += PTE_SLOT;
    } else COPY_FAST_STEP(return src)
  }
  return src;
}
static u32 *copyRunCow(u32 *src, u32 *last, ptrdiff_t delta) { return copyRun(src, last, delta, ~(u32)PTE_WRITE, ~(u32)PTE_WRITE); }
static u32 *copyRunAny(u32 *src, u32 *last, ptrdiff_t delta, u32 wp, u32 srcMask) { return copyRun(src, last, delta, wp, srcMask); }
static inline u32 *copyRunFast(u32 *src, u32 *last, ptrdiff_t delta, u32 wp, u32 srcMask) {
  if (wp == ~(u32)PTE_WRITE && srcMask == ~(u32)PTE_WRITE) return copyRunCow(src, last, delta);
  return copyRunAny(src, last, delta, wp, srcMask);
}
/* copyRangeFast (fork.ts) */
static void copyRangeFast(i32 parent, i32 child, int cow, u32 start, u32 end) {
  u32 wp = cow ? ~(u32)PTE_WRITE : ~0u;
  u32 srcMask = deferParentWp ? ~0u : wp;
  i64 copied = 0;
  u32 vpn = start;
  while (vpn < end) {
    u32 tableEnd = (vpn | (PT_ENTRIES - 1)) + 1;
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      u32 *first = SLOT(ptePool, (size_t)pt * PT_ENTRIES + (vpn & (PT_ENTRIES - 1)));
      u32 *last = SLOT(first, tableEnd - vpn);
      u32 *src = first;
      while (src < last && *src == 0) src += PTE_SLOT; /* pte_none: nothing to copy */
      if (src < last) {
        /* the child's table, taken at the first PTE to copy; its slots at a fixed distance */
        u32 x = vpn + (u32)((src - first) / PTE_SLOT);
        ptrdiff_t delta = ptePtr(child, x, 1) - src;
        u32 *from = src;
        src = copyRunFast(src, last, delta, wp, srcMask);
        copied += (src - from) / PTE_SLOT - runNone;
        while (src < last) {
          fp[FP_COPY_PTE_FULL]++;
          copyOne(parent, cow, vpn + (u32)((src - first) / PTE_SLOT), src, *src, src + delta);
          from = src + PTE_SLOT;
          src = copyRunFast(from, last, delta, wp, srcMask);
          copied += (src - from) / PTE_SLOT - runNone;
        }
      }
    }
    vpn = tableEnd;
  }
  stats[ST_PTES_COPIED] += copied;
  stats[ST_ATOMIC_REF] += copied;
  stats[ST_ATOMIC_MAP] += copied;
}
static void copyRange(i32 parent, i32 child, i32 v, u32 start, u32 end) {
  int cow = isCow(v);
  if (rangeFastOk() && (rule(SCHEME_COW_PINNED) == 0 || mmPinned[parent] == 0)) {
    fp[FP_COPY_FAST]++; copyRangeFast(parent, child, cow, start, end); return;
  }
  fp[FP_COPY_FULL]++;
  u32 vpn = start;
  while (vpn < end) {
    u32 tableEnd = (vpn | (PT_ENTRIES - 1)) + 1;
    if (tableEnd > end) tableEnd = end;
    i32 pt = pteTableOf(parent, vpn);
    if (pt != 0) {
      u32 *base = SLOT(ptePool, (size_t)pt * PT_ENTRIES);
      u32 *dstTable = NULL; /* the child's table, taken at the first PTE to copy */
      for (u32 x = vpn; x < tableEnd; x++) {
        u32 *src = SLOT(base, x & (PT_ENTRIES - 1));
        u32 pte = *src;
        if (pte == 0) continue;
        if (!dstTable) dstTable = ptePtr(child, x, 1) - (x & (PT_ENTRIES - 1)) * PTE_SLOT;
        copyOne(parent, cow, x, src, pte, SLOT(dstTable, x & (PT_ENTRIES - 1)));
      }
    }
    vpn = tableEnd;
  }
}
static i32 doFork(i32 parent) {
  if (mmCap - mmCount < 1) return fail(ERR_NOMEM_MM, 0, 0);
  if (vmaFreeTop < mmVmas[parent]) return fail(ERR_NOMEM_VMA, 0, mmVmas[parent]);
  i32 tables = tablesPerMm[parent];
  if (pteFreeTop < tables || pmdFreeTop < tables) return fail(ERR_NOMEM_TABLES, 0, tables);
  i32 copies = 0; /* pinnedPagesIn: no pins in the benchmark */
  for (i32 v = mmHead[parent]; v >= 0; v = vmNext[v]) if (mmPinned[parent] != 0) copies += 0;
  if ((i32)buddyTop < copies) return fail(ERR_NOMEM_FRAMES, 0, copies);
  i32 child = newMm();
  for (i32 v = mmHead[parent]; v >= 0; v = vmNext[v]) {
    i32 cv = insertVma(child, (u32)vmStart[v], (u32)vmEnd[v], vmFlags[v], vmFile[v], (u32)vmPgoff[v]);
    vmAnonVma[cv] = vmAnonVma[v]; /* anon_vma_fork */
    if (vmAnonVma[v]) { /* vma_needs_copy */
      if (isCow(v)) mmuNotifierInvalidate(); /* copy_page_range: PROTECTION_PAGE */
      copyRange(parent, child, v, (u32)vmStart[v], (u32)vmEnd[v]);
    }
  }
  return child;
}
static void exitMm(i32 mm) {
  mmuNotifierInvalidate(); /* exit_mmap: mmu_notifier_release */
  i32 v = mmHead[mm];
  if (v >= 0) mmuNotifierInvalidate(); /* unmap_vmas: UNMAP */
  while (v >= 0) {
    zapRange(mm, (u32)vmStart[v], (u32)vmEnd[v]);
    i32 next = vmNext[v];
    unlinkVma(mm, v, -1);
    v = next;
  }
  freeAllTables(mm);
  mmAlive[mm] = 0;
}
static i32 doMmap(i32 mm, i32 vpn, i32 n, i32 fl) {
  if (n <= 0 || (i64)n > VPN_LIMIT) return fail(ERR_RANGE, 2, 0);
  if ((fl & ~VM_VALID) != 0) return fail(ERR_RANGE, 3, 0);
  (void)vpn; /* the benchmark maps at get_unmapped_area of an empty mm */
  return (i32)MMAP_BASE + 0 * insertVma(mm, MMAP_BASE, MMAP_BASE + (u32)n, fl, -1, 0);
}

static i32 execute(const i32 *w) {
  i32 op = w[0], a0 = w[1], a1 = w[2], a2 = w[3];
  i32 a3 = w[4], a4 = w[5], a5 = w[6];
  (void)a4; (void)a5;
  int needsMm = op == OP_MMAP || op == OP_MUNMAP || op == OP_READ || op == OP_WRITE || op == OP_FORK
    || op == OP_EXIT || op == OP_MADV_DONTNEED || op == OP_MIGRATE_TO_DEVICE || op == OP_MIGRATE_TO_RAM || op == OP_GUP;
  if (needsMm && !mmValid(a0)) return fail(ERR_BAD_MM, 0, 0);
  switch (op) {
    case OP_MM_NEW: if (mmCap - mmCount < 1) return fail(ERR_NOMEM_MM, -1, 0); return newMm();
    case OP_MMAP: return doMmap(a0, a1, a2, a3);
    case OP_READ: return fastAccess(a0, a1, 0, 0);
    case OP_WRITE: return fastAccess(a0, a1, 1, a2);
    case OP_FORK: return doFork(a0);
    case OP_EXIT:
      if (forksOpen != 0 && forkingParent(a0)) return fail(ERR_BAD_STATE, 0, 0);
      exitMm(a0); return 0;
    case OP_MADV_DONTNEED: {
      if (!(a1 >= 0 && a2 > 0 && (i64)a1 + (i64)a2 <= VPN_LIMIT)) return fail(ERR_RANGE, 1, 0);
      i32 v = findVma(a0, (u32)a1);
      if (v < 0) return fail(ERR_SEGV, 1, 0);
      if ((i64)a1 + (i64)a2 > (i64)(u32)vmEnd[v]) return fail(ERR_SEGV, 2, 0);
      mmuNotifierInvalidate(); /* zap_page_range_single: CLEAR */
      if (a2 != 1 || !zapPageFast(a0, (u32)a1)) zapRange(a0, (u32)a1, (u32)(a1 + a2));
      return 0;
    }
  }
  return fail(ERR_BAD_OP, -1, 0);
}

/* runBatch (ops.ts) */
static i32 runBatch(i32 n) {
  errorBlock[0] = 0;
  for (i32 i = 0; i < n; i++) {
    const i32 *w = opBuf + (size_t)i * OP_WORDS;
    if (prefetchOn && i % PREFETCH_GROUP == 0) prefetchGroup(opBuf, i, i + PREFETCH_GROUP < n ? i + PREFETCH_GROUP : n);
    errCode = 0; errField = -1; errDetail = 0;
    currentOp = opSeq;
    i32 r = execute(w);
    if (errCode != 0) {
      errorBlock[0] = errCode; errorBlock[1] = i; errorBlock[2] = errField; errorBlock[3] = errDetail;
      sumLateAll();
      return i;
    }
    stats[ST_OPS + w[0]] += 1;
    results[i] = r;
    opSeq++;
  }
  sumLateAll();
  return n;
}

/* Engine.runEncoded: copy each batch into the op buffer, then run it. */
static void runEncoded(const i32 *words, i64 count) {
  for (i64 start = 0; start < count; start += batchCap) {
    i32 n = (i32)(count - start < batchCap ? count - start : batchCap);
    memcpy(opBuf, words + start * OP_WORDS, (size_t)n * OP_WORDS * 4);
    if (runBatch(n) < n) {
      DIE(4, "refkernel: op %lld rejected: error %d field %d detail %d\n",
          (long long)(start + errorBlock[1]), errorBlock[0], errorBlock[2], errorBlock[3]);
    }
  }
}

static void op1(i32 *w, i32 op, i32 a0, i32 a1, i32 a2, i32 a3, i32 a4) {
  memset(w, 0, OP_WORDS * 4);
  w[0] = op; w[1] = a0; w[2] = a1; w[3] = a2; w[4] = a3; w[5] = a4;
}

/* ====================== PRNG, timing ====================== */

static u32 rng;
static inline u32 next_u32(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

typedef void (*unit_fn)(void);

#ifndef REFKERNEL_WASM
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* benchmark.js's t table (two-sided 95%) for df 1..30, then 1.96 */
static const double T_TABLE[31] = { 0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
  2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042 };

/* Calibrate the units per sample to >= 50 ms (benchmark.js's minTime), then take
 * samples until minSamples and maxMs are both reached. Returns ns per unit. */
static void measure(unit_fn fn, double workPerUnit, int minSamples, double maxMs, double *mean, double *rme, int *nSamples, long *unitsPerSample) {
  fn(); fn(); /* warm-up: caches, page faults, branch predictors */
  long per = 1;
  for (;;) {
    double t0 = now_ns();
    for (long i = 0; i < per; i++) fn();
    double dt = now_ns() - t0;
    if (dt >= 50e6 || per >= (1L << 30)) break;
    per = dt <= 0 ? per * 16 : (long)(per * (55e6 / dt)) + 1;
  }
  double samples[4096];
  int n = 0;
  double start = now_ns();
  while (n < 4096 && (n < minSamples || (now_ns() - start) < maxMs * 1e6)) {
    double t0 = now_ns();
    for (long i = 0; i < per; i++) fn();
    samples[n++] = (now_ns() - t0) / (double)per / workPerUnit;
  }
  double s = 0;
  for (int i = 0; i < n; i++) s += samples[i];
  double m = s / n, var = 0;
  for (int i = 0; i < n; i++) var += (samples[i] - m) * (samples[i] - m);
  var = n > 1 ? var / (n - 1) : 0;
  double sem = sqrt(var / n);
  double t = (n - 1) >= 1 && (n - 1) <= 30 ? T_TABLE[n - 1] : 1.96;
  *mean = m; *rme = m > 0 ? sem * t / m * 100 : 0; *nSamples = n; *unitsPerSample = per;
}

#endif

/* ====================== cases ====================== */

static u32 N, L;
static u32 *cycleSlots;   /* 2L slots: S then S reversed */
static i32 *cycleWords;   /* engine mode: the op records of one cycle */
static i64 cycleMaps;
static i32 forkParent = 0, forkNext = 1;
static i64 opsDone;

static void churn_bare_cycle(void) {
  u32 base = MMAP_BASE;
  for (u32 j = 0; j < 2 * L; j++) {
    if (prefetchOn && j % PREFETCH_GROUP == 0) barePrefetch(base, cycleSlots + j, 2 * L - j < PREFETCH_GROUP ? 2 * L - j : PREFETCH_GROUP);
    bare_churn_op(base + cycleSlots[j], j, (i32)(opsDone + j));
  }
  opsDone += 2 * L;
}
static void churn_engine_cycle(void) { runEncoded(cycleWords, 2 * (i64)L); opsDone += 2 * L; }

static void fork_bare_unit(void) {
  bare_fork(0, 1, MMAP_BASE, MMAP_BASE + N);
  bare_zap_all(1, MMAP_BASE, MMAP_BASE + N, (i32)opsDone);
  opsDone += 2;
}
static i32 forkWords[2 * OP_WORDS];
static void fork_engine_unit(void) {
  op1(forkWords, OP_FORK, forkParent, 0, 0, 0, 0);
  op1(forkWords + OP_WORDS, OP_EXIT, forkNext, 0, 0, 0, 0);
  runEncoded(forkWords, 2);
  if (results[0] != forkNext) DIE(4, "fork returned %d, expected %d\n", results[0], forkNext);
  forkNext++;
  /* The core never reuses mm ids; here a dead child's slot is as clean as a new
   * one (exitMm zeroed its pgd), so recycle the ids to bound the pgd array. */
  if (forkNext >= mmCap) { mmCount = forkParent + 1; forkNext = mmCount; }
  opsDone += 2;
}

/* Build the case's state (engine: through the op records, as the core's setup
 * does) and return the unit the timer repeats. N and L are set by the caller. */
static unit_fn setup_case(int churn, int engine, u32 frames, u32 seed, i32 mmCapArg) {
  rng = seed ? seed : 1;
  /* pool sizes as bench/main.ts gives the engine: doFork wants pteTablesLeft and
   * pmdTablesLeft each >= the parent's pte + pmd tables together */
  i32 tables = (i32)((N + 511) / 512);
  i32 nPte = churn ? tables + 8 : 2 * tables + 128;
  i32 nPmd = churn ? 64 : tables + 128;
  init_state(frames, engine ? mmCapArg : 4, 64, nPmd, nPte);
  if (churn) {
    unsigned char *occ = xalloc(N, 0);
    for (u32 i = 0; i < N; i++) occ[i] = next_u32() & 1;
    cycleSlots = xalloc((size_t)2 * L * 4, 0);
    for (u32 k = 0; k < L; k++) cycleSlots[k] = next_u32() % N;
    for (u32 k = 0; k < L; k++) cycleSlots[2 * L - 1 - k] = cycleSlots[k];
    if (engine) {
      i32 w[OP_WORDS];
      op1(w, OP_MM_NEW, 0, 0, 0, 0, 0); runEncoded(w, 1);
      op1(w, OP_MMAP, 0, -1, (i32)N, VM_READ | VM_WRITE | VM_ANON, -1); runEncoded(w, 1);
      i32 *setup = xalloc((size_t)N * OP_WORDS * 4, 0);
      i64 n = 0;
      for (u32 i = 0; i < N; i++) if (occ[i]) op1(setup + (n++) * OP_WORDS, OP_WRITE, 0, (i32)(MMAP_BASE + i), (i32)i, 0, 0);
      runEncoded(setup, n);
      free(setup);
      cycleWords = xalloc((size_t)2 * L * OP_WORDS * 4, 0);
      for (u32 j = 0; j < 2 * L; j++) {
        u32 s = cycleSlots[j];
        if (!occ[s]) { op1(cycleWords + (size_t)j * OP_WORDS, OP_WRITE, 0, (i32)(MMAP_BASE + s), (i32)j, 0, 0); cycleMaps++; }
        else op1(cycleWords + (size_t)j * OP_WORDS, OP_MADV_DONTNEED, 0, (i32)(MMAP_BASE + s), 1, 0, 0);
        occ[s] ^= 1;
      }
    } else {
      for (u32 i = 0; i < N; i++) if (occ[i]) bare_map(MMAP_BASE + i, i);
      for (u32 j = 0; j < 2 * L; j++) { u32 s = cycleSlots[j]; if (!occ[s]) cycleMaps++; occ[s] ^= 1; }
    }
    free(occ);
    return engine ? churn_engine_cycle : churn_bare_cycle;
  }
  if (engine) {
    i32 w[OP_WORDS];
    op1(w, OP_MM_NEW, 0, 0, 0, 0, 0); runEncoded(w, 1);
    op1(w, OP_MMAP, 0, -1, (i32)N, VM_READ | VM_WRITE | VM_ANON, -1); runEncoded(w, 1);
    i32 *setup = xalloc((size_t)4096 * OP_WORDS * 4, 0);
    for (u32 i = 0; i < N;) {
      u32 n = 0;
      for (; n < 4096 && i < N; n++, i++) op1(setup + (size_t)n * OP_WORDS, OP_WRITE, 0, (i32)(MMAP_BASE + i), (i32)i, 0, 0);
      runEncoded(setup, n);
    }
    free(setup);
  } else {
    for (u32 i = 0; i < N; i++) bare_map(MMAP_BASE + i, i);
  }
  return engine ? fork_engine_unit : fork_bare_unit;
}

/* a checksum of the frame state, so both modes (and both builds) can be compared */
static unsigned long long frameChecksum(void) {
  unsigned long long sum = 0;
  for (u32 p = 1; p <= sysFrames; p++) sum += (unsigned long long)(u32)REF(p) * 3 + (u32)MAPC(p);
  return sum;
}

#ifdef REFKERNEL_WASM
/* The wasm32 build's interface (bench/cwasm.ts): set up once, then run units. */
static unit_fn wasmUnit;
__attribute__((export_name("rk_setup"))) int rk_setup(int churn, int engine, u32 n, u32 frames, u32 l, u32 seed, i32 mmCap) {
  N = n; L = l;
  wasmUnit = setup_case(churn, engine, frames, seed, mmCap);
  return 0;
}
__attribute__((export_name("rk_run"))) void rk_run(i32 units) { for (i32 i = 0; i < units; i++) wasmUnit(); }
__attribute__((export_name("rk_checksum"))) i64 rk_checksum(void) { return (i64)frameChecksum(); }
__attribute__((export_name("rk_cycle_maps"))) i64 rk_cycle_maps(void) { return cycleMaps; }
__attribute__((export_name("rk_free_frames"))) u32 rk_free_frames(void) { return buddyTop; }
__attribute__((export_name("rk_ops_done"))) i64 rk_ops_done(void) { return opsDone; }
__attribute__((export_name("rk_atomic_ref"))) i64 rk_atomic_ref(void) { return stats[ST_ATOMIC_REF]; }
__attribute__((export_name("rk_atomic_map"))) i64 rk_atomic_map(void) { return stats[ST_ATOMIC_MAP]; }
#else
int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: refkernel churn|fork bare|engine N frames L seed minSamples maxMs [mmCap]\n");
    return 1;
  }
  const char *kase = argv[1], *mode = argv[2];
  N = (u32)strtoul(argv[3], 0, 10);
  u32 frames = (u32)strtoul(argv[4], 0, 10);
  L = (u32)strtoul(argv[5], 0, 10);
  u32 seed = (u32)strtoul(argv[6], 0, 10);
  int minSamples = atoi(argv[7]);
  double maxMs = atof(argv[8]);
  i32 mmCapArg = argc > 9 ? atoi(argv[9]) : 4096;
  int engine = strcmp(mode, "engine") == 0;
  int churn = strcmp(kase, "churn") == 0;
  double mean = 0, rme = 0; int ns = 0; long per = 0;
  double t0 = now_ns();
  unit_fn unit = setup_case(churn, engine, frames, seed, mmCapArg);
  double setupMs = (now_ns() - t0) / 1e6;
  measure(unit, churn ? 2.0 * L : 2.0 * N, minSamples, maxMs, &mean, &rme, &ns, &per);
  printf("{\"case\":\"%s\",\"mode\":\"%s\",\"N\":%u,\"frames\":%u,\"L\":%u,\"nsPerOp\":%.4f,\"rme\":%.3f,\"samples\":%d,"
         "\"unitsPerSample\":%ld,\"cycleMaps\":%lld,\"freeFrames\":%u,\"checksum\":%llu,\"setupMs\":%.1f,"
         "\"atomicsRef\":%lld,\"atomicsMap\":%lld,\"opsDone\":%lld}\n",
         kase, mode, N, frames, L, mean, rme, ns, per, (long long)cycleMaps, buddyTop, frameChecksum(), setupMs,
         (long long)stats[ST_ATOMIC_REF], (long long)stats[ST_ATOMIC_MAP], (long long)opsDone);
  return 0;
}
#endif
