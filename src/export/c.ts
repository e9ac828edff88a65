/**
 * A scenario (an explore result, for instance) as a standalone C program, so a
 * finding can be tried on a real kernel: plain syscalls for memory (mmap,
 * munmap, madvise, fork, memfd files, vmsplice for get_user_pages, io_uring fixed
 * buffers for FOLL_PIN | FOLL_LONGTERM), and the HMM selftest driver's ioctls
 * (lib/test_hmm.c, /dev/hmm_dmirrorN; lib/test_hmm_uapi.h) where the scenario
 * uses device memory: HMM_DMIRROR_MIGRATE_TO_DEV, _MIGRATE_TO_SYS, _RELEASE.
 *
 * Each refsim mm is one process. The processes the scenario creates with mm_new
 * are forked before any scenario mapping exists (fresh address spaces as far as
 * the scenario is concerned); a `fork` step forks the owner. All of them walk the
 * steps in order, taking turns through a counter in a shared page, and each runs
 * the steps of its own mm; global steps (files, drivers) run in the first
 * process. Values bound with `as` live in the shared page too. An expect step
 * prints what the kernel shows for that page (its pfn from /proc/self/pagemap,
 * /proc/kpagecount and /proc/kpageflags: run as root) beside refsim's expected
 * values, for a person to compare: refcounts are not visible from user space
 * (/proc/kpagecount is the page's mapcount, page_mapcount in fs/proc/page.c).
 *
 * The op table (C_OPS) maps each refsim op to the code it emits; an op without an
 * entry is emitted as a printed note, never silently dropped. Add an entry to
 * export a new op (e.g. dmirror's hmm_range_fault ops as HMM_DMIRROR_READ/WRITE).
 *
 * @example
 * ```ts
 * import { exportC } from "./c.ts";
 * const c = exportC({ name: "t", steps: [{ op: "mm_new", as: "p" }, { op: "mmap", mm: "p", length: "4K", as: "a" }, { op: "write", mm: "p", addr: "a", value: 7 }] });
 * console.log(c.includes("mmap(")); // true
 * ```
 */
import type { Scenario, Step, OpStep, ExpectStep } from "../scenario/types.ts";
import { parseSize } from "../scenario/values.ts";
import { RefsimError } from "../core/errors.ts";
import { isConcurrent } from "../races/format.ts";

/** What an op's emitter gets: the step and helpers that turn scenario values into C expressions. */
export interface EmitContext {
  step: OpStep;
  index: number;
  /** A C expression for a value field (number, size, hex, a bound name, "name+4K"). */
  value(field: string, dflt?: string): string;
  /** The C lvalue where this step's `as` result goes (a no-op sink without `as`). */
  result: string;
  /** The dmirror device number for a driver name (0, 1: device-private; 2, 3: device-coherent). */
  device(field: string): string;
  /** A C string literal. */
  str(s: string): string;
  /** For file_new: its memfd slot (the files are made before any process forks). */
  fileSlot: number;
}

export interface OpEmitter {
  /** Who runs it: the process of the step's `mm`, the one that made the handle, or the first process. */
  runBy: "mm" | "handle" | "main";
  emit(c: EmitContext): string;
}

/** Device numbers of test_hmm.c (hmm-tests.c: HMM_PRIVATE_DEVICE_ONE/TWO, HMM_COHERENCE_DEVICE_ONE/TWO). */
const DMIRROR_DEVICE: Record<string, number[]> = { "device-private": [0, 1], "device-coherent": [2, 3] };

/**
 * The op table. The C helpers (rs_*) are in PRELUDE; each names the kernel path
 * it reaches.
 */
