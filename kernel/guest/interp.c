/*
 * refsim kernel-check guest interpreter: runs op lists (programs) written by
 * src/kernel/translate.ts on a real kernel, one real process per refsim mm, and
 * prints every op's result and the page and folio counts the refsim_page module
 * reads. Statically linked, so one binary serves every scenario.
 *
 * Input (stdin), one op a line, programs between "prog NAME" and "end":
 *   new W                      a fresh process W (refsim mm_new)
 *   fork W C                   W forks; the child is process C
 *   exit W                     W exits; returns once it is reaped (exit_mmap done)
 *   file F NPAGES DAX          file F of NPAGES pages on tmpfs (DAX 0) or on ext4 -o dax on pmem (DAX 1)
 *   mmap W ADDR NPAGES PROT KIND F PGOFF HUGE   PROT none|r|rw, KIND a (anon private) s (anon shared)
 *                              p (file private) S (file shared); HUGE 1: MADV_HUGEPAGE
 *   munmap|dontneed W ADDR NPAGES
 *   mprotect W ADDR NPAGES PROT
 *   mremap W ADDR NPAGES NEWADDR NEWNPAGES   in place when NEWADDR is ADDR, else MREMAP_MAYMOVE|MREMAP_FIXED
 *   read W ADDR                prints the 32-bit word at ADDR
 *   write W ADDR VALUE
 *   gup W H ADDR g|p           handle H: g FOLL_GET via vmsplice into a pipe, p FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE
 *                              via an io_uring fixed buffer
 *   unpin H                    close the pipe / unregister the buffer
 *   dmawrite H VALUE           IORING_OP_READ_FIXED of VALUE into pinned handle H (a device write)
 *   truncate F PGOFF NPAGES    hole punch (keeps private COWed pages); NPAGES 0: ftruncate to PGOFF
 *   snap ADDR NPAGES ...       every live process reads those ranges through /proc/refsim_page
 *   teardown                   every process exits
 * Output: "= I ok|err ERRNO|val V|busy" per op (I counts ops from 0), and per present
 * entry of a snap "p W VPN PFN kind pmd write devmap special ref pageref map ent pin large order flags N"
 * (N: a run of N pages, vpn and pfn counting up, all else the same).
 *
 * Processes share one file table (clone CLONE_FILES): pipes, io_uring rings and
 * files made by one are usable by all and outlive the process that made them, as a
 * refsim GUP handle outlives its mm. CLONE_PARENT makes every process a child of
 * this controller, so exit waits for the reaping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 256
#define MAXH 256
#define MAXF 64
#define PAGE 4096UL

static const char *tmpdir = "/tmp/refsim";
static const char *daxdir = "/mnt/dax";

struct worker {
	int live;
	pid_t pid;
	int cmd[2]; /* controller writes cmd[1], the worker reads cmd[0] */
};

struct handle {
	int live;
	int kind; /* 'g' vmsplice pipe, 'p' io_uring ring */
	int fd[2];
	unsigned long addr; /* the page it holds (an io_uring fixed buffer's address) */
};

struct file {
	int live;
	int fd;
	long pages;
	char path[64];
};

static struct worker W[MAXW];
static struct handle H[MAXH];
static struct file F[MAXF];
static int reply[2]; /* every worker writes reply[1] */
static int pagefd = -1;
static pid_t busy_truncate[MAXF];
static int opindex;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "fatal ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

static void writeall(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = write(fd, s, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die("write: %s", strerror(errno));
		}
		s += k;
		n -= k;
	}
}

/* ---- the worker side: one process per refsim mm ---- */

/*
 * A new process (its own mm, copied as by fork: dup_mmap) sharing the file table.
 * Called in a worker, CLONE_PARENT makes it the controller's child too.
 */
static long do_clone(int sibling)
{
	return syscall(SYS_clone, CLONE_FILES | (sibling ? CLONE_PARENT : 0) | SIGCHLD, 0, 0, 0, 0);
}

static void wreply(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	writeall(reply[1], b, n);
}

