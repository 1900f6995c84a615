// SPDX-License-Identifier: GPL-2.0
/*
 * memtrace's kernel half: one ring-buffer record per page fault and per mapping change of the
 * traced processes. Faults are attributed to segments in userspace, from a mapping model that the
 * mmap/munmap/mremap/mprotect/brk/shmat/exec records keep exact (see README "How it works"):
 * bpf_find_vma() per fault costs 8x on this kind of machine, a ring-buffer record about 0.1x.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memtrace/events.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 target_tgid = 0;    /* fast path for the common single-process case */
const volatile bool follow_forks = false;
const volatile __u64 wakeup_bytes = 256 * 1024; /* wake the consumer once this much is pending */
/* Faults stream while less than this is pending; beyond it the rest of the ring is kept for the
 * mapping records (the model must stay exact) and faults are counted in `overflow`. */
const volatile __u64 fault_room_bytes = 6 * 1024 * 1024;
/* Launch mode: the target is memtrace's own fork until it execs the command; ignore it till then. */
const volatile bool wait_for_exec = false;
/* --latency: a record when each fault is handled too (software perf event PAGE_FAULTS_MIN). */
const volatile bool measure_latency = false;
/* --stacks: count user stacks of faults, brk and mmap in the kernel. */
const volatile bool record_stacks = false;

bool target_execed = false;

/* Highest user address on x86_64 (TASK_SIZE_MAX with 4-level paging is lower; 5-level is higher). */
#define MT_USER_ADDR_MAX 0x00ffffffffffffffULL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mt_overflow_key);
	__type(value, struct mt_overflow_count);
} overflow SEC(".maps");

/* Processes to trace (tgid -> 1). The loader puts the target in; -f adds children here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* --stacks: user stacks, and how often each (process, stack, kind) was seen. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mt_stack_key);
	__type(value, __u64);
} stack_counts SEC(".maps");

/* Syscall arguments saved at entry, read back at exit (keyed by thread id). */
struct syscall_args {
	__u64 args[6];
	__u64 aux;
	__u64 enter_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct syscall_args);
} pending SEC(".maps");

static __always_inline bool is_traced(__u32 tgid)
{
	if (tgid == target_tgid)
		return !wait_for_exec || target_execed;
	if (!follow_forks)
		return false;
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline void fill_header(struct mt_header *h, __u16 type, __u64 pid_tgid)
{
	h->type = type;
	h->flags = 0;
	h->tgid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void *reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec)
		count(MT_CNT_DROPPED);
	return rec;
}

/* Hot-path submit: no wakeup per record (about 4 us each here); wake the consumer once a batch is
 * pending (`pending`: what the caller's query saw before reserving). The consumer also polls with a
 * short timeout, so a quiet trickle is never stranded. */
