// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace's counting half (memtrace -a, memtrace exporter): no record per fault. Each fault is
 * classified by segment kind in the kernel and counted per process in a per-CPU map that user
 * space reads once an interval; the mapping calls only keep a small per-process table of kinds up
 * to date and count the bytes they map. What this costs is one map lookup and a few comparisons
 * per fault, whatever the number of processes.
 *
 * Kinds come from the mm's own bounds first (heap, main stack, the executable's text, rodata,
 * data and bss, the vDSO), then from the table: up to MT_KIND_TABLE ranges per process, filled
 * when a mapping call returns (IRQs on: bpf_find_vma is cheap there) and at exec, emptied where a
 * call changed the layout. A fault outside both falls back on bpf_find_vma from the fault path,
 * which costs about 12 us here (it defers its unlock to an IRQ-work interrupt) and then fills the
 * table: once per mapping that existed before memtrace started, or that the table had no room for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/events.h"
#include "kernel.bpf.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Which processes count: all of them, one (target_tgid), a cgroup's (and its descendants'), or
 * those of one name. Decided when a process is first seen, and again at exec for one that was
 * not counted. */
const volatile __u32 target_tgid = 0;
const volatile __u32 self_tgid = 0; /* memtrace itself: never counted */
const volatile bool filter_cgroup = false;
const volatile char filter_comm[16] = {};
const volatile bool filter_by_comm = false;
const volatile bool measure_latency = false;

#define MT_KIND_TABLE 16
#define VM_EXEC_BIT 0x4
#define VM_WRITE_BIT 0x2
#define VM_SHARED_BIT 0x8
#define VM_GROWSDOWN_BIT 0x100
#define VM_NOHUGEPAGE_BIT 0x40000000
#define MT_MAP_STACK 0x20000
#define MT_MAP_SHARED 0x01
#define TMPFS_MAGIC_VALUE 0x01021994
#define S_IXANY 0111

/* Faults per process and kind (user space sums the CPUs and removes exited processes). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192); /* sized by the loader */
	__type(key, __u32);
	__type(value, struct mt_kind_counts);
} fault_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192); /* sized by the loader */
	__type(key, __u32);
	__type(value, struct mt_process_info);
} processes SEC(".maps");

/* Processes seen and not counted (filters), so that their faults cost one lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} excluded SEC(".maps");

struct kind_range {
	__u64 start, end;
	__u32 kind1; /* the kind + 1; 0: an empty entry (so that a zeroed table is empty) */
	__u32 pad;
};

struct kind_table {
	__u32 last;  /* the entry the last fault hit: faults come in runs */
	__u32 next;  /* the entry to replace when every one is in use */
	struct kind_range r[MT_KIND_TABLE];
};

/* On the process's group leader: found without hashing, freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct kind_table);
} kinds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* Health: table misses looked up with bpf_find_vma, faults of processes the maps had no room for
 * (not counted). The faults counted are the counts' sum. */
enum { CNT_LOOKUPS, CNT_NO_ROOM, CNT_MAX };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} health SEC(".maps");

/* --latency: when each thread's fault began, and the histograms. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} fault_started SEC(".maps");

struct latency_hist {
	__u64 buckets[2][MT_LATENCY_BUCKETS];
	__u64 sum_ns[2];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct latency_hist);
} latency SEC(".maps");

/* Arguments of a mapping call, from its entry to its exit. */
struct call_args {
	__u64 args[6];
	__u64 brk_before;
	__u32 call;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct call_args);
} calls SEC(".maps");

/* Zeroed values to create entries from (too big for the BPF stack). */
static struct mt_kind_counts zero_counts;
static struct mt_process_info new_info;

static __always_inline void count_health(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&health, &idx);
	if (v)
		*v += 1;
}

/* ---- which processes count ---- */