static int readline(int fd, char *buf, int max)
{
	int n = 0;
	while (n < max - 1) {
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return n;
}

static int sys_io_uring_setup(unsigned entries, struct io_uring_params *p) { return syscall(__NR_io_uring_setup, entries, p); }
static int sys_io_uring_register(int fd, unsigned op, void *arg, unsigned n) { return syscall(__NR_io_uring_register, fd, op, arg, n); }
static int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags)
{
	return syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

/*
 * Runs of pages that differ only in their vpn and pfn (both +1), as the pages of a
 * THP do, are sent as one line with the run's length last: "VPN PFN ... FLAGS N".
 */
struct run {
	unsigned long vpn, pfn, n;
	char rest[160];
};

static void flush_run(struct run *r)
{
	if (r->n)
		wreply("%lx %lx %s %lu\n", r->vpn, r->pfn, r->rest, r->n);
	r->n = 0;
}

static void snap(char *args)
{
	static char out[256 * 1024];
	char *save;
	struct run run = { 0 };
	for (char *t = strtok_r(args, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		unsigned long start = strtoul(t, NULL, 16);
		char *n = strtok_r(NULL, " ", &save);
		if (!n)
			break;
		char cmd[64];
		/* the controller drained the per-CPU LRU batches once for this snap */
		int len = snprintf(cmd, sizeof(cmd), "R %lx %lu", start, strtoul(n, NULL, 0));
		if (write(pagefd, cmd, len) != len)
			die("refsim_page write: %s", strerror(errno));
		ssize_t k = pread(pagefd, out, sizeof(out) - 1, 0);
		if (k < 0)
			die("refsim_page read: %s", strerror(errno));
		out[k] = 0;
		char *lsave;
		for (char *l = strtok_r(out, "\n", &lsave); l; l = strtok_r(NULL, "\n", &lsave)) {
			unsigned long vpn, pfn;
			int off = 0;
			if (sscanf(l, "%lx %lx %n", &vpn, &pfn, &off) != 2)
				continue;
			char *rest = l + off;
			if (run.n && vpn == run.vpn + run.n && pfn == run.pfn + run.n && pfn != 0 && !strcmp(rest, run.rest)) {
				run.n++;
				continue;
			}
			flush_run(&run);
			run.vpn = vpn;
			run.pfn = pfn;
			run.n = 1;
			snprintf(run.rest, sizeof(run.rest), "%s", rest);
		}
	}
	flush_run(&run);
}

/* PROT none, r or rw (the translator's words) as mmap/mprotect protection bits */
static int guest_prot(const char *s)
{
	if (!strcmp(s, "none"))
		return PROT_NONE;
	return PROT_READ | (strchr(s, 'w') ? PROT_WRITE : 0);
}

static void worker_loop(int cmdfd);

static void worker_cmd(char *line)
{
	char op[16];
	unsigned long a = 0, b = 0, c = 0, d = 0, e = 0;
	char s1[8] = "", s2[8] = "";
	int r = 0;
	sscanf(line, "%15s", op);
	char *rest = line + strlen(op);
	if (!strcmp(op, "fork")) {
		unsigned long child, rfd;
		sscanf(rest, "%lu %lu", &child, &rfd);
		long pid = do_clone(1);
		if (pid < 0) {
			wreply("err %d\n.\n", errno);
			return;
		}
		if (pid == 0) {
			(void)child;
			worker_loop((int)rfd);
			_exit(0);
		}
		wreply("ok %ld\n.\n", pid);
		return;
	}
	if (!strcmp(op, "exit")) {
		_exit(0);
	}
	if (!strcmp(op, "mmap")) {
		sscanf(rest, "%lx %lu %7s %7s %lu %lu %lu", &a, &b, s1, s2, &c, &d, &e);
		int prot = guest_prot(s1);
		int flags = MAP_FIXED_NOREPLACE;
		int fd = -1;
		switch (s2[0]) {
		case 'a': flags |= MAP_PRIVATE | MAP_ANONYMOUS; break;
		case 's': flags |= MAP_SHARED | MAP_ANONYMOUS; break;
		case 'p': flags |= MAP_PRIVATE; fd = (int)c; break;
		case 'S': flags |= MAP_SHARED; fd = (int)c; break;
		}
		void *p = mmap((void *)a, b * PAGE, prot, flags, fd, (off_t)d * PAGE);
		if (p == MAP_FAILED)
			r = errno;
		else if (e && madvise(p, b * PAGE, MADV_HUGEPAGE))
			r = errno;
	} else if (!strcmp(op, "munmap")) {
		sscanf(rest, "%lx %lu", &a, &b);
		r = munmap((void *)a, b * PAGE) ? errno : 0;
	} else if (!strcmp(op, "dontneed")) {
		sscanf(rest, "%lx %lu", &a, &b);
		r = madvise((void *)a, b * PAGE, MADV_DONTNEED) ? errno : 0;
	} else if (!strcmp(op, "mprotect")) {
		sscanf(rest, "%lx %lu %7s", &a, &b, s1);
		r = mprotect((void *)a, b * PAGE, guest_prot(s1)) ? errno : 0;
	} else if (!strcmp(op, "mremap")) {
		sscanf(rest, "%lx %lu %lx %lu", &a, &b, &c, &d);
		void *p = c == a ? mremap((void *)a, b * PAGE, d * PAGE, 0)
				 : mremap((void *)a, b * PAGE, d * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)c);
		r = p == MAP_FAILED ? errno : 0;
	} else if (!strcmp(op, "read")) {
		sscanf(rest, "%lx", &a);
		volatile uint32_t *p = (uint32_t *)a;
		wreply("val %u\n.\n", *p);
		return;
	} else if (!strcmp(op, "write")) {
		sscanf(rest, "%lx %lu", &a, &b);
		*(volatile uint32_t *)a = (uint32_t)b;
	} else if (!strcmp(op, "gup")) {
		/* the handle's files live in the shared file table: the controller keeps them */
		sscanf(rest, "%lx %7s", &a, s1);
		struct iovec iov = { (void *)a, PAGE };
		if (s1[0] == 'g') {
			int fd[2];
			if (pipe(fd))
				r = errno;
			else if (vmsplice(fd[1], &iov, 1, 0) != (ssize_t)PAGE) {
				r = errno ? errno : EIO;
				close(fd[0]);
				close(fd[1]);
			} else {
				wreply("ok %d %d\n.\n", fd[0], fd[1]);
				return;
			}
		} else {
			struct io_uring_params par;
			memset(&par, 0, sizeof(par));
			int fd = sys_io_uring_setup(1, &par);
			if (fd < 0)
				r = errno;
			else if (sys_io_uring_register(fd, IORING_REGISTER_BUFFERS, &iov, 1)) {
				r = errno;
				close(fd);
			} else {
				wreply("ok %d -1\n.\n", fd);
				return;
			}
		}
	} else if (!strcmp(op, "snap")) {
		snap(rest);
		wreply(".\n");
		return;
	} else {
		wreply("err %d\n.\n", EINVAL);
		return;
	}
	if (r)
		wreply("err %d\n.\n", r);
	else
		wreply("ok\n.\n");
}

static void worker_loop(int cmdfd)
{
	char line[1024];
	for (;;) {
		if (readline(cmdfd, line, sizeof(line)) < 0)
			_exit(0);
		worker_cmd(line);
	}
}

/* ---- the controller ---- */

static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

/* Send a command to worker w and copy its reply to stdout (prefixing page lines); returns the reply's first line. */
static void ask(int w, const char *cmd, char *first, int firstmax, int copy_pages)
{
	writeall(W[w].cmd[1], cmd, strlen(cmd));
	writeall(W[w].cmd[1], "\n", 1);
	char line[256];
	int n = 0;
	first[0] = 0;
	for (;;) {
		if (readline(reply[0], line, sizeof(line)) < 0)
			die("worker %d gave no reply to '%s'", w, cmd);
		if (!strcmp(line, "."))
			break;
		if (copy_pages)
			out("p %d %s\n", w, line);
		else if (n++ == 0)
			snprintf(first, firstmax, "%s", line);
	}
}

static int new_pipe(int w)
{
	if (pipe(W[w].cmd))
		return errno;
	return 0;
}

static void wait_busy(int ms)
{
	/* a DAX truncate waiting for a pinned page goes on once the pin is gone */
	for (int f = 0; f < MAXF; f++) {
		if (!busy_truncate[f])
			continue;
		for (int t = 0; t < ms; t++) {
			if (waitpid(busy_truncate[f], NULL, WNOHANG) == busy_truncate[f]) {
				busy_truncate[f] = 0;
				break;
			}
			usleep(1000);
		}
	}
}

static int unpin(int h)
{
	struct handle *hd = &H[h];
	if (!hd->live)
		return EINVAL;
	hd->live = 0;
	if (hd->kind == 'g') {
		close(hd->fd[0]);
		close(hd->fd[1]);
	} else {
		if (sys_io_uring_register(hd->fd[0], IORING_UNREGISTER_BUFFERS, NULL, 0))
			return errno;
		close(hd->fd[0]);
	}
	wait_busy(2000);
	return 0;
}

/* A device writing through a pin: a fixed-buffer read from a file holding the value. */
static int dma_write(int h, uint32_t value)
{
	struct handle *hd = &H[h];
	if (!hd->live || hd->kind != 'p')
		return EINVAL;
	int src = open("/tmp/refsim-dma", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (src < 0)
		return errno;
	if (pwrite(src, &value, 4, 0) != 4) {
		close(src);
		return EIO;
	}
	int fd = hd->fd[0];
	struct io_uring_params p2;
	memset(&p2, 0, sizeof(p2));
	/* the params of an existing ring are not readable back: the ring was set up with
	   entries 1, so its offsets are those of a fresh 1-entry ring */
	int probe = sys_io_uring_setup(1, &p2);
	if (probe < 0) {
		close(src);
		return errno;
	}
	close(probe);
	size_t sqsz = p2.sq_off.array + p2.sq_entries * sizeof(unsigned);
	size_t cqsz = p2.cq_off.cqes + p2.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	char *cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p2.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	int r = 0;
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		r = errno;
		goto done;
	}
	/* the fixed buffer's address: registered buffer 0 starts at the pinned page */
	unsigned *tail = (unsigned *)(sq + p2.sq_off.tail);
	unsigned *array = (unsigned *)(sq + p2.sq_off.array);
	unsigned mask = *(unsigned *)(sq + p2.sq_off.ring_mask);
	struct io_uring_sqe *e = &sqes[0];
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_READ_FIXED;
	e->fd = src;
	e->addr = hd->addr;
	e->len = 4;
	e->off = 0;
	e->buf_index = 0;
	array[*tail & mask] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (sys_io_uring_enter(fd, 1, 1, IORING_ENTER_GETEVENTS) < 0) {
		r = errno;
		goto done;
	}
	unsigned *chead = (unsigned *)(cq + p2.cq_off.head);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p2.cq_off.cqes);
	unsigned cmask = *(unsigned *)(cq + p2.cq_off.ring_mask);
	struct io_uring_cqe *c = &cqes[*chead & cmask];
	if (c->res < 0)
		r = -c->res;
	__atomic_store_n(chead, *chead + 1, __ATOMIC_RELEASE);
done:
	if (sq != MAP_FAILED) munmap(sq, sqsz);
	if (cq != MAP_FAILED) munmap(cq, cqsz);
	if (sqes != MAP_FAILED) munmap(sqes, p2.sq_entries * sizeof(struct io_uring_sqe));
	close(src);
	return r;
}