static __always_inline void submit_batched(void *rec, __u64 pending)
{
	bpf_ringbuf_submit(rec, pending >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* A fault (or its major mark) that is not streamed: counted for its page in the kernel. */
static __always_inline void count_overflow(__u32 tgid, __u64 addr, bool major)
{
	struct mt_overflow_key key = {.tgid = tgid, .pad = 0, .page = addr & ~4095ULL};
	if (!major)
		count(MT_CNT_OVERFLOW);
	struct mt_overflow_count *c = bpf_map_lookup_elem(&overflow, &key);
	if (!c) {
		struct mt_overflow_count zero = {};
		bpf_map_update_elem(&overflow, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&overflow, &key);
		if (!c) {
			if (!major)
				count(MT_CNT_OVERFLOW_LOST);
			return;
		}
	}
	if (major)
		__sync_fetch_and_add(&c->major, 1);
	else
		__sync_fetch_and_add(&c->faults, 1);
}

/* Room in the ring for one more fault-path record, or NULL (then counted in `overflow`). */
static __always_inline void *reserve_fault_record(__u64 size, __u64 *pending)
{
	*pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (*pending > fault_room_bytes)
		return NULL;
	return bpf_ringbuf_reserve(&events, size, 0);
}

/* Adds one to the count of the current user stack (--stacks). `ctx` is the program's own context:
 * bpf_get_stackid takes the registers from it, and the user ones from the task when the program
 * runs in the kernel. */
static __always_inline void count_stack(void *ctx, __u32 tgid, __u32 kind)
{
	struct mt_stack_key key = {};
	key.tgid = tgid;
	key.kind = kind;
	key.stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	__u64 *n = bpf_map_lookup_elem(&stack_counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	__u64 one = 1;
	if (bpf_map_update_elem(&stack_counts, &key, &one, BPF_NOEXIST) != 0) {
		n = bpf_map_lookup_elem(&stack_counts, &key); /* another CPU added it meanwhile */
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			count(MT_CNT_STACKS_LOST); /* the map is full */
	}
}

static __always_inline int on_fault(void *ctx, unsigned long address, __u64 ip,
				    unsigned long error_code, __u16 extra_flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	count(MT_CNT_FAULTS);
	if (record_stacks)
		count_stack(ctx, pid_tgid >> 32, MT_STACK_FAULT);
	__u64 pending;
	struct mt_fault *f = reserve_fault_record(sizeof(*f), &pending);
	if (!f) {
		count_overflow(pid_tgid >> 32, address, false);
		return 0;
	}
	fill_header(&f->hdr, MT_REC_FAULT, pid_tgid);
	f->hdr.flags = (error_code & 0x1f) | extra_flags;
	f->addr = address;
	f->ip = ip;
	submit_batched(f, pending);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(handle_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(ctx, address, regs->ip, error_code, 0); /* a BTF pointer: a plain load, no helper call */
}

/* Faults the kernel takes on user memory (copy_to_user into a fresh buffer...) count in the
 * process's minflt too. Kernel addresses (vmalloc and friends) are not the process's. */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(handle_fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	if (address > MT_USER_ADDR_MAX)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!task->mm)
		return 0;
	/* Under pagefault_disable() (copy_from_user_nofault: a stack walk, this program's own
	 * bpf_get_stackid among them) the fault is not handled, only fails: not the process's.
	 * A plain load: BPF_CORE_READ would read it inside bpf_probe_read_kernel's own
	 * pagefault_disable(), and always see it set. */
	if (task->pagefault_disabled)
		return 0;
	/* The code that faulted is the kernel's (copy_to_user...); the site worth showing is the user
	 * instruction that made the system call. */
	struct pt_regs *user_regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 ip = user_regs ? user_regs->ip : 0;
	return on_fault(ctx, address, ip, error_code, MT_FAULT_KERNEL_MODE);
}

/* Software perf event PERF_COUNT_SW_PAGE_FAULTS_MAJ: fires on the faulting thread once the fault
 * was handled and accounted as major. The tracepoint record of the same fault came before it. */
static __always_inline int on_fault_done(struct bpf_perf_event_data *ctx, bool major)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	if (major)
		count(MT_CNT_MAJOR);
	__u64 pending;
	struct mt_major *m = reserve_fault_record(sizeof(*m), &pending);
	if (!m) {
		/* Its fault may have been streamed: the major mark then lands on the same page here. A
		 * minor completion (--latency) carries only a time, which is dropped. */
		if (major)
			count_overflow(pid_tgid >> 32, ctx->addr, true);
		return 0;
	}
	fill_header(&m->hdr, measure_latency ? MT_REC_FAULT_DONE : MT_REC_MAJOR, pid_tgid);
	m->hdr.flags = major ? MT_DONE_MAJOR : 0;
	m->addr = ctx->addr;
	submit_batched(m, pending);
	return 0;
}

SEC("perf_event")
int handle_major(struct bpf_perf_event_data *ctx)
{
	return on_fault_done(ctx, true);
}

/* PERF_COUNT_SW_PAGE_FAULTS_MIN, attached with --latency only: one more program run per fault. */
SEC("perf_event")
int handle_minor(struct bpf_perf_event_data *ctx)
{
	return on_fault_done(ctx, false);
}

/* ---- syscalls that change the address space ----
 *
 * Two raw syscall tracepoints (tp_btf/sys_enter, sys_exit) instead of one tracefs event per
 * syscall: no tracefs needed, and 2 links to tear down instead of 18 (each detach waits for an
 * RCU grace period, about 70 ms here). Every syscall of the system passes through them either way
 * (the per-syscall events hang off the same raw tracepoint); a switch on the number comes first.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_brk 12
#define NR_mremap 25
#define NR_shmat 30
#define NR_execve 59
#define NR_shmdt 67
#define NR_execveat 322
#else
#error "syscall numbers for this architecture are not filled in yet"
#endif

static __always_inline bool syscall_failed(long ret)
{
	return ret < 0 && ret > -4096;
}

#define MT_PATH_DEPTH 24

/* Scratch space for a path walk: the bpf_loop callback writes here (it cannot be handed
 * ring-buffer memory), the caller copies the result into its record. One per CPU: tracing
 * programs do not nest on a CPU. */
struct path_scratch {
	char buf[MT_FILE_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} scratch SEC(".maps");

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 off;
	__u16 flags;
};

/* One step up the dentry tree, crossing mount points the way d_path does (bpf_d_path is not
 * allowed from tracepoints). Returns 1 to stop. */
static long path_step(__u64 index, struct path_walk *w)
{
	__u32 zero = 0;
	struct path_scratch *out = bpf_map_lookup_elem(&scratch, &zero);
	if (!out)
		return 1;
	/* Locals, not w->field, inside BPF_CORE_READ: CO-RE must not relocate our own struct. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	bool last = false;
	if (dentry == mnt_root) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent != mnt) {
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->mnt = mnt_parent;
			w->vfsmnt = (void *)mnt_parent + bpf_core_field_offset(struct mount, mnt);
			return 0;
		}
		/* The root of everything: done. A file that is itself the root of an internal
		 * mount still gets its name below; "/" adds nothing. */
		w->flags = 0;
		if (w->off != 0)
			return 1;
		last = true;
	} else if (dentry == parent) {
		/* A pseudo file (memfd, anonymous shmem): its own name is its whole path. */
		w->flags = 0;
		last = true;
	}
	__u32 off = w->off;
	if (off >= MT_FILE_PATH_LEN - MT_COMPONENT_MAX) {
		w->flags = MT_PATH_TRUNCATED;
		return 1;
	}
	barrier_var(off); /* keep clang from dropping the mask it can prove redundant */
	off &= MT_FILE_PATH_LEN - MT_COMPONENT_MAX - 1;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(&out->buf[off], MT_COMPONENT_MAX, name);
	if (n <= 0 || (n == 2 && out->buf[off] == '/'))
		return 1;
	w->off = off + n;
	w->dentry = parent;
	return last;
}

/* Writes the path of `file` into m->path as components, leaf first. */
static __always_inline void read_file_path(struct file *file, struct mt_mmap *m)
{
	struct path_walk w = {};
	w.dentry = BPF_CORE_READ(file, f_path.dentry);
	w.vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	w.mnt = (void *)w.vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.flags = MT_PATH_TRUNCATED; /* until the walk reaches a root */
	bpf_loop(MT_PATH_DEPTH, path_step, &w, 0);
	__u32 zero = 0;
	struct path_scratch *out = bpf_map_lookup_elem(&scratch, &zero);
	if (!out)
		return;
	bpf_probe_read_kernel(m->path, sizeof(m->path), out->buf);
	m->path_len = w.off < MT_FILE_PATH_LEN ? w.off : MT_FILE_PATH_LEN;
	m->path_flags = w.flags;
}

static long vma_size_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = BPF_CORE_READ(vma, vm_end) - BPF_CORE_READ(vma, vm_start);
	return 0;
}