export const C_OPS: Record<string, OpEmitter> = {
  mmap: {
    runBy: "mm",
    emit: (c) => `${c.result} = rs_mmap(${c.value("addr", "0")}, ${c.value("length")}, ${cProt(c.step.prot)}, ${c.step.file !== undefined ? `rs_file_fd(${c.value("file")})` : "-1"}, ${c.value("offset", "0")}, ${c.step.shared ? 1 : 0}, ${c.step.huge ? 1 : 0});`,
  },
  mprotect: { runBy: "mm", emit: (c) => `rs_check(mprotect((void *)${c.value("addr")}, ${c.value("length")}, ${cProt(c.step.prot)}), "mprotect");` },
  mremap: {
    runBy: "mm",
    emit: (c) => {
      const flags = [c.step.maymove || c.step.fixed || c.step.dontunmap ? "MREMAP_MAYMOVE" : "", c.step.fixed ? "MREMAP_FIXED" : "", c.step.dontunmap ? "MREMAP_DONTUNMAP" : ""].filter(Boolean).join(" | ") || "0";
      return `${c.result} = rs_mremap(${c.value("addr")}, ${c.value("length")}, ${c.value("newLength")}, ${flags}, ${c.value("newAddr", "0")});`;
    },
  },
  munmap: { runBy: "mm", emit: (c) => `rs_check(munmap((void *)${c.value("addr")}, ${c.value("length")}), "munmap");` },
  madvise_dontneed: { runBy: "mm", emit: (c) => `rs_check(madvise((void *)${c.value("addr")}, ${c.value("length")}, MADV_DONTNEED), "madvise(MADV_DONTNEED)");` },
  madvise_pageout: { runBy: "mm", emit: (c) => `rs_check(madvise((void *)${c.value("addr")}, ${c.value("length")}, MADV_PAGEOUT), "madvise(MADV_PAGEOUT)");` },
  madvise_collapse: { runBy: "mm", emit: (c) => `rs_check(madvise((void *)${c.value("addr")}, ${c.value("length")}, 25 /* MADV_COLLAPSE, 6.1+ */), "madvise(MADV_COLLAPSE)");` },
  write: { runBy: "mm", emit: (c) => `*(volatile long *)${c.value("addr")} = ${c.value("value")};` },
  read: { runBy: "mm", emit: (c) => `${c.result} = *(volatile long *)${c.value("addr")};` },
  fork: { runBy: "mm", emit: () => "/* fork: handled by the step loop (rs_fork) */" },
  exit: { runBy: "mm", emit: (c) => `rs_done(${c.index}); _exit(0); /* exit_mmap; the coordinator reaps it */` },
  file_new: { runBy: "main", emit: (c) => `${c.result} = rs_file_new(${c.fileSlot}, ${c.value("length")});` },
  truncate: {
    runBy: "main",
    emit: (c) => c.step.shrink
      ? `rs_check(ftruncate(rs_file_fd(${c.value("file")}), ${c.value("offset")}), "ftruncate");`
      : `rs_check(fallocate(rs_file_fd(${c.value("file")}), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ${c.value("offset")}, ${c.value("length")}), "fallocate(PUNCH_HOLE)");`,
  },
  drop_cache: { runBy: "main", emit: (c) => `rs_check(posix_fadvise(rs_file_fd(${c.value("file")}), 0, 0, POSIX_FADV_DONTNEED), "posix_fadvise(DONTNEED)");` },
  driver_new: { runBy: "main", emit: (c) => `${c.result} = ${c.device("kind")}; /* ${c.str(String(c.step.kind))}: /dev/hmm_dmirror${c.device("kind")} (test_hmm.c allocates its own device memory) */` },
  migrate_to_device: { runBy: "mm", emit: (c) => `${c.result} = rs_dmirror(${c.value("driver")}, HMM_DMIRROR_MIGRATE_TO_DEV, ${c.value("addr")}, ${c.value("length")}, "HMM_DMIRROR_MIGRATE_TO_DEV");` },
  migrate_to_ram: { runBy: "mm", emit: (c) => `rs_dmirror(rs_last_device, HMM_DMIRROR_MIGRATE_TO_SYS, ${c.value("addr")}, ${c.value("length")}, "HMM_DMIRROR_MIGRATE_TO_SYS");` },
  evict_bo: { runBy: "main", emit: () => "rs_dmirror_release(rs_last_device); /* migrate_device_range over the device's memory */" },
  driver_teardown: { runBy: "main", emit: () => "rs_note(\"driver_teardown: rmmod test_hmm after this program to tear the device down (memunmap_pages)\");" },
  gup: {
    runBy: "mm",
    emit: (c) => c.step.pin
      ? `${c.result} = rs_pin(${c.value("addr")}); /* pin_user_pages(FOLL_PIN | FOLL_LONGTERM) via io_uring fixed buffers */`
      : `${c.result} = rs_gup(${c.value("addr")}); /* get_user_pages via vmsplice into a pipe */`,
  },
  unpin: { runBy: "handle", emit: (c) => `rs_unpin(${c.value("handle")});` },
  check: { runBy: "main", emit: () => "/* check: refsim's quiesce check; the kernel's nearest is CONFIG_DEBUG_VM at the next put */" },
  teardown: { runBy: "main", emit: () => "/* teardown: every process exits at the end */" },
};

