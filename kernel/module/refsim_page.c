// SPDX-License-Identifier: GPL-2.0
/*
 * refsim_page: answers, for the calling process's own virtual addresses, what
 * the page table maps there and the counts of the page and folio behind it, so
 * refsim kernel-check can compare a running 6.1 kernel with refsim's E2 model.
 *
 * /proc/refsim_page, one command per write(), the answer read back with read():
 *   "d"               drain the per-CPU LRU batches (lru_add_drain_all), answer "ok"
 *   "r START NPAGES"  drain, then one line per present entry in [START, START+NPAGES*4K);
 *   "R START NPAGES"  the same without draining (the caller drained just before):
 *     VPN PFN kind pmd write devmap special ref pageref map ent pin large order flags
 *   kind: n normal page, z the zero page, h the huge zero page, s a swap/migration entry
 *   ref: folio_ref_count; pageref: this page's own _refcount; map: this page's PTE mappings
 *   (refsim's mapcount): _mapcount + 1, less the one 6.1 adds to every subpage of a THP
 *   that is PTE- and PMD-mapped at once (PageDoubleMap, include/linux/page-flags.h; gone
 *   in 6.2); ent: folio_entire_mapcount (PMD mappings);
 *   pin: the folio's compound_pincount (large folios only, 6.1 keeps small pages' pins in
 *   _refcount); flags: page->flags of the head page in hex.
 *
 * Why drain: a page first touched sits in a per-CPU folio batch (lru_add_fn's
 * fbatch in 6.1 mm/swap.c folio_add_lru) holding one reference until the batch is
 * drained; refsim does not model those batches, so every reading drains first.
 * 6.1 exports neither lru_add_drain_all nor kallsyms_lookup_name to modules: a
 * kprobe on kallsyms_lookup_name gives its address (register_kprobe fills
 * kp.addr), and that finds the rest.
 */
#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/pgtable.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("refsim kernel-check: page and folio counts of the caller's mappings");

#define OUT_SIZE (256 * 1024)

static unsigned long (*lookup_name)(const char *name);
static void (*drain_all)(void);
static unsigned long *huge_zero_pfn_p;

struct answer {
	char *buf;
	size_t len;
};

static void emit(struct answer *a, const char *fmt, ...)
{
	va_list args;
	int n;

	if (a->len >= OUT_SIZE - 1)
		return;
	va_start(args, fmt);
	n = vscnprintf(a->buf + a->len, OUT_SIZE - a->len, fmt, args);
	va_end(args);
	a->len += n;
}

/* One entry of current->mm at addr, read under mmap_read_lock like a page table walk (mm/pagewalk.c). */
static void read_entry(struct answer *a, struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;
	unsigned long pfn;
	bool huge = false, write, devmap, special = false;
	char kind = 'n';
	struct page *page;
	struct folio *folio;
	int ent = 0, pin = 0, order = 0, map;

	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_bad(*pud))
		return;
	pmdp = pmd_offset(pud, addr);
	pmd = READ_ONCE(*pmdp);
	if (pmd_none(pmd))
		return;
	if (pmd_trans_huge(pmd) || pmd_devmap(pmd)) {
		huge = true;
		pfn = pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
		write = pmd_write(pmd);
		devmap = pmd_devmap(pmd);
		if (huge_zero_pfn_p && pmd_pfn(pmd) == READ_ONCE(*huge_zero_pfn_p))
			kind = 'h';
	} else if (!pmd_present(pmd)) {
		emit(a, "%lx 0 s 1 0 0 0 0 0 0 0 0 0 0 0\n", addr >> PAGE_SHIFT);
		return;
	} else {
		ptep = pte_offset_map(pmdp, addr);
		pte = READ_ONCE(*ptep);
		pte_unmap(ptep);
		if (pte_none(pte))
			return;
		if (!pte_present(pte)) {
			emit(a, "%lx 0 s 0 0 0 0 0 0 0 0 0 0 0 0\n", addr >> PAGE_SHIFT);
			return;
		}
		pfn = pte_pfn(pte);
		write = pte_write(pte);
		devmap = pte_devmap(pte);
		special = pte_special(pte);
		if (is_zero_pfn(pfn))
			kind = 'z';
	}
	if (!pfn_valid(pfn)) {
		emit(a, "%lx %lx x %d %d %d %d 0 0 0 0 0 0 0 0\n", addr >> PAGE_SHIFT, pfn, huge, write, devmap, special);
		return;
	}
	page = pfn_to_page(pfn);
	folio = page_folio(page);
	if (folio_test_large(folio)) {
		ent = folio_entire_mapcount(folio);
		pin = atomic_read(folio_pincount_ptr(folio));
		order = folio_order(folio);
	}
	map = atomic_read(&page->_mapcount) + 1;
	if (folio_test_large(folio) && PageDoubleMap(&folio->page))
		map--;
	emit(a, "%lx %lx %c %d %d %d %d %d %d %d %d %d %d %d %lx\n", addr >> PAGE_SHIFT, pfn, kind, huge, write, devmap,
	     special, folio_ref_count(folio), page_ref_count(page), map, ent, pin,
	     folio_test_large(folio), order, folio->flags);
}