static __always_inline void emit_mmap(__u64 pid_tgid, long ret, struct syscall_args *a)
{
	struct mt_mmap *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MMAP, pid_tgid);
	m->addr = ret;
	m->len = a->args[1];
	m->prot = a->args[2];
	m->mflags = a->args[3];
	m->fd = (int)a->args[4];
	m->pgoff = a->args[5];
	m->ino = 0;
	m->dev = 0;
	m->path_len = 0;
	m->path_flags = 0;
	m->pad = 0;
	/* MAP_ANONYMOUS (0x20) ignores fd. Otherwise name the file through the fd table: the fd is
	 * typically closed right after mmap (ld.so does), so userspace could not look it up later. */
	if (!(m->mflags & 0x20) && m->fd >= 0) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
		unsigned int max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
		struct file *file = NULL;
		if ((unsigned int)m->fd < max_fds)
			bpf_probe_read_kernel(&file, sizeof(file), &fds[m->fd]);
		if (file) {
			m->ino = BPF_CORE_READ(file, f_inode, i_ino);
			m->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
			read_file_path(file, m);
		}
	}
	bpf_ringbuf_submit(m, 0);
}

static __always_inline void emit_range(__u64 pid_tgid, __u16 type, struct syscall_args *a)
{
	struct mt_munmap *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, type, pid_tgid);
	m->addr = a->args[0];
	m->len = a->args[1];
	m->enter_ns = a->enter_ns;
	bpf_ringbuf_submit(m, 0);
}