static __always_inline bool passes_filters(struct task_struct *task)
{
	if (task->tgid == self_tgid)
		return false;
	if (target_tgid && task->tgid != target_tgid)
		return false;
	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	if (filter_by_comm) {
		char comm[16];
		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < 16; ++i) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

/* The process's counts, made when it is first seen (NULL: it does not count, or no room). */
static __always_inline struct mt_kind_counts *counts_of(__u32 tgid)
{
	struct mt_kind_counts *c = bpf_map_lookup_elem(&fault_counts, &tgid);
	if (c)
		return c;
	if (bpf_map_lookup_elem(&excluded, &tgid))
		return NULL;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!passes_filters(task)) {
		__u8 one = 1;
		bpf_map_update_elem(&excluded, &tgid, &one, BPF_ANY);
		return NULL;
	}
	if (!bpf_map_update_elem(&processes, &tgid, &new_info, BPF_NOEXIST)) {
		struct mt_process_info *info = bpf_map_lookup_elem(&processes, &tgid);
		if (info) {
			info->cgroup_id = bpf_get_current_cgroup_id();
			info->first_seen_ns = bpf_ktime_get_ns();
			bpf_probe_read_kernel_str(info->comm, sizeof(info->comm), task->group_leader->comm);
		}
	}
	if (bpf_map_update_elem(&fault_counts, &tgid, &zero_counts, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&fault_counts, &tgid)) {
		count_health(CNT_NO_ROOM);
		return NULL;
	}
	return bpf_map_lookup_elem(&fault_counts, &tgid);
}

/* ---- kinds ---- */

/* What a mapping is, from the VMA itself. The VMA just below tells a thread stack's guard (glibc
 * puts it below, PROT_NONE) and a bss (anonymous right after an executable's data); callers that
 * cannot look it up pass NULL. */
static __always_inline __u32 kind_of_vma(struct vm_area_struct *vma, struct vm_area_struct *below)
{
	__u64 flags = BPF_CORE_READ(vma, vm_flags);
	struct file *file = BPF_CORE_READ(vma, vm_file);
	if (flags & VM_GROWSDOWN_BIT)
		return MT_KIND_STACK;
	if (file) {
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		bool tmpfs = BPF_CORE_READ(inode, i_sb, s_magic) == TMPFS_MAGIC_VALUE;
		if (flags & VM_SHARED_BIT)
			return tmpfs ? MT_KIND_SHM : MT_KIND_FILE;
		if (flags & VM_EXEC_BIT)
			return MT_KIND_TEXT;
		if (!(BPF_CORE_READ(inode, i_mode) & S_IXANY))
			return MT_KIND_FILE;
		return flags & VM_WRITE_BIT ? MT_KIND_DATA : MT_KIND_RODATA;
	}
	if (flags & VM_SHARED_BIT)
		return MT_KIND_SHM;
	if (below && BPF_CORE_READ(below, vm_end) == BPF_CORE_READ(vma, vm_start)) {
		__u64 below_flags = BPF_CORE_READ(below, vm_flags);
		struct file *below_file = BPF_CORE_READ(below, vm_file);
		if (below_file && (below_flags & VM_WRITE_BIT) && !(below_flags & VM_SHARED_BIT) &&
		    (BPF_CORE_READ(below_file, f_inode, i_mode) & S_IXANY))
			return MT_KIND_BSS;
		if (!below_file && !(below_flags & 0x7)) /* PROT_NONE just below: a guard page */
			return MT_KIND_THREAD_STACK;
	}
	/* Since 6.7 MAP_STACK maps with VM_NOHUGEPAGE: glibc's thread stacks. */
	if (flags & VM_NOHUGEPAGE_BIT)
		return MT_KIND_THREAD_STACK;
	return MT_KIND_ANON;
}

/* The kinds the mm's own bounds give, without a lookup; MT_KINDS when they do not say. */
static __always_inline __u32 kind_from_mm(struct task_struct *task, struct mm_struct *mm, __u64 addr)
{
	if (addr >= mm->start_brk && addr < mm->brk)
		return MT_KIND_HEAP;
	if (addr >= mm->start_code && addr < mm->end_code)
		return MT_KIND_TEXT;
	if (addr >= mm->end_code && addr < mm->start_data)
		return MT_KIND_RODATA;
	if (addr >= mm->start_data && addr < mm->end_data)
		return MT_KIND_DATA;
	if (addr >= mm->end_data && addr < mm->start_brk && mm->start_brk - mm->end_data < (1ULL << 30))
		return MT_KIND_BSS;
	/* The stack and the vDSO are above mmap_base (the top-down layout): mappings are below it. */
	if (addr < mm->mmap_base)
		return MT_KINDS;
	__u64 stack_top = mm->env_end, stack_limit = 8 << 20;
	__u64 rlimit = task->signal->rlim[MT_RLIMIT_STACK].rlim_cur;
	if (rlimit && rlimit < (1ULL << 34))
		stack_limit = rlimit;
	if (addr < stack_top + 4096 && addr + stack_limit >= mm->start_stack)
		return MT_KIND_STACK;
	__u64 vdso = (__u64)mm->context.vdso;
	if (vdso && addr + 16 * 4096 >= vdso && addr < vdso + 4 * 4096)
		return MT_KIND_VDSO;
	return MT_KINDS;
}