static int file_new(int f, long pages, int dax)
{
	struct file *fl = &F[f];
	snprintf(fl->path, sizeof(fl->path), "%s/f%d", dax ? daxdir : tmpdir, f);
	unlink(fl->path);
	fl->fd = open(fl->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fl->fd < 0)
		return errno;
	fl->pages = pages;
	if (dax) {
		/* written blocks: a DAX read of a hole or an unwritten extent maps the zero page, refsim's fsdax file is all blocks */
		static char zero[PAGE];
		for (long i = 0; i < pages; i++)
			if (pwrite(fl->fd, zero, PAGE, i * PAGE) != (ssize_t)PAGE)
				return errno;
		fsync(fl->fd);
	} else if (ftruncate(fl->fd, pages * PAGE)) {
		return errno;
	}
	fl->live = 1;
	return 0;
}

static int file_truncate(int f, long pgoff, long n)
{
	struct file *fl = &F[f];
	if (!fl->live)
		return EINVAL;
	pid_t pid = do_clone(0);
	if (pid < 0)
		return errno;
	if (pid == 0) {
		int r;
		if (n == 0) /* refsim's truncate shrink: i_size goes down for good */
			r = ftruncate(fl->fd, pgoff * PAGE);
		else
			r = fallocate(fl->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pgoff * PAGE, n * PAGE);
		_exit(r ? 1 : 0);
	}
	if (n == 0)
		fl->pages = pgoff;
	for (int t = 0; t < 400; t++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : EIO;
		usleep(1000);
	}
	busy_truncate[f] = pid;
	return -1; /* still waiting: dax_layout_busy_page found a busy page */
}