static __always_inline void emit_mremap(__u64 pid_tgid, long ret, struct syscall_args *a)
{
	struct mt_mremap *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MREMAP, pid_tgid);
	m->old_addr = a->args[0];
	m->old_len = a->args[1];
	m->new_len = a->args[2];
	m->mflags = a->args[3];
	m->new_addr = ret;
	bpf_ringbuf_submit(m, 0);
}

static __always_inline void emit_mprotect(__u64 pid_tgid, struct syscall_args *a)
{
	struct mt_mprotect *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MPROTECT, pid_tgid);
	m->addr = a->args[0];
	m->len = a->args[1];
	m->prot = a->args[2];
	bpf_ringbuf_submit(m, 0);
}

static __always_inline void emit_brk(__u64 pid_tgid, long ret, struct syscall_args *a)
{
	__u64 new_brk = ret;
	if (new_brk == a->aux) /* a query (brk(0)) or a refused request: nothing moved */
		return;
	struct mt_brk *b = reserve(sizeof(*b));
	if (!b)
		return;
	fill_header(&b->hdr, MT_REC_BRK, pid_tgid);
	struct task_struct *task = bpf_get_current_task_btf();
	b->start_brk = BPF_CORE_READ(task, mm, start_brk);
	b->old_brk = a->aux;
	b->new_brk = new_brk;
	bpf_ringbuf_submit(b, 0);
}

static __always_inline void emit_shm(__u64 pid_tgid, __u16 type, long ret, struct syscall_args *a)
{
	struct mt_shmat *s = reserve(sizeof(*s));
	if (!s)
		return;
	fill_header(&s->hdr, type, pid_tgid);
	if (type == MT_REC_SHMAT) {
		s->addr = ret;
		s->shmid = (long)a->args[0];
		/* The segment may be removed before userspace reads this: take its size from the new
		 * VMA. bpf_find_vma costs about 12 us here, paid once per shmat, never per fault. */
		__u64 size = 0;
		bpf_find_vma(bpf_get_current_task_btf(), ret, vma_size_cb, &size, 0);
		s->size = size;
	} else {
		s->addr = a->args[0];
		s->shmid = -1;
		s->size = 0;
	}
	bpf_ringbuf_submit(s, 0);
}

/* The kernel faults on the new image's pages (clearing the .bss tail, writing the auxv) before
 * sched_process_exec fires: tell userspace to hold those faults until the new layout is known. */
static __always_inline void emit_marker(__u64 pid_tgid, __u16 type)
{
	struct mt_header *h = reserve(sizeof(*h));
	if (!h)
		return;
	fill_header(h, type, pid_tgid);
	bpf_ringbuf_submit(h, 0);
}

/* A 32-bit (ia32) task uses other syscall numbers and argument registers: its mapping syscalls
 * are not modelled (its faults still count, attributed as far as the exec layout goes). */
#define MT_USER32_CS 0x23