/** Ops that have no user-space counterpart, with the reason the program prints ("not exportable: ..."). */
export const NOT_EXPORTABLE: Record<string, string> = {
  fault_begin: "it holds do_swap_page open between dropping the PTL and migrate_to_ram, a window user space cannot hold",
  fault_end: "it ends a fault_begin window (see there)",
  dma_write: "a device writing through a GUP pin needs a driver with DMA; test_hmm.c's HMM_DMIRROR_WRITE writes through its own mirror, not a pin",
  driver_alloc: "the driver allocating device folios for itself (zone_device_folio_init) happens inside a driver, with no ioctl in test_hmm.c",
  driver_free: "the driver dropping its own folios happens inside a driver, with no ioctl in test_hmm.c",
  cpu: "it picks the cost model's simulated CPU; refcounts do not depend on it",
};

/** Steps the program cannot reproduce, with why (also printed by the program when it reaches them). */
export function notExportable(sc: Scenario): { step: number; op: string; reason: string }[] {
  const out: { step: number; op: string; reason: string }[] = [];
  sc.steps.forEach((s, i) => {
    if (!isOp(s)) return;
    const why = exportProblem(s);
    if (why) out.push({ step: i + 1, op: s.op, reason: why });
  });
  return out;
}

/** Why this op step cannot be exported, or undefined. */
function exportProblem(s: OpStep): string | undefined {
  if (NOT_EXPORTABLE[s.op]) return NOT_EXPORTABLE[s.op];
  if (s.op === "driver_new" && !DMIRROR_DEVICE[String(s.kind)]) return `a ${String(s.kind)} device is not what test_hmm.c provides (device-private and device-coherent only)`;
  if (s.op === "file_new" && s.driver !== undefined) return "a file on a device (fsdax) needs a pmem device and a DAX filesystem; exported as a memfd file";
  if (!C_OPS[s.op] && !["mm_new", "fork"].includes(s.op)) return `op ${s.op} has no entry in C_OPS (src/export/c.ts) yet`;
  return undefined;
}

const cProt = (p: unknown) => (p === "none" ? "PROT_NONE" : p === "r" ? "PROT_READ" : "PROT_READ | PROT_WRITE");

const PRELUDE = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/io_uring.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* Not every program uses every helper below. */
#pragma GCC diagnostic ignored "-Wunused-function"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

/* lib/test_hmm_uapi.h: the HMM selftest driver's command and ioctl numbers. */
struct hmm_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};
#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_WRITE		_IOWR('H', 0x01, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_DEV	_IOWR('H', 0x02, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_MIGRATE_TO_SYS	_IOWR('H', 0x03, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_SNAPSHOT		_IOWR('H', 0x04, struct hmm_dmirror_cmd)
#define HMM_DMIRROR_RELEASE		_IOWR('H', 0x07, struct hmm_dmirror_cmd)

#define RS_PAGE 4096L
#define RS_MAX_VARS 256
#define RS_MAX_FILES 64

/* Shared by every process of the scenario: whose turn it is, and the values bound with "as". */
struct rs_shared {
	volatile long turn;
	volatile long failed;
	long vars[RS_MAX_VARS];
};
static struct rs_shared *rs;
static int rs_self;          /* this process's mm index */
static int rs_files[RS_MAX_FILES];
static int rs_dev_fd[4] = { -1, -1, -1, -1 };
static long rs_last_device = 0;
static long rs_sink;
static const char *rs_expect;   /* the step's expected errno or signal (refsim's text), or NULL */
static sigjmp_buf rs_jmp;
static volatile int rs_jmp_armed;

static void rs_note(const char *what) { printf("[mm %d] note: %s\n", rs_self, what); fflush(stdout); }

static void rs_check(long r, const char *what)
{
	if (r >= 0) return;
	if (rs_expect) { printf("[mm %d] %s failed: %s (%d); refsim expects %s\n", rs_self, what, strerror(errno), errno, rs_expect); fflush(stdout); return; }
	printf("[mm %d] %s failed: %s\n", rs_self, what, strerror(errno));
	fflush(stdout);
	rs->failed = 1;
}