static void read_range(struct answer *a, unsigned long start, unsigned long npages)
{
	struct mm_struct *mm = current->mm;
	unsigned long i;

	if (!mm)
		return;
	mmap_read_lock(mm);
	for (i = 0; i < npages && a->len < OUT_SIZE - 256; i++)
		read_entry(a, mm, start + i * PAGE_SIZE);
	mmap_read_unlock(mm);
}

static ssize_t rp_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	struct answer *a = file->private_data;
	char cmd[64];
	unsigned long start, npages;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = 0;
	a->len = 0;
	if (cmd[0] == 'd') {
		drain_all();
		emit(a, "ok\n");
	} else if ((cmd[0] == 'r' || cmd[0] == 'R') && sscanf(cmd + 1, "%lx %lu", &start, &npages) == 2 && npages <= 1 << 20) {
		if (cmd[0] == 'r')
			drain_all();
		read_range(a, start & PAGE_MASK, npages);
	} else {
		return -EINVAL;
	}
	return count;
}

static ssize_t rp_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct answer *a = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, a->buf, a->len);
}

static int rp_open(struct inode *inode, struct file *file)
{
	struct answer *a = kzalloc(sizeof(*a), GFP_KERNEL);

	if (!a)
		return -ENOMEM;
	a->buf = kvmalloc(OUT_SIZE, GFP_KERNEL);
	if (!a->buf) {
		kfree(a);
		return -ENOMEM;
	}
	file->private_data = a;
	return 0;
}

static int rp_release(struct inode *inode, struct file *file)
{
	struct answer *a = file->private_data;

	kvfree(a->buf);
	kfree(a);
	return 0;
}

static const struct proc_ops rp_ops = {
	.proc_open = rp_open,
	.proc_read = rp_read,
	.proc_write = rp_write,
	.proc_release = rp_release,
	.proc_lseek = default_llseek,
};

static int __init rp_init(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int err = register_kprobe(&kp);

	if (err)
		return err;
	lookup_name = (void *)kp.addr;
	unregister_kprobe(&kp);
	drain_all = (void *)lookup_name("lru_add_drain_all");
	huge_zero_pfn_p = (unsigned long *)lookup_name("huge_zero_pfn");
	if (!drain_all || !huge_zero_pfn_p)
		return -ENOENT;
	if (!proc_create("refsim_page", 0600, NULL, &rp_ops))
		return -ENOMEM;
	return 0;
}

static void __exit rp_exit(void)
{
	remove_proc_entry("refsim_page", NULL);
}

module_init(rp_init);
module_exit(rp_exit);