/* The syscalls that change the address space (or replace it): every other one leaves at once. */
static __always_inline bool is_modelled_syscall(long id)
{
	switch (id) {
	case NR_mmap: case NR_mprotect: case NR_munmap: case NR_brk: case NR_mremap:
	case NR_shmat: case NR_shmdt: case NR_execve: case NR_execveat:
		return true;
	default:
		return false;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	if (BPF_CORE_READ(regs, cs) == MT_USER32_CS)
		return 0;
	if (!is_modelled_syscall(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	if (id == NR_execve || id == NR_execveat) {
		emit_marker(pid_tgid, MT_REC_EXEC_BEGIN);
		return 0;
	}
	if (record_stacks && (id == NR_brk || id == NR_mmap))
		count_stack(ctx, pid_tgid >> 32, id == NR_brk ? MT_STACK_BRK : MT_STACK_MMAP);
	/* x86_64 syscall arguments: rdi, rsi, rdx, r10, r8, r9. */
	struct syscall_args a = {};
	a.args[0] = BPF_CORE_READ(regs, di);
	a.args[1] = BPF_CORE_READ(regs, si);
	a.args[2] = BPF_CORE_READ(regs, dx);
	a.args[3] = BPF_CORE_READ(regs, r10);
	a.args[4] = BPF_CORE_READ(regs, r8);
	a.args[5] = BPF_CORE_READ(regs, r9);
	if (id == NR_brk) {
		struct task_struct *task = bpf_get_current_task_btf();
		a.aux = BPF_CORE_READ(task, mm, brk);
	}
	a.enter_ns = bpf_ktime_get_ns();
	__u32 tid = (__u32)pid_tgid;
	bpf_map_update_elem(&pending, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	if (BPF_CORE_READ(regs, cs) == MT_USER32_CS)
		return 0;
	long id = BPF_CORE_READ(regs, orig_ax);
	if (!is_modelled_syscall(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	if (id == NR_execve || id == NR_execveat) {
		/* A successful exec does not return here as the old image; a failed one does. */
		if (syscall_failed(ret))
			emit_marker(pid_tgid, MT_REC_EXEC_FAILED);
		return 0;
	}
	__u32 tid = (__u32)pid_tgid;
	struct syscall_args *saved = bpf_map_lookup_elem(&pending, &tid);
	if (!saved)
		return 0;
	struct syscall_args a;
	__builtin_memcpy(&a, saved, sizeof(a));
	bpf_map_delete_elem(&pending, &tid);
	if (id != NR_brk && syscall_failed(ret))
		return 0;
	switch (id) {
	case NR_mmap: emit_mmap(pid_tgid, ret, &a); break;
	case NR_munmap: emit_range(pid_tgid, MT_REC_MUNMAP, &a); break;
	case NR_mremap: emit_mremap(pid_tgid, ret, &a); break;
	case NR_mprotect: emit_mprotect(pid_tgid, &a); break;
	case NR_brk: emit_brk(pid_tgid, ret, &a); break;
	case NR_shmat: emit_shm(pid_tgid, MT_REC_SHMAT, ret, &a); break;
	case NR_shmdt: emit_shm(pid_tgid, MT_REC_SHMDT, ret, &a); break;
	}
	return 0;
}

/* ---- crashes and resident memory ---- */

#define MT_SIGBUS 7
#define MT_SIGSEGV 11
#define MT_RLIMIT_STACK 3

/* SIGSEGV and SIGBUS as they are generated, with what the kernel knew about the fault: the
 * signal's effect on the process is the kernel's business, memtrace only looks. */
SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	if (sig != MT_SIGSEGV && sig != MT_SIGBUS)
		return 0;
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (!is_traced(tgid))
		return 0;
	struct mt_signal *s = reserve(sizeof(*s));
	if (!s)
		return 0;
	fill_header(&s->hdr, MT_REC_SIGNAL, bpf_get_current_pid_tgid());
	s->hdr.tgid = tgid;
	s->hdr.tid = BPF_CORE_READ(task, pid);
	s->signo = sig;
	/* info is a real pointer unless it is SEND_SIG_NOINFO (0) or SEND_SIG_PRIV (1). */
	if ((unsigned long)info > 1) {
		s->code = BPF_CORE_READ(info, si_code);
		s->addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	} else {
		s->code = (unsigned long)info == 1 ? 0x80 /* SI_KERNEL */ : 0;
		s->addr = 0;
	}
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	s->ip = regs ? BPF_CORE_READ(regs, ip) : 0;
	s->sp = regs ? BPF_CORE_READ(regs, sp) : 0;
	s->error_code = BPF_CORE_READ(task, thread.error_code);
	s->stack_limit = BPF_CORE_READ(task, signal, rlim[MT_RLIMIT_STACK].rlim_cur);
	s->sender_tgid = bpf_get_current_pid_tgid() >> 32;
	/* SIG_DFL is 0, SIG_IGN 1; constant indexes for the verifier. */
	__u64 handler = sig == MT_SIGSEGV ? (__u64)BPF_CORE_READ(task, sighand, action[MT_SIGSEGV - 1].sa.sa_handler)
					  : (__u64)BPF_CORE_READ(task, sighand, action[MT_SIGBUS - 1].sa.sa_handler);
	s->disposition = handler == 0 ? MT_SIG_DEFAULT : handler == 1 ? MT_SIG_IGNORED : MT_SIG_HANDLED;
	bpf_ringbuf_submit(s, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* ---- process life ---- */

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, __u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;

#define MT_VM_SHARED 0x8
#define MT_VM_PFNMAP 0x400

/* Sends one MT_REC_VMA per mapping of the image exec just built. Userspace cannot read
 * /proc/PID/maps for this: a short-lived program is gone before the record is read. */
static __always_inline bool emit_exec_layout(struct task_struct *p, __u64 pid_tgid)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	__u64 start_brk = BPF_CORE_READ(p, mm, start_brk);
	__u64 start_stack = BPF_CORE_READ(p, mm, start_stack);
	__u64 vdso = (__u64)BPF_CORE_READ(p, mm, context.vdso);
	bool complete = true;
	/* No counter in this loop: the iterator ends by itself, and a counter would keep the
	 * verifier from seeing that two iterations are the same (it then walks each one: 0.8 s of
	 * load time for 64). */
	if (bpf_iter_task_vma_new(&it, p, 0) != 0) /* mmap lock busy: userspace falls back to /proc */
		complete = false;
	while ((vma = bpf_iter_task_vma_next(&it))) {
		struct mt_mmap *m = reserve(sizeof(*m));
		if (!m) {
			complete = false;
			break;
		}
		fill_header(&m->hdr, MT_REC_VMA, pid_tgid);
		/* Read with BPF_CORE_READ, not as BTF pointer loads: on this kernel the verifier scans
		 * all of vmlinux's BTF by name for every such load it checks (btf_nested_type_is_trusted),
		 * which made this loop 35 ms of memtrace's start-up. Exec is rare: a helper call is free. */
		__u64 flags = BPF_CORE_READ(vma, vm_flags);
		struct file *file = BPF_CORE_READ(vma, vm_file);
		__u64 vm_start = BPF_CORE_READ(vma, vm_start), vm_end = BPF_CORE_READ(vma, vm_end);
		m->addr = vm_start;
		m->len = vm_end - vm_start;
		m->pgoff = file ? BPF_CORE_READ(vma, vm_pgoff) << 12 : 0; /* anonymous vm_pgoff is the address */
		m->prot = flags & 7; /* VM_READ|VM_WRITE|VM_EXEC have the PROT_* values */
		m->mflags = (flags & MT_VM_SHARED ? 0x01 : 0x02) | (file ? 0 : 0x20);
		m->fd = -1;
		m->ino = 0;
		m->dev = 0;
		m->path_len = 0;
		m->path_flags = 0;
		m->pad = 0;
		if (file) {
			m->ino = BPF_CORE_READ(file, f_inode, i_ino);
			m->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
			read_file_path(file, m);
		} else if (vm_start <= start_stack && start_stack < vm_end) {
			m->path_flags = MT_VMA_STACK;
		} else if (vm_start == start_brk) {
			m->path_flags = MT_VMA_HEAP;
		} else if (vm_start == vdso) {
			m->path_flags = MT_VMA_VDSO;
		} else if (flags & MT_VM_PFNMAP) {
			m->path_flags = MT_VMA_VVAR;
		}
		bpf_ringbuf_submit(m, 0);
	}
	bpf_iter_task_vma_destroy(&it);
	return complete;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)(pid_tgid >> 32) == target_tgid)
		target_execed = true;
	if (!is_traced(pid_tgid >> 32))
		return 0;
	bool complete = emit_exec_layout(p, pid_tgid);
	struct mt_exec *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->hdr, MT_REC_EXEC, pid_tgid);
	e->hdr.flags = complete ? MT_EXEC_LAYOUT_COMPLETE : 0;
	e->start_brk = BPF_CORE_READ(p, mm, start_brk);
	e->start_stack = BPF_CORE_READ(p, mm, start_stack);
	/* After exec the process has one thread; its counters plus those of threads that died. */
	e->minflt = BPF_CORE_READ(p, min_flt) + BPF_CORE_READ(p, signal, min_flt);
	e->majflt = BPF_CORE_READ(p, maj_flt) + BPF_CORE_READ(p, signal, maj_flt);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	const char *filename = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	/* Wake the loader now: a new image starts here. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	if (!is_traced(parent_tgid))
		return 0;
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	bool thread = child_tgid == parent_tgid;
	if (!thread) {
		if (!follow_forks)
			return 0;
		__u8 one = 1;
		bpf_map_update_elem(&traced, &child_tgid, &one, BPF_ANY);
	}
	struct mt_fork *f = reserve(sizeof(*f));
	if (!f)
		return 0;
	fill_header(&f->hdr, thread ? MT_REC_THREAD : MT_REC_FORK, bpf_get_current_pid_tgid());
	f->hdr.tgid = parent_tgid;
	f->child_tgid = child_tgid;
	f->child_tid = BPF_CORE_READ(child, pid);
	/* copy_thread() already put the new thread's stack pointer in its saved user registers. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(child);
	f->child_sp = regs ? BPF_CORE_READ(regs, sp) : 0;
	bpf_ringbuf_submit(f, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	if (!is_traced(tgid))
		return 0;
	/* Only the last thread of the process: signal->live was decremented before this tracepoint. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (tgid != target_tgid)
		bpf_map_delete_elem(&traced, &tgid);
	struct mt_exit *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->hdr, MT_REC_EXIT, bpf_get_current_pid_tgid());
	e->hdr.tgid = tgid;
	/* The process's counters: those of released threads are in signal; threads still on the
	 * thread list (a zombie leader, threads dying alongside this one) keep their own. */
	__u64 minflt = BPF_CORE_READ(p, signal, min_flt), majflt = BPF_CORE_READ(p, signal, maj_flt);
	struct bpf_iter_task it;
	struct task_struct *t;
	bpf_iter_task_new(&it, p, BPF_TASK_ITER_PROC_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		minflt += BPF_CORE_READ(t, min_flt); /* not t->min_flt: see emit_exec_layout */
		majflt += BPF_CORE_READ(t, maj_flt);
	}
	bpf_iter_task_destroy(&it);
	e->minflt = minflt;
	e->majflt = majflt;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->pad = 0;
	/* The process's resident peak, from the mm it is about to drop: the kernel's high-water mark
	 * (raised before each unmap) or the current counters if they are above it. Since Linux 6.16
	 * this tracepoint comes before exit_mm(); earlier kernels give no mm here (peak 0: unknown).
	 * Not signal->maxrss: that also holds the image exec replaced (memtrace's own fork). */
	e->rss_peak_pages = 0;
	struct mm_struct *mm = BPF_CORE_READ(p, mm);
	if (mm) {
		__s64 now = BPF_CORE_READ(mm, rss_stat[MT_RSS_FILE].count) + BPF_CORE_READ(mm, rss_stat[MT_RSS_ANON].count) +
			    BPF_CORE_READ(mm, rss_stat[MT_RSS_SHMEM].count);
		__u64 hiwater = BPF_CORE_READ(mm, hiwater_rss);
		e->rss_peak_pages = now > 0 && (__u64)now > hiwater ? (__u64)now : hiwater;
	}
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