static void teardown(void)
{
	char first[128];
	for (int w = 0; w < MAXW; w++) {
		if (!W[w].live)
			continue;
		writeall(W[w].cmd[1], "exit\n", 5);
		waitpid(W[w].pid, NULL, 0);
		close(W[w].cmd[0]);
		close(W[w].cmd[1]);
		W[w].live = 0;
	}
	(void)first;
}

static void end_program(void)
{
	teardown();
	for (int h = 0; h < MAXH; h++)
		if (H[h].live)
			unpin(h);
	wait_busy(5000);
	for (int f = 0; f < MAXF; f++) {
		if (!F[f].live)
			continue;
		close(F[f].fd);
		unlink(F[f].path);
		F[f].live = 0;
	}
}

static void controller_op(char *line)
{
	char op[16];
	char first[256];
	unsigned long a = 0, b = 0, c = 0;
	if (sscanf(line, "%15s", op) != 1)
		return;
	char *rest = line + strlen(op);
	int i = opindex++;
	int r = 0;
	if (!strcmp(op, "new")) {
		sscanf(rest, "%lu", &a);
		if ((r = new_pipe(a)) == 0) {
			long pid = do_clone(0);
			if (pid == 0) {
				worker_loop(W[a].cmd[0]);
				_exit(0);
			}
			if (pid < 0)
				r = errno;
			else {
				W[a].pid = pid;
				W[a].live = 1;
			}
		}
	} else if (!strcmp(op, "fork")) {
		sscanf(rest, "%lu %lu", &a, &b);
		if (!W[a].live || b >= MAXW) {
			r = EINVAL;
		} else if ((r = new_pipe(b)) == 0) {
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "fork %lu %d", b, W[b].cmd[0]);
			ask(a, cmd, first, sizeof(first), 0);
			if (!strncmp(first, "ok ", 3)) {
				W[b].pid = atol(first + 3);
				W[b].live = 1;
			} else {
				r = atoi(first + 4);
			}
		}
	} else if (!strcmp(op, "exit")) {
		sscanf(rest, "%lu", &a);
		if (!W[a].live) {
			r = EINVAL;
		} else {
			writeall(W[a].cmd[1], "exit\n", 5);
			waitpid(W[a].pid, NULL, 0);
			close(W[a].cmd[0]);
			close(W[a].cmd[1]);
			W[a].live = 0;
		}
	} else if (!strcmp(op, "file")) {
		unsigned long dax = 0;
		sscanf(rest, "%lu %lu %lu", &a, &b, &dax);
		r = a < MAXF ? file_new(a, b, dax) : EINVAL;
	} else if (!strcmp(op, "truncate")) {
		sscanf(rest, "%lu %lu %lu", &a, &b, &c);
		r = file_truncate(a, b, c);
		if (r == -1) {
			out("= %d busy\n", i);
			return;
		}
	} else if (!strcmp(op, "unpin")) {
		sscanf(rest, "%lu", &a);
		r = a < MAXH ? unpin(a) : EINVAL;
	} else if (!strcmp(op, "dmawrite")) {
		sscanf(rest, "%lu %lu", &a, &b);
		r = a < MAXH ? dma_write(a, (uint32_t)b) : EINVAL;
	} else if (!strcmp(op, "gup")) {
		unsigned long w, h, addr;
		char how[8];
		if (sscanf(rest, "%lu %lu %lx %7s", &w, &h, &addr, how) != 4 || w >= MAXW || !W[w].live || h >= MAXH || H[h].live) {
			r = EINVAL;
		} else {
			char cmd[128];
			snprintf(cmd, sizeof(cmd), "gup %lx %s", addr, how);
			ask(w, cmd, first, sizeof(first), 0);
			if (!strncmp(first, "ok ", 3)) {
				H[h].live = 1;
				H[h].kind = how[0];
				H[h].addr = addr;
				sscanf(first + 3, "%d %d", &H[h].fd[0], &H[h].fd[1]);
			} else {
				r = atoi(first + 4);
			}
		}
	} else if (!strcmp(op, "mmap")) {
		unsigned long w, addr, n, f, pgoff, huge;
		char prot[8], kind[8];
		if (sscanf(rest, "%lu %lx %lu %7s %7s %lu %lu %lu", &w, &addr, &n, prot, kind, &f, &pgoff, &huge) != 8 || w >= MAXW || !W[w].live
		    || f >= MAXF || ((kind[0] == 'p' || kind[0] == 'S') && !F[f].live)) {
			r = EINVAL;
		} else {
			char cmd[160];
			snprintf(cmd, sizeof(cmd), "mmap %lx %lu %s %s %d %lu %lu", addr, n, prot, kind, F[f].fd, pgoff, huge);
			ask(w, cmd, first, sizeof(first), 0);
			if (!strncmp(first, "err ", 4))
				r = atoi(first + 4);
		}
	} else if (!strcmp(op, "teardown")) {
		teardown();
	} else if (!strcmp(op, "snap")) {
		if (write(pagefd, "d", 1) != 1)
			die("refsim_page drain: %s", strerror(errno));
		for (int w = 0; w < MAXW; w++) {
			if (!W[w].live)
				continue;
			char cmd[1024];
			snprintf(cmd, sizeof(cmd), "snap%s", rest);
			ask(w, cmd, first, sizeof(first), 1);
		}
	} else {
		/* a worker op: its first argument names the worker */
		sscanf(rest, "%lu", &a);
		if (a >= MAXW || !W[a].live) {
			r = EINVAL;
		} else {
			char *args = rest;
			while (*args == ' ')
				args++;
			args += strcspn(args, " ");
			char cmd[1024];
			snprintf(cmd, sizeof(cmd), "%s%s", op, args);
			ask(a, cmd, first, sizeof(first), 0);
			if (!strncmp(first, "val ", 4)) {
				out("= %d %s\n", i, first);
				return;
			}
			if (!strncmp(first, "err ", 4))
				r = atoi(first + 4);
		}
	}
	if (r)
		out("= %d err %d\n", i, r);
	else
		out("= %d ok\n", i);
}

int main(int argc, char **argv)
{
	char line[2048];
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		tmpdir = argv[1];
	if (argc > 2)
		daxdir = argv[2];
	pagefd = open("/proc/refsim_page", O_RDWR);
	if (pagefd < 0)
		die("open /proc/refsim_page: %s", strerror(errno));
	if (pipe(reply))
		die("pipe: %s", strerror(errno));
	int in_prog = 0;
	struct timespec t0, t1;
	while (readline(0, line, sizeof(line)) >= 0) {
		if (!strncmp(line, "prog ", 5)) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			opindex = 0;
			in_prog = 1;
			out("%s\n", line);
			continue;
		}
		if (!strcmp(line, "end")) {
			end_program();
			clock_gettime(CLOCK_MONOTONIC, &t1);
			out("endprog %ld\n", (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
			fflush(stdout);
			in_prog = 0;
			continue;
		}
		if (in_prog && line[0] && line[0] != '#')
			controller_op(line);
	}
	fflush(stdout);
	return 0;
}