static __always_inline void remember(struct kind_table *t, __u64 start, __u64 end, __u32 kind)
{
	__u32 slot = t->next % MT_KIND_TABLE;
	t->r[slot].kind1 = 0; /* a reader on another CPU skips it while it changes */
	t->r[slot].start = start;
	t->r[slot].end = end;
	t->r[slot].kind1 = kind + 1;
	t->next = slot + 1;
	t->last = slot;
}

/* The entry of the table that holds `addr`, or -1. */
static __always_inline int find_range(struct kind_table *t, __u64 addr)
{
	__u32 last = t->last % MT_KIND_TABLE;
	if (t->r[last].kind1 && addr >= t->r[last].start && addr < t->r[last].end)
		return last;
	for (int i = 0; i < MT_KIND_TABLE; ++i)
		if (t->r[i].kind1 && addr >= t->r[i].start && addr < t->r[i].end) {
			t->last = i;
			return i;
		}
	return -1;
}

static __always_inline struct kind_table *table_of(struct task_struct *task)
{
	return bpf_task_storage_get(&kinds, task->group_leader, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

struct vma_lookup {
	__u32 kind;
	__u64 start, end;
};

static long kind_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_lookup *l = data;
	l->kind = kind_of_vma(vma, NULL);
	l->start = BPF_CORE_READ(vma, vm_start);
	l->end = BPF_CORE_READ(vma, vm_end);
	return 0;
}

/* The kind of a fault's address. */
static __always_inline __u32 kind_of(__u32 tgid, __u64 addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = task->mm;
	if (!mm)
		return MT_KIND_UNKNOWN;
	__u32 kind = kind_from_mm(task, mm, addr);
	if (kind != MT_KINDS)
		return kind;
	struct kind_table *t = table_of(task);
	if (t) {
		int i = find_range(t, addr);
		if (i >= 0 && i < MT_KIND_TABLE) {
			__u32 k = t->r[i].kind1;
			if (k)
				return k - 1;
		}
	}
	count_health(CNT_LOOKUPS);
	struct vma_lookup l = {.kind = MT_KINDS};
	long err = bpf_find_vma(task, addr, kind_cb, &l, 0);
	if (err == -MT_ENOENT)
		return MT_KIND_UNMAPPED;
	if (err || l.kind >= MT_KINDS)
		return MT_KIND_UNKNOWN;
	if (t)
		remember(t, l.start, l.end, l.kind);
	return l.kind;
}

/* ---- faults ---- */

/* c->faults[kind][mode] += 1, with the bound checked on the register that indexes (the compiler
 * would otherwise check a copy, and the verifier refuses the access). */
static __always_inline void count_kind(struct mt_kind_counts *c, __u32 kind, __u32 mode)
{
	__u32 i = kind * 2 + (mode & 1);
	barrier_var(i);
	if (i >= MT_KINDS * 2)
		return;
	(&c->faults[0][0])[i] += 1;
}

static __always_inline void count_major_kind(struct mt_kind_counts *c, __u32 kind, __u32 mode)
{
	__u32 i = kind * 2 + (mode & 1);
	barrier_var(i);
	if (i >= MT_KINDS * 2)
		return;
	(&c->major[0][0])[i] += 1;
}

static __always_inline int on_fault(__u64 addr, __u32 mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct mt_kind_counts *c = counts_of(tgid);
	if (!c)
		return 0;
	count_kind(c, kind_of(tgid, addr), mode);
	if (measure_latency) {
		__u32 tid = (__u32)pid_tgid;
		__u64 now = bpf_ktime_get_ns();
		bpf_map_update_elem(&fault_started, &tid, &now, BPF_ANY);
	}
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(count_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(address, 0);
}

/* A fault the kernel takes on user memory (copy_to_user into a fresh buffer...): the process's
 * too, unless under pagefault_disable() (then it is not handled, only fails). */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(count_fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	if (address > MT_USER_ADDR_MAX)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!task->mm || task->pagefault_disabled)
		return 0;
	return on_fault(address, 1);
}

static __always_inline __u32 log2_bucket(__u64 v)
{
	__u32 b = 0;
	for (int i = 0; i < MT_LATENCY_BUCKETS - 1 && v > 1; ++i) {
		v >>= 1;
		++b;
	}
	return b;
}

/* The software perf events PAGE_FAULTS_MAJ (always) and PAGE_FAULTS_MIN (--latency) fire on the
 * faulting thread once the fault was handled. */
static __always_inline int on_fault_done(struct bpf_perf_event_data *ctx, bool major)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct mt_kind_counts *c = bpf_map_lookup_elem(&fault_counts, &tgid);
	if (!c)
		return 0;
	if (major) {
		/* The context allows 8-byte loads of the registers only: cs is the low half of its word. */
		bool user = (*(__u64 *)&ctx->regs.cs & 3) != 0;
		count_major_kind(c, kind_of(tgid, ctx->addr), user ? 0 : 1);
	}
	if (!measure_latency)
		return 0;
	__u32 tid = (__u32)pid_tgid;
	__u64 *started = bpf_map_lookup_elem(&fault_started, &tid);
	if (!started)
		return 0;
	__u64 ns = bpf_ktime_get_ns() - *started;
	bpf_map_delete_elem(&fault_started, &tid);
	__u32 zero = 0;
	struct latency_hist *h = bpf_map_lookup_elem(&latency, &zero);
	if (!h)
		return 0;
	__u32 b = log2_bucket(ns);
	if (b < MT_LATENCY_BUCKETS) {
		h->buckets[major ? 1 : 0][b] += 1;
		h->sum_ns[major ? 1 : 0] += ns;
	}
	return 0;
}