/* A CPU access that refsim expects to raise SIGSEGV or SIGBUS returns here instead of killing the process. */
static void rs_on_signal(int sig)
{
	if (!rs_jmp_armed) { signal(sig, SIG_DFL); raise(sig); }
	rs_jmp_armed = 0;
	siglongjmp(rs_jmp, sig);
}

/* The step loop: wait for step i's turn, then pass the turn on. */
static void rs_wait(long i)
{
	long spins = 0;
	while (__atomic_load_n(&rs->turn, __ATOMIC_SEQ_CST) < i)
		if (++spins < 100) sched_yield(); else usleep(50); /* a busy host: sleep rather than spin */
}
/* Only step i's turn moves on: a fork's child passes the turn it was born in again, possibly after later steps ran. */
static void rs_done(long i) { long t = i; __atomic_compare_exchange_n(&rs->turn, &t, i + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }

static long rs_mmap(long addr, long length, int prot, int fd, long offset, int shared, int huge)
{
	int flags = (fd >= 0 ? 0 : MAP_ANONYMOUS) | (shared ? MAP_SHARED : MAP_PRIVATE) | (addr ? MAP_FIXED_NOREPLACE : 0);
	void *p = mmap((void *)addr, length, prot, flags, fd, offset);
	if (p == MAP_FAILED) { rs_check(-1, "mmap"); return 0; }
	if (huge) rs_check(madvise(p, length, MADV_HUGEPAGE), "madvise(MADV_HUGEPAGE)");
	return (long)p;
}

static long rs_mremap(long addr, long length, long new_length, int flags, long new_addr)
{
	void *p = mremap((void *)addr, length, new_length, flags, (void *)new_addr);
	if (p == MAP_FAILED) { rs_check(-1, "mremap"); return 0; }
	return (long)p;
}

/* Files: memfd files, made before the processes fork so every process has the fd. */
static int rs_file_fd(long file) { return rs_files[file]; }
static long rs_file_new(int slot, long length)
{
	rs_check(ftruncate(rs_files[slot], length), "ftruncate");
	return slot;
}

/* /dev/hmm_dmirrorN, opened in the process that uses it (the driver mirrors the caller's mm). */
static long rs_dmirror(long dev, unsigned long cmd_nr, long addr, long length, const char *what)
{
	char path[64];
	struct hmm_dmirror_cmd cmd;
	long npages = (length + RS_PAGE - 1) / RS_PAGE;
	void *buf = malloc(npages * RS_PAGE);
	rs_last_device = dev;
	if (rs_dev_fd[dev] < 0) {
		snprintf(path, sizeof(path), "/dev/hmm_dmirror%ld", dev);
		rs_dev_fd[dev] = open(path, O_RDWR);
		if (rs_dev_fd[dev] < 0) { printf("[mm %d] cannot open %s (modprobe test_hmm): %s\n", rs_self, path, strerror(errno)); rs->failed = 1; free(buf); return 0; }
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.addr = addr;
	cmd.ptr = (__u64)(uintptr_t)buf;
	cmd.npages = npages;
	rs_check(ioctl(rs_dev_fd[dev], cmd_nr, &cmd), what);
	printf("[mm %d] %s: %llu of %ld pages\n", rs_self, what, (unsigned long long)cmd.cpages, npages);
	free(buf);
	return dev + 1;
}
static void rs_dmirror_release(long dev)
{
	struct hmm_dmirror_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	if (rs_dev_fd[dev] >= 0) rs_check(ioctl(rs_dev_fd[dev], HMM_DMIRROR_RELEASE, &cmd), "HMM_DMIRROR_RELEASE");
}

/* get_user_pages: vmsplice the page into a pipe; the pipe holds a reference until read. */
static long rs_gup(long addr)
{
	int p[2];
	struct iovec iov = { (void *)addr, RS_PAGE };
	if (pipe(p) < 0) { rs_check(-1, "pipe"); return 0; }
	rs_check(vmsplice(p[1], &iov, 1, 0), "vmsplice");
	return 1000 + p[0] * 1000 + p[1];
}
/* pin_user_pages(FOLL_LONGTERM): register the page as an io_uring fixed buffer. */
static long rs_pin(long addr)
{
	struct io_uring_params params;
	struct iovec iov = { (void *)addr, RS_PAGE };
	int ring;
	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring < 0) { rs_check(-1, "io_uring_setup"); return 0; }
	rs_check(syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1), "IORING_REGISTER_BUFFERS");
	return -ring - 1;
}
static void rs_unpin(long h)
{
	if (h < 0) { close(-h - 1); return; }            /* unregisters the ring's buffers: unpin_user_pages */
	if (h >= 1000) { char b[RS_PAGE]; int r = (h - 1000) / 1000, w = (h - 1000) % 1000; if (read(r, b, sizeof(b)) < 0) rs_check(-1, "read"); close(r); close(w); }
}