SEC("perf_event")
int count_major(struct bpf_perf_event_data *ctx)
{
	return on_fault_done(ctx, true);
}

SEC("perf_event")
int count_minor(struct bpf_perf_event_data *ctx)
{
	return on_fault_done(ctx, false);
}

/* ---- mapping calls: bytes, and the kinds table ---- */

SEC("tp_btf/sys_enter")
int BPF_PROG(count_sys_enter, struct pt_regs *regs, long id)
{
	bool compat = BPF_CORE_READ(regs, cs) == MT_USER32_CS;
	__u32 call = call_of(id, compat);
	if (call == MT_CALL_NONE || call == MT_CALL_EXECVE || call == MT_CALL_MADVISE || call == MT_CALL_MLOCK)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (!bpf_map_lookup_elem(&fault_counts, &tgid))
		return 0; /* not counted (yet): its layout is looked up when it faults */
	struct call_args a = {};
	a.call = syscall_arguments(regs, call, compat, a.args);
	if (call == MT_CALL_BRK)
		a.brk_before = BPF_CORE_READ(bpf_get_current_task_btf(), mm, brk);
	__u32 tid = (__u32)pid_tgid;
	bpf_map_update_elem(&calls, &tid, &a, BPF_ANY);
	return 0;
}

/* Forgets the table's ranges that overlap [start, end): the call changed what is there. */
static __always_inline void forget_range(struct kind_table *t, __u64 start, __u64 end)
{
	for (int i = 0; i < MT_KIND_TABLE; ++i)
		if (t->r[i].kind1 && t->r[i].start < end && start < t->r[i].end)
			t->r[i].kind1 = 0;
}

struct vma_pair {
	struct vm_area_struct *vma;
	__u32 kind;
	__u64 start, end;
};

static long below_cb(struct task_struct *task, struct vm_area_struct *below, void *data)
{
	struct vma_pair *p = data;
	p->kind = kind_of_vma(p->vma, below);
	return 0;
}

static long mapped_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_pair *p = data;
	p->kind = kind_of_vma(vma, NULL);
	p->start = BPF_CORE_READ(vma, vm_start);
	p->end = BPF_CORE_READ(vma, vm_end);
	p->vma = vma;
	return 0;
}

/* Remembers the kind of the mapping that now holds `addr` (IRQs are on here: the lookup is cheap). */
static __always_inline void learn(struct kind_table *t, __u64 addr, bool stack)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vma_pair p = {.kind = MT_KINDS};
	if (bpf_find_vma(task, addr, mapped_cb, &p, 0) || p.kind >= MT_KINDS)
		return;
	if (p.kind == MT_KIND_ANON) {
		if (stack)
			p.kind = MT_KIND_THREAD_STACK;
		else if (p.start)
			bpf_find_vma(task, p.start - 1, below_cb, &p, 0); /* a bss, a guarded stack */
	}
	if (p.kind < MT_KINDS)
		remember(t, p.start, p.end, p.kind);
}