/* What the kernel shows for the page at addr: pfn (pagemap), kpagecount (its mapcount), kpageflags (root only). */
static void rs_show(long addr, const char *label, const char *expected)
{
	uint64_t ent = 0, count = 0, flags = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) { if (pread(fd, &ent, 8, (addr / RS_PAGE) * 8) != 8) ent = 0; close(fd); }
	if (!(ent >> 63)) { printf("[mm %d] %s: 0x%lx not present (pagemap 0x%llx); refsim expects %s\n", rs_self, label, addr, (unsigned long long)ent, expected); return; }
	uint64_t pfn = ent & ((1ULL << 55) - 1);
	fd = open("/proc/kpagecount", O_RDONLY);
	if (fd >= 0) { if (pread(fd, &count, 8, pfn * 8) != 8) count = 0; close(fd); }
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd >= 0) { if (pread(fd, &flags, 8, pfn * 8) != 8) flags = 0; close(fd); }
	printf("[mm %d] %s: 0x%lx pfn 0x%llx kpagecount (mappings) %llu kpageflags 0x%llx; refsim expects %s\n", rs_self, label, addr,
	       (unsigned long long)pfn, (unsigned long long)count, (unsigned long long)flags, expected);
	fflush(stdout);
}
`;

interface Plan {
  /** Process index of each step (0: the coordinator). */
  owner: number[];
  /** mm name -> process index. */
  mms: Map<string, number>;
  /** Bound name -> shared variable slot. */
  vars: Map<string, number>;
  /** Step index of each fork -> the child's process index. */
  forks: Map<number, number>;
  /** Processes created by mm_new (forked at the start). */
  fresh: number[];
  /** Step indexes of file_new. */
  files: number[];
}

const isOp = (s: Step): s is OpStep => "op" in s;

function plan(sc: Scenario): Plan {
  const mms = new Map<string, number>();
  const vars = new Map<string, number>();
  const handles = new Map<string, number>();
  const forks = new Map<number, number>();
  const fresh: number[] = [];
  const files: number[] = [];
  const owner: number[] = [];
  let procs = 1; // process 0 is the coordinator: it runs the global steps and reaps the rest
  const exited = new Set<number>();
  const mmOf = (v: unknown, i: number): number => {
    const p = typeof v === "number" ? v : mms.get(String(v));
    if (p === undefined || p >= procs) throw new RefsimError(`export: step ${i + 1}: mm ${JSON.stringify(v)} is not an address space made by an earlier step`, { field: "mm", index: i });
    return p;
  };
  sc.steps.forEach((s, i) => {
    if (isConcurrent(s)) {
      throw new RefsimError(`export: step ${i + 1}: a concurrent step ("threads", "step", or an op with "thread") has no C form here (one process per mm runs its ops in order); refsim races explores it`, { field: "threads", index: i });
    }
    if (!isOp(s)) {
      const e = (s as ExpectStep).expect;
      const p = e.page ? mmOf(e.page.mm, i) : e.read ? mmOf(e.read.mm, i) : 0;
      owner.push(exited.has(p) ? 0 : p); // an exited mm's process is gone: the coordinator reports it
      return;
    }
    if (s.as && !vars.has(s.as)) vars.set(s.as, vars.size);
    if (s.op === "mm_new") {
      if (s.as) mms.set(s.as, procs);
      fresh.push(procs++);
      owner.push(0); // forked at the start; the coordinator passes the turn
      return;
    }
    if (s.op === "fork") {
      const parent = mmOf(s.mm, i);
      if (s.as) mms.set(s.as, procs);
      forks.set(i, procs++);
      owner.push(parent);
      return;
    }
    if (s.op === "file_new") files.push(i);
    const e = C_OPS[s.op];
    const by = e?.runBy ?? (s.mm !== undefined ? "mm" : "main");
    const p = by === "mm" ? mmOf(s.mm, i) : by === "handle" ? handles.get(String(s.handle)) ?? 0 : 0;
    if (s.op === "gup" && s.as) handles.set(s.as, p);
    if (s.op === "exit") exited.add(p);
    owner.push(p);
  });
  return { owner, mms, vars, forks, fresh, files };
}

/** The C expression of a scenario value. */
function cValue(v: unknown, vars: Map<string, number>, where: string): string {
  if (typeof v === "number") return `${v}L`;
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v !== "string") throw new RefsimError(`export: ${where}: cannot export ${JSON.stringify(v)}`, { field: where });
  const size = parseSize(v);
  if (size !== undefined) return `0x${size.toString(16)}L`;
  const m = /^([A-Za-z_][\w-]*)\s*(?:([+-])\s*(.+))?$/.exec(v.trim());
  const slot = m ? vars.get(m[1]) : undefined;
  if (!m || slot === undefined) throw new RefsimError(`export: ${where}: '${v}' is not a value or a name bound earlier`, { field: where });
  const off = m[3] === undefined ? undefined : parseSize(m[3]);
  if (m[3] !== undefined && off === undefined) throw new RefsimError(`export: ${where}: the offset in '${v}' is not a size`, { field: where });
  return m[2] ? `(rs->vars[${slot}] ${m[2]} 0x${(off ?? 0).toString(16)}L)` : `rs->vars[${slot}]`;
}

const cString = (s: string) => JSON.stringify(s).replace(/\?/g, "\\?");

/** Refsim's expectation of an expect step, as text for the program to print beside the kernel's view. */
function expectedText(e: ExpectStep["expect"]): string {
  const parts = Object.entries(e).filter(([k]) => !["page", "read", "bo", "result"].includes(k)).map(([k, v]) => `${k} ${JSON.stringify(v)}`);
  return parts.join(", ") || "(observed only)";
}

/** The whole C program. Throws RefsimError for a step that cannot be exported (an unknown mm or name). */
export function exportC(sc: Scenario, opts: { source?: string } = {}): string {
  const p = plan(sc);
  const nproc = p.fresh.length + p.forks.size;
  if (p.vars.size > 256) throw new RefsimError("export: more than 256 bound names (RS_MAX_VARS)", { field: "as" });
  if (p.files.length > 64) throw new RefsimError("export: more than 64 files (RS_MAX_FILES)", { field: "file_new" });
  const body: string[] = [];
  sc.steps.forEach((s, i) => {
    const who = p.owner[i];
    const text = isOp(s) ? `${s.op}${Object.entries(s).filter(([k]) => k !== "op").map(([k, v]) => ` ${k}=${v}`).join("")}` : `expect ${JSON.stringify((s as ExpectStep).expect)}`;
    body.push(`\t/* step ${i + 1}: ${text.replace(/\*\//g, "* /")} */`);
    let code: string;
    if (isOp(s) && s.op === "mm_new") code = "/* its process was forked at the start */";
    else if (!isOp(s)) {
      const e = (s as ExpectStep).expect;
      const label = cString((s as ExpectStep).label ?? `step ${i + 1}`);
      if (e.page) code = `rs_show(${cValue(e.page.addr, p.vars, `step ${i + 1} addr`)}, ${label}, ${cString(expectedText(e))});`;
      else if (e.read) code = `printf("[mm %d] %s: read %ld; refsim expects %s\\n", rs_self, ${label}, *(volatile long *)${cValue(e.read.addr, p.vars, `step ${i + 1} addr`)}, ${cString(expectedText(e))});`;
      else code = `printf("[mm %d] %s: refsim expects %s (not visible from user space)\\n", rs_self, ${label}, ${cString(expectedText(e))});`;
    } else if (s.op === "fork") {
      const child = p.forks.get(i)!;
      code = `{ pid_t c = fork(); if (c < 0) rs_check(-1, "fork"); else if (c == 0) rs_self = ${child}; }`;
    } else {
      const e = C_OPS[s.op];
      const problem = exportProblem(s);
      if (!e || NOT_EXPORTABLE[s.op]) code = `rs_note(${cString(`step ${i + 1}: ${s.op}: not exportable: ${problem}; the program goes on without it`)});`;
      else {
        const ctx: EmitContext = {
          step: s, index: i,
          value: (f, dflt) => (s[f] === undefined ? (dflt ?? (() => { throw new RefsimError(`export: step ${i + 1} (${s.op}): field '${f}' is missing`, { field: f, index: i }); })()) : cValue(s[f], p.vars, `step ${i + 1} ${f}`)),
          result: s.as ? `rs->vars[${p.vars.get(s.as)}]` : "rs_sink",
          device: (f) => String((DMIRROR_DEVICE[String(s[f])] ?? [0])[0]),
          str: cString,
          fileSlot: p.files.indexOf(i),
        };
        code = (problem ? `rs_note(${cString(`step ${i + 1}: ${s.op}: ${problem}`)}); ` : "") + e.emit(ctx);
        const want = s.errno ?? s.signal;
        if (want !== undefined) {
          // refsim expects the kernel to fail this op (errno) or the access to raise a signal: report, do not count it as a failure.
          const text = cString(`${s.errno !== undefined ? "errno" : "signal"} ${JSON.stringify(want)}`);
          code = `rs_expect = ${text}; rs_jmp_armed = 1; if (sigsetjmp(rs_jmp, 1) == 0) { ${code} rs_jmp_armed = 0; printf("[mm %d] step ${i + 1}: returned; refsim expects %s\\n", rs_self, rs_expect); } else printf("[mm %d] step ${i + 1}: raised a signal; refsim expects %s\\n", rs_self, rs_expect); rs_expect = NULL;`;
        }
      }
    }
    // The fork's parent passes the turn only after the child exists; the child starts after it.
    // A fork's child leaves the block as the child (rs_self set) and passes the turn too: rs_done ignores that.
    body.push(`\tif (rs_self == ${who}) { rs_wait(${i}); ${code} rs_done(${i}); }`);
  });
  const lines = [
    `/*`,
    ` * ${sc.name}${sc.title ? `: ${sc.title}` : ""}`,
    ` * Exported by refsim (src/export/c.ts) from ${opts.source ?? "a scenario"}: ${sc.steps.length} steps, ${nproc} process(es).`,
    ` * Build: gcc -O1 -Wall -o repro repro.c; run as root (pagemap pfns, kpagecount), after`,
    ` * modprobe test_hmm if the scenario uses device memory (CONFIG_TEST_HMM).`,
    ` * Each refsim mm is one process; they take turns step by step, process 0 coordinates. Exit status 1 if a call failed.`,
    ...notExportable(sc).map((n) => ` * step ${n.step} (${n.op}): not exportable: ${n.reason.replace(/\*\//g, "* /")}`),
    ` */`,
    PRELUDE,
    "",
    "int main(void)",
    "{",
    "\tint i;",
    "\trs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);",
    "\tif (rs == MAP_FAILED) { perror(\"mmap shared\"); return 2; }",
    `\tfor (i = 0; i < RS_MAX_FILES; i++) rs_files[i] = -1;`,
    ...p.files.map((f, k) => `\trs_files[${k}] = memfd_create("refsim-file-${k}", 0); /* file_new of step ${f + 1} */`),
    "\tsetvbuf(stdout, NULL, _IOLBF, 0);",
    "\trs_self = 0;",
    "\tprctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of exited mms come back to the coordinator */",
    "\tsignal(SIGSEGV, rs_on_signal);",
    "\tsignal(SIGBUS, rs_on_signal);",
    ...p.fresh.map((k) => `\tif (rs_self == 0) { pid_t c = fork(); if (c == 0) rs_self = ${k}; else if (c < 0) rs_check(-1, "fork"); }`),
    ...body,
    `\trs_wait(${sc.steps.length}); /* every process lives until the last step has run (teardown) */`,
    "\t(void)rs_sink;",
    "\tif (rs_self != 0) _exit(0);",
    "\twhile (wait(NULL) > 0) ; /* every mm's process, and the orphans of those that exited */",
    "\tprintf(\"done%s\\n\", rs->failed ? \" (a call failed: see above)\" : \"\");",
    "\treturn rs->failed ? 1 : 0;",
    "}",
    "",
  ];
  return lines.join("\n");
}