static __always_inline void add_to(__u64 *field, __u64 v)
{
	__sync_fetch_and_add(field, v);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(count_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct call_args *a = bpf_map_lookup_elem(&calls, &tid);
	if (!a)
		return 0;
	struct call_args c = *a;
	bpf_map_delete_elem(&calls, &tid);
	struct kind_table *t = table_of(bpf_get_current_task_btf());
	struct mt_process_info *info = bpf_map_lookup_elem(&processes, &tgid);
	if (c.call == MT_CALL_BRK) {
		__u64 now = BPF_CORE_READ(bpf_get_current_task_btf(), mm, brk);
		if (info && now > c.brk_before)
			add_to(&info->brk_grown, now - c.brk_before);
		else if (info && now < c.brk_before)
			add_to(&info->brk_shrunk, c.brk_before - now);
		return 0;
	}
	bool failed = ret < 0 && ret > -4096;
	__u64 start = c.args[0], len = c.args[1];
	if (c.call == MT_CALL_MMAP && !failed) {
		start = (__u64)ret;
		if (info)
			add_to(&info->mmap_bytes, len);
	} else if (c.call == MT_CALL_MUNMAP && !failed && info) {
		add_to(&info->munmap_bytes, len);
	} else if (c.call == MT_CALL_MREMAP && !failed) {
		if (info && c.args[2] > c.args[1])
			add_to(&info->mmap_bytes, c.args[2] - c.args[1]);
	} else if (c.call == MT_CALL_SHMAT && !failed) {
		start = (__u64)ret;
		len = 0;
	}
	if (!t)
		return 0;
	/* Whatever changed, the table forgets it, even if the call failed part way. */
	__u64 end = start + (len ? len : 4096);
	if (c.call == MT_CALL_MREMAP) {
		forget_range(t, c.args[0], c.args[0] + c.args[1]);
		if (!failed) {
			start = (__u64)ret;
			end = start + c.args[2];
		}
	}
	forget_range(t, start, end);
	if (!failed && (c.call == MT_CALL_MMAP || c.call == MT_CALL_MREMAP || c.call == MT_CALL_SHMAT))
		learn(t, start, c.call == MT_CALL_MMAP && (c.args[3] & MT_MAP_STACK));
	return 0;
}

/* ---- processes ---- */

/* A new image: its table starts over, filled with the mappings the kernel made (the dynamic
 * loader's) so that its first faults need no lookup. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(count_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	bpf_map_delete_elem(&excluded, &tgid); /* its name may count now */
	struct mt_process_info *info = bpf_map_lookup_elem(&processes, &tgid);
	if (info)
		bpf_probe_read_kernel_str(info->comm, sizeof(info->comm), p->comm);
	else if (!passes_filters(p))
		return 0;
	bpf_task_storage_delete(&kinds, p->group_leader);
	struct kind_table *t = table_of(p);
	if (!t)
		return 0;
	/* The kernel mapped the executable (known from the mm's bounds), the stack, the vDSO, and the
	 * dynamic loader: the loader's file mappings are what the table needs. */
	struct file *exe = BPF_CORE_READ(p, mm, exe_file);
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	bpf_iter_task_vma_new(&it, p, 0);
	for (int i = 0; i < 32 && (vma = bpf_iter_task_vma_next(&it)); ++i) {
		struct file *file = BPF_CORE_READ(vma, vm_file);
		if (file && file != exe)
			remember(t, BPF_CORE_READ(vma, vm_start), BPF_CORE_READ(vma, vm_end), kind_of_vma(vma, NULL));
	}
	bpf_iter_task_vma_destroy(&it);
	return 0;
}

/* A forked process starts with its parent's layout. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(count_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	if (ptgid == ctgid)
		return 0; /* a thread */
	struct kind_table *t = bpf_task_storage_get(&kinds, parent->group_leader, 0, 0);
	struct kind_table *c = t ? bpf_task_storage_get(&kinds, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) : NULL;
	if (c)
		*c = *t;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(count_exit, struct task_struct *p)
{
	/* Only the last thread of the process: signal->live was decremented before this tracepoint. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	__u32 tgid = p->tgid;
	struct mt_process_info *info = bpf_map_lookup_elem(&processes, &tgid);
	if (info)
		info->flags |= MT_PROCESS_EXITED;
	bpf_map_delete_elem(&excluded, &tgid);
	return 0;
}
