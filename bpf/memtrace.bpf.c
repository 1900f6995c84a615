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
#include "kernel.bpf.h"
#include "syscalls.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 target_tgid = 0;    /* fast path for the common single-process case */
const volatile bool follow_forks = false;
const volatile __u64 wakeup_bytes = 256 * 1024; /* wake the consumer once this much is pending */
/* Faults stream while less than this is pending; beyond it the rest of the ring is kept for the
 * mapping records (the model must stay exact) and faults are counted in `overflow`. */
const volatile __u64 fault_room_bytes = 6 * 1024 * 1024;
/* Stack samples only while this little is pending: faults keep the rest of their room. */
const volatile __u64 sample_room_bytes = 0;
/* Launch mode: the target is memtrace's own fork until it execs the command; ignore it till then. */
const volatile bool wait_for_exec = false;
/* --latency: a record when each fault is handled too (software perf event PAGE_FAULTS_MIN). */
const volatile bool measure_latency = false;
/* --stacks: a stack sample (registers and the top of the user stack) for every brk, mmap, munmap
 * and mremap, and for one fault in `stack_sample_period` on each CPU (0: no fault stacks). */
const volatile bool record_stacks = false;
const volatile __u32 stack_sample_period = 0;
/* --fault-source perf-event: faults come from the software perf event, not the tracepoints. */
const volatile bool faults_from_perf_event = false;

bool target_execed = false;


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

/* Faults of a process that found no room in `overflow` either: counted, to be placed nowhere. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} overflow_unplaced SEC(".maps");

/* Processes that share a traced address space without being traced themselves (vfork,
 * clone(CLONE_VM) without -f): their mapping calls change what the traced one sees. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} sharers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* --stacks: where each stack sample is built, one per CPU (tracing programs do not nest on a CPU;
 * an array indexed by CPU, as a per-CPU map's values stop at 32 KiB), sent with bpf_ringbuf_output
 * as long as the stack it holds; and each CPU's count towards its next fault sample. The buffer is
 * a page longer than the most a sample holds, so that the verifier can see every page-sized copy
 * into it fit. User space sizes the array to the number of possible CPUs. */
struct stack_scratch {
	struct mt_stack_sample sample;
	__u8 stack[MT_SAMPLE_STACK_MAX + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_scratch);
} stack_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} faults_to_sample SEC(".maps");

/* Syscall arguments saved at entry, read back at exit (keyed by thread id). */
struct syscall_args {
	__u64 args[6];
	__u64 aux;
	__u64 enter_ns;
	__u64 faults_at_enter;  /* the thread's minflt+majflt, for calls that fault through get_user_pages */
	__u32 call;             /* enum mt_call */
	__u32 traced_faults;    /* kernel-mode faults the thread took meanwhile (traced, so not untraced) */
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

/* The same policy for every other record: a wakeup per mmap or munmap (the ring's default wakes a
 * consumer that has caught up) cost a program that maps in a loop 8 us a call. The consumer polls
 * every 100 ms at the latest; what must not wait (an exit, a stop) forces its wakeup. */
static __always_inline __u64 batched_wakeup(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* A fault (or its major mark) that is not streamed: counted for its page in the kernel. */
static __always_inline void count_overflow(__u32 tgid, __u64 addr, bool major, __u16 flags)
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
			if (major)
				return;
			count(MT_CNT_OVERFLOW_LOST);
			/* Still the process's: counted for it, if not for a page. */
			__u64 *n = bpf_map_lookup_elem(&overflow_unplaced, &tgid);
			if (n) {
				__sync_fetch_and_add(n, 1);
			} else {
				__u64 one = 1;
				bpf_map_update_elem(&overflow_unplaced, &tgid, &one, BPF_NOEXIST);
			}
			return;
		}
	}
	if (major) {
		__sync_fetch_and_add(&c->major, 1);
		return;
	}
	__sync_fetch_and_add(&c->faults, 1);
	if (flags & MT_FAULT_WRITE)
		__sync_fetch_and_add(&c->writes, 1);
	if (flags & MT_FAULT_INSTR)
		__sync_fetch_and_add(&c->instr, 1);
	if (flags & MT_FAULT_PROTECTION)
		__sync_fetch_and_add(&c->protection, 1);
	if (flags & MT_FAULT_KERNEL_MODE)
		__sync_fetch_and_add(&c->kernel_mode, 1);
}

/* Room in the ring for one more fault-path record, or NULL (then counted in `overflow`). */
static __always_inline void *reserve_fault_record(__u64 size, __u64 *pending)
{
	*pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (*pending > fault_room_bytes)
		return NULL;
	return bpf_ringbuf_reserve(&events, size, 0);
}

/* Copies the user stack from `sp` into `dst`, a page at a time (bpf_probe_read_user zeroes the
 * whole destination when any byte faults): up to `limit` bytes, fewer at the first page that cannot
 * be read. Returns the bytes copied. */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp, __u64 limit, bool *faulted)
{
	if (limit > MT_SAMPLE_STACK_MAX)
		limit = MT_SAMPLE_STACK_MAX;
	__u64 got = 0;
	/* The first read ends at sp's page end, the others are whole pages: one more read than pages. */
	for (int i = 0; i < MT_SAMPLE_STACK_MAX / 4096 + 1; ++i) {
		__u64 n = 4096 - ((sp + got) & 4095);
		if (n > limit - got)
			n = limit - got;
		/* Bounds the verifier can see: got < 8 KiB, 0 < n <= 4 KiB, in a buffer of 12 KiB. */
		if (n == 0 || n > 4096 || got >= MT_SAMPLE_STACK_MAX)
			break;
		if (bpf_probe_read_user(dst + got, n, (void *)(sp + got)) != 0) {
			*faulted = true;
			break;
		}
		got += n;
	}
	return got;
}

/* Sends a stack sample: the user registers `regs` (a fault's, or the system call's) and the top of
 * the user stack, to the stack's top when it is the main thread's (mm->start_stack) and at most
 * MT_SAMPLE_FAULT_STACK bytes for a fault, MT_SAMPLE_STACK_MAX for a call, for user space to unwind
 * with the binaries' CFI. */
static __always_inline void emit_stack_sample(__u64 pid_tgid, __u32 tgid, struct pt_regs *regs, __u32 kind,
					      __u64 weight, __u64 addr, __u16 flags)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct stack_scratch *sc = bpf_map_lookup_elem(&stack_scratch, &cpu);
	if (!sc || !regs)
		return;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > sample_room_bytes) {
		count(MT_CNT_STACKS_LOST);
		return;
	}
	struct mt_stack_sample *s = &sc->sample;
	fill_header(&s->hdr, MT_REC_STACK_SAMPLE, pid_tgid);
	s->hdr.tgid = tgid;
	s->kind = kind;
	s->weight = weight;
	s->addr = addr;
	s->pad = 0;
	__u64 sp = BPF_CORE_READ(regs, sp);
	s->regs[0] = BPF_CORE_READ(regs, ax);
	s->regs[1] = BPF_CORE_READ(regs, dx);
	s->regs[2] = BPF_CORE_READ(regs, cx);
	s->regs[3] = BPF_CORE_READ(regs, bx);
	s->regs[4] = BPF_CORE_READ(regs, si);
	s->regs[5] = BPF_CORE_READ(regs, di);
	s->regs[6] = BPF_CORE_READ(regs, bp);
	s->regs[7] = sp;
	s->regs[8] = BPF_CORE_READ(regs, r8);
	s->regs[9] = BPF_CORE_READ(regs, r9);
	s->regs[10] = BPF_CORE_READ(regs, r10);
	s->regs[11] = BPF_CORE_READ(regs, r11);
	s->regs[12] = BPF_CORE_READ(regs, r12);
	s->regs[13] = BPF_CORE_READ(regs, r13);
	s->regs[14] = BPF_CORE_READ(regs, r14);
	s->regs[15] = BPF_CORE_READ(regs, r15);
	s->regs[16] = BPF_CORE_READ(regs, ip);
	/* The main thread's frames end below mm->start_stack (argc): no need to copy beyond it. */
	__u64 limit = kind == MT_STACK_FAULT ? MT_SAMPLE_FAULT_STACK : MT_SAMPLE_STACK_MAX;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start_stack = BPF_CORE_READ(task, mm, start_stack);
	if (sp < start_stack && start_stack - sp + 64 < limit)
		limit = start_stack - sp + 64;
	bool faulted = false;
	__u64 len = copy_user_stack(sc->stack, sp, limit, &faulted);
	if (len > MT_SAMPLE_STACK_MAX)
		return;
	s->stack_len = len;
	s->hdr.flags = flags | (faulted ? MT_SAMPLE_COPY_FAULTED : 0);
	if (bpf_ringbuf_output(&events, sc, sizeof(*s) + len, batched_wakeup()) != 0)
		count(MT_CNT_STACKS_LOST);
}

/* One fault in stack_sample_period on this CPU gets a stack sample. */
static __always_inline bool fault_sample_due(void)
{
	if (!stack_sample_period)
		return false;
	__u32 zero = 0;
	__u32 *n = bpf_map_lookup_elem(&faults_to_sample, &zero);
	if (!n)
		return false;
	if (++*n < stack_sample_period)
		return false;
	*n = 0;
	return true;
}

static __always_inline int on_fault(struct pt_regs *user_regs, unsigned long address, __u64 ip,
				    unsigned long error_code, __u16 extra_flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	count(MT_CNT_FAULTS);
	__u16 flags = (error_code & 0x1f) | extra_flags;
	__u64 pending;
	struct mt_fault *f = reserve_fault_record(sizeof(*f), &pending);
	if (!f) {
		count_overflow(pid_tgid >> 32, address, false, flags);
		return 0;
	}
	fill_header(&f->hdr, MT_REC_FAULT, pid_tgid);
	f->hdr.flags = flags;
	f->addr = address;
	f->ip = ip;
	submit_batched(f, pending);
	if (fault_sample_due())
		emit_stack_sample(pid_tgid, pid_tgid >> 32, user_regs, MT_STACK_FAULT, stack_sample_period, address,
				  extra_flags & MT_FAULT_KERNEL_MODE ? MT_SAMPLE_KERNEL_MODE : 0);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(handle_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(regs, address, regs->ip, error_code, 0); /* a BTF pointer: a plain load, no helper call */
}

/* A kernel-mode fault inside a system call whose get_user_pages faults memtrace measures from the
 * thread's counters: this one raised a tracepoint, so it is not among those. */
static __always_inline void note_traced_kernel_fault(__u64 pid_tgid)
{
	__u32 tid = (__u32)pid_tgid;
	struct syscall_args *a = bpf_map_lookup_elem(&pending, &tid);
	if (a)
		a->traced_faults += 1;
}

/* A fault the kernel takes on user memory of a traced process, with the user ip of the system
 * call it is in, or nothing (0) when it is not the process's (no mm, a kernel address, or under
 * pagefault_disable(), where it is not handled, only fails). */
static __always_inline bool kernel_fault_site(unsigned long address, __u64 *ip, struct pt_regs **user)
{
	if (address > MT_USER_ADDR_MAX)
		return false;
	struct task_struct *task = bpf_get_current_task_btf();
	if (!task->mm)
		return false;
	/* Under pagefault_disable() (copy_from_user_nofault: a stack walk, this program's own
	 * bpf_get_stackid among them) the fault is not handled, only fails: not the process's.
	 * A plain load: BPF_CORE_READ would read it inside bpf_probe_read_kernel's own
	 * pagefault_disable(), and always see it set. */
	if (task->pagefault_disabled)
		return false;
	/* The code that faulted is the kernel's (copy_to_user...); the site worth showing is the user
	 * instruction that made the system call. */
	struct pt_regs *user_regs = (struct pt_regs *)bpf_task_pt_regs(task);
	*ip = user_regs ? user_regs->ip : 0;
	*user = user_regs;
	return true;
}

/* Faults the kernel takes on user memory (copy_to_user into a fresh buffer...) count in the
 * process's minflt too. Kernel addresses (vmalloc and friends) are not the process's. */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(handle_fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u64 ip;
	struct pt_regs *user_regs = NULL;
	if (!kernel_fault_site(address, &ip, &user_regs))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	note_traced_kernel_fault(pid_tgid);
	/* Its stack is the system call's user one. */
	return on_fault(user_regs, address, ip, error_code, MT_FAULT_KERNEL_MODE);
}

/* --fault-source perf-event: the software perf event PERF_COUNT_SW_PAGE_FAULTS, on every CPU,
 * for kernels (or architectures) without the x86 page-fault tracepoints. It fires in the fault
 * handler once the fault is known to be the process's (pagefault_disable() already excluded),
 * with the fault's registers. */
SEC("perf_event")
int handle_fault_perf(struct bpf_perf_event_data *ctx)
{
	if (ctx->addr > MT_USER_ADDR_MAX)
		return 0;
	/* The context allows 8-byte loads of the registers only: cs is the low half of its word. */
	bool user = (*(__u64 *)&ctx->regs.cs & 3) != 0;
	__u64 ip = ctx->regs.ip;
	/* The user registers: the task's saved ones either way (a user-mode fault's are those too). */
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *user_regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!user) {
		ip = user_regs ? user_regs->ip : 0;
		__u64 pid_tgid = bpf_get_current_pid_tgid();
		if (is_traced(pid_tgid >> 32))
			note_traced_kernel_fault(pid_tgid);
	}
	/* No error code here (orig_ax is -1 by now); an instruction fetch faults on the instruction. */
	__u16 flags = MT_FAULT_ACCESS_UNKNOWN | (user ? MT_FAULT_USER : MT_FAULT_KERNEL_MODE);
	if (user && ctx->addr >= ip && ctx->addr < ip + 16)
		flags |= MT_FAULT_INSTR;
	return on_fault(user_regs, ctx->addr, ip, 0, flags);
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
			count_overflow(pid_tgid >> 32, ctx->addr, true, 0);
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
 * Both ABIs: a 32-bit (ia32) task has its own numbers and argument registers.
 */

/* Calls that may fault through get_user_pages (no tracepoint): the thread's counters are read at
 * entry and exit, and the difference is reported. */
static __always_inline bool faults_untraced(struct syscall_args *a)
{
	switch (a->call) {
	case MT_CALL_EXECVE:
	case MT_CALL_MLOCK: return true;
	case MT_CALL_MADVISE: return a->args[2] == MT_MADV_POPULATE_READ || a->args[2] == MT_MADV_POPULATE_WRITE;
	case MT_CALL_MMAP: return (a->args[3] & (MT_MAP_POPULATE | MT_MAP_LOCKED)) != 0;
	default: return false;
	}
}

static __always_inline __u64 thread_faults(struct task_struct *task)
{
	return BPF_CORE_READ(task, min_flt) + BPF_CORE_READ(task, maj_flt);
}

#define MT_PATH_DEPTH 64

/* A mapping record being built: the path walk's bpf_loop callback writes the path here (it
 * cannot be handed ring-buffer memory), and the record goes out with bpf_ringbuf_output, only as
 * long as its path. One per CPU: tracing programs do not nest on a CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_mmap);
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
	struct mt_mmap *out = bpf_map_lookup_elem(&scratch, &zero);
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
	long n = bpf_probe_read_kernel_str(&out->path[off], MT_COMPONENT_MAX, name);
	if (n <= 0 || (n == 2 && out->path[off] == '/'))
		return 1;
	w->off = off + n;
	w->dentry = parent;
	return last;
}

/* Writes the path of `file` into the scratch record's path, as components, leaf first. */
static __always_inline void read_file_path(struct file *file, struct mt_mmap *m)
{
	struct path_walk w = {};
	w.dentry = BPF_CORE_READ(file, f_path.dentry);
	w.vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	w.mnt = (void *)w.vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.flags = MT_PATH_TRUNCATED; /* until the walk reaches a root */
	bpf_loop(MT_PATH_DEPTH, path_step, &w, 0);
	m->path_len = w.off < MT_FILE_PATH_LEN ? w.off : MT_FILE_PATH_LEN;
	m->path_flags = w.flags;
}

/* The scratch record, emptied of the last one's fields. */
static __always_inline struct mt_mmap *mapping_scratch(void)
{
	__u32 zero = 0;
	struct mt_mmap *m = bpf_map_lookup_elem(&scratch, &zero);
	if (!m)
		return NULL;
	m->ino = 0;
	m->dev = 0;
	m->fd = -1;
	m->path_len = 0;
	m->path_flags = 0;
	m->pad = 0;
	return m;
}

static __always_inline void describe_file(struct file *file, struct mt_mmap *m)
{
	m->ino = BPF_CORE_READ(file, f_inode, i_ino);
	m->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	read_file_path(file, m);
}

/* Sends the scratch record, as long as its path; false when the ring had no room. */
static __always_inline bool send_mapping(struct mt_mmap *m)
{
	__u64 size = m->path_len;
	if (size > MT_FILE_PATH_LEN)
		size = MT_FILE_PATH_LEN;
	size += offsetof(struct mt_mmap, path);
	if (bpf_ringbuf_output(&events, m, size, batched_wakeup()) != 0) {
		count(MT_CNT_DROPPED);
		return false;
	}
	return true;
}

static long vma_size_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = BPF_CORE_READ(vma, vm_end) - BPF_CORE_READ(vma, vm_start);
	return 0;
}

static __always_inline void emit_mmap(__u64 pid_tgid, __u32 tgid, long ret, struct syscall_args *a)
{
	struct mt_mmap *m = mapping_scratch();
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MMAP, pid_tgid);
	m->hdr.tgid = tgid;
	m->addr = ret;
	m->len = a->args[1];
	m->prot = a->args[2];
	m->mflags = a->args[3];
	m->fd = (int)a->args[4];
	m->pgoff = a->args[5];
	/* MAP_ANONYMOUS ignores fd. Otherwise name the file through the fd table: the fd is
	 * typically closed right after mmap (ld.so does), so userspace could not look it up later. */
	if (!(m->mflags & MT_MAP_ANONYMOUS) && m->fd >= 0) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
		unsigned int max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
		struct file *file = NULL;
		if ((unsigned int)m->fd < max_fds)
			bpf_probe_read_kernel(&file, sizeof(file), &fds[m->fd]);
		if (file)
			describe_file(file, m);
	}
	send_mapping(m);
}

static __always_inline void emit_range(__u64 pid_tgid, __u32 tgid, __u16 type, struct syscall_args *a)
{
	struct mt_munmap *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, type, pid_tgid);
	m->hdr.tgid = tgid;
	m->addr = a->args[0];
	m->len = a->args[1];
	m->enter_ns = a->enter_ns;
	bpf_ringbuf_submit(m, batched_wakeup());
}

static __always_inline void emit_mremap(__u64 pid_tgid, __u32 tgid, long ret, struct syscall_args *a)
{
	struct mt_mremap *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MREMAP, pid_tgid);
	m->hdr.tgid = tgid;
	m->old_addr = a->args[0];
	m->old_len = a->args[1];
	m->new_len = a->args[2];
	m->mflags = a->args[3];
	m->new_addr = ret;
	bpf_ringbuf_submit(m, batched_wakeup());
}

static __always_inline void emit_mprotect(__u64 pid_tgid, __u32 tgid, struct syscall_args *a)
{
	struct mt_mprotect *m = reserve(sizeof(*m));
	if (!m)
		return;
	fill_header(&m->hdr, MT_REC_MPROTECT, pid_tgid);
	m->hdr.tgid = tgid;
	m->addr = a->args[0];
	m->len = a->args[1];
	m->prot = a->args[2];
	bpf_ringbuf_submit(m, batched_wakeup());
}

static __always_inline void emit_brk(__u64 pid_tgid, __u32 tgid, long ret, struct syscall_args *a)
{
	__u64 new_brk = (unsigned long)ret;
	if (new_brk == a->aux) /* a query (brk(0)) or a refused request: nothing moved */
		return;
	struct mt_brk *b = reserve(sizeof(*b));
	if (!b)
		return;
	fill_header(&b->hdr, MT_REC_BRK, pid_tgid);
	b->hdr.tgid = tgid;
	struct task_struct *task = bpf_get_current_task_btf();
	b->start_brk = BPF_CORE_READ(task, mm, start_brk);
	b->old_brk = a->aux;
	b->new_brk = new_brk;
	bpf_ringbuf_submit(b, batched_wakeup());
}

static __always_inline void emit_shm(__u64 pid_tgid, __u32 tgid, __u16 type, long ret, struct syscall_args *a)
{
	struct mt_shmat *s = reserve(sizeof(*s));
	if (!s)
		return;
	fill_header(&s->hdr, type, pid_tgid);
	s->hdr.tgid = tgid;
	if (type == MT_REC_SHMAT) {
		s->addr = (unsigned long)ret;
		s->shmid = (long)a->args[0];
		/* The segment may be removed before userspace reads this: take its size from the new
		 * VMA. bpf_find_vma costs about 12 us here, paid once per shmat, never per fault. */
		__u64 size = 0;
		bpf_find_vma(bpf_get_current_task_btf(), s->addr, vma_size_cb, &size, 0);
		s->size = size;
	} else {
		s->addr = a->args[0];
		s->shmid = -1;
		s->size = 0;
	}
	bpf_ringbuf_submit(s, batched_wakeup());
}

static __always_inline void emit_untraced(__u64 pid_tgid, __u32 tgid, __u32 cause, __u64 faults)
{
	struct mt_untraced *u = reserve(sizeof(*u));
	if (!u)
		return;
	fill_header(&u->hdr, MT_REC_UNTRACED, pid_tgid);
	u->hdr.tgid = tgid;
	u->cause = cause;
	u->pad = 0;
	u->faults = faults;
	bpf_ringbuf_submit(u, batched_wakeup());
}

/* The kernel faults on the new image's pages (clearing the .bss tail, writing the auxv) before
 * sched_process_exec fires: tell userspace to hold those faults until the new layout is known. */
static __always_inline void emit_marker(__u64 pid_tgid, __u16 type)
{
	struct mt_header *h = reserve(sizeof(*h));
	if (!h)
		return;
	fill_header(h, type, pid_tgid);
	bpf_ringbuf_submit(h, batched_wakeup());
}

/* Whose address space a call changes: the process's own when it is traced; the traced one it
 * shares when it is an untraced sharer (vfork, clone(CLONE_VM)). 0: nobody memtrace models. */
static __always_inline __u32 modelled_tgid(__u32 tgid)
{
	if (is_traced(tgid))
		return tgid;
	if (bpf_map_lookup_elem(&sharers, &tgid))
		return tgid;
	return 0;
}

/* ---- resync after a failed call ----
 *
 * A mapping call can fail part way (mprotect over a range with a hole returns ENOMEM after
 * changing the mapped part): then the VMAs of its range are sent as they are, and the model takes
 * them. Rare, so the walk's cost does not matter. */

#define MT_VM_SHARED 0x8
#define MT_VM_PFNMAP 0x400

/* Fills the scratch record from one VMA (MT_REC_VMA), as exec's layout and a resync send them. */
static __always_inline void describe_vma(struct mt_mmap *m, struct vm_area_struct *vma, __u64 start_brk,
					 __u64 start_stack, __u64 vdso)
{
	/* Read with BPF_CORE_READ, not as BTF pointer loads: on this kernel the verifier scans all of
	 * vmlinux's BTF by name for every such load it checks (btf_nested_type_is_trusted), which
	 * made exec's walk 35 ms of memtrace's start-up. These paths are rare: a helper call is free. */
	__u64 flags = BPF_CORE_READ(vma, vm_flags);
	struct file *file = BPF_CORE_READ(vma, vm_file);
	__u64 vm_start = BPF_CORE_READ(vma, vm_start), vm_end = BPF_CORE_READ(vma, vm_end);
	m->addr = vm_start;
	m->len = vm_end - vm_start;
	m->pgoff = file ? BPF_CORE_READ(vma, vm_pgoff) << 12 : 0; /* anonymous vm_pgoff is the address */
	m->prot = flags & 7; /* VM_READ|VM_WRITE|VM_EXEC have the PROT_* values */
	m->mflags = (flags & MT_VM_SHARED ? 0x01 : 0x02) | (file ? 0 : MT_MAP_ANONYMOUS);
	if (file)
		describe_file(file, m);
	else if (vm_start <= start_stack && start_stack < vm_end)
		m->path_flags = MT_VMA_STACK;
	else if (vm_start == start_brk)
		m->path_flags = MT_VMA_HEAP;
	else if (vm_start == vdso)
		m->path_flags = MT_VMA_VDSO;
	else if (flags & MT_VM_PFNMAP)
		m->path_flags = MT_VMA_VVAR;
}

static __always_inline void emit_resync(__u64 pid_tgid, __u32 tgid, __u64 start, __u64 len)
{
	__u64 end = start + len;
	if (end < start || len == 0)
		return;
	struct mt_munmap *r = reserve(sizeof(*r));
	if (!r)
		return;
	fill_header(&r->hdr, MT_REC_RESYNC, pid_tgid);
	r->hdr.tgid = tgid;
	r->addr = start;
	r->len = len;
	r->enter_ns = 0;
	bpf_ringbuf_submit(r, batched_wakeup());
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 start_brk = BPF_CORE_READ(task, mm, start_brk);
	__u64 start_stack = BPF_CORE_READ(task, mm, start_stack);
	__u64 vdso = (__u64)BPF_CORE_READ(task, mm, context.vdso);
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	bpf_iter_task_vma_new(&it, task, start);
	while ((vma = bpf_iter_task_vma_next(&it))) {
		if (BPF_CORE_READ(vma, vm_start) >= end)
			break;
		struct mt_mmap *m = mapping_scratch();
		if (!m)
			break;
		fill_header(&m->hdr, MT_REC_VMA, pid_tgid);
		m->hdr.tgid = tgid;
		m->hdr.flags = MT_VMA_RESYNC;
		describe_vma(m, vma, start_brk, start_stack, vdso);
		send_mapping(m);
	}
	bpf_iter_task_vma_destroy(&it);
}

/* The range a failed call may have changed part of; 0 length for calls that change nothing when
 * they fail. */
static __always_inline __u64 failed_range(struct syscall_args *a, __u64 *start)
{
	*start = a->args[0];
	switch (a->call) {
	case MT_CALL_MPROTECT:
	case MT_CALL_MUNMAP: return a->args[1];
	case MT_CALL_MREMAP: return a->args[1];
	case MT_CALL_MMAP:
	case MT_CALL_MMAP2: return (a->args[3] & MT_MAP_FIXED) ? a->args[1] : 0;
	default: return 0;
	}
}

/* --stacks: every brk, mmap, munmap and mremap gets its stack, weighed by the bytes it changed: the
 * calls are rare, and "who grew the heap" is what the stacks are for. */
static __always_inline void sample_call_stack(__u64 pid_tgid, __u32 tgid, long ret, struct syscall_args *a)
{
	__u32 kind;
	__u64 bytes, addr = a->args[0];
	switch (a->call) {
	case MT_CALL_BRK:
		/* Who grew the heap: a brk that gives memory back (free's trim) is not a growth. */
		if ((unsigned long)ret <= a->aux)
			return;
		kind = MT_STACK_BRK;
		bytes = (unsigned long)ret - a->aux;
		addr = a->aux;
		break;
	case MT_CALL_MMAP: kind = MT_STACK_MMAP; bytes = a->args[1]; addr = (unsigned long)ret; break;
	case MT_CALL_MUNMAP: kind = MT_STACK_MUNMAP; bytes = a->args[1]; break;
	case MT_CALL_MREMAP:
		kind = MT_STACK_MREMAP;
		bytes = a->args[2] > a->args[1] ? a->args[2] - a->args[1] : 0; /* what it grew by */
		break;
	default: return;
	}
	struct task_struct *task = bpf_get_current_task_btf();
	emit_stack_sample(pid_tgid, tgid, (struct pt_regs *)bpf_task_pt_regs(task), kind, bytes, addr, 0);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	bool compat = BPF_CORE_READ(regs, cs) == MT_USER32_CS;
	__u32 call = call_of(id, compat);
	if (call == MT_CALL_NONE)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = modelled_tgid(pid_tgid >> 32);
	if (!tgid)
		return 0;
	bool traced = is_traced(pid_tgid >> 32);
	if (call == MT_CALL_EXECVE && traced)
		emit_marker(pid_tgid, MT_REC_EXEC_BEGIN);
	struct syscall_args a = {};
	a.call = syscall_arguments(regs, call, compat, a.args);
	struct task_struct *task = bpf_get_current_task_btf();
	if (call == MT_CALL_BRK)
		a.aux = BPF_CORE_READ(task, mm, brk);
	if (faults_untraced(&a))
		a.faults_at_enter = thread_faults(task);
	a.enter_ns = bpf_ktime_get_ns();
	__u32 tid = (__u32)pid_tgid;
	bpf_map_update_elem(&pending, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	bool compat = BPF_CORE_READ(regs, cs) == MT_USER32_CS;
	if (call_of(BPF_CORE_READ(regs, orig_ax), compat) == MT_CALL_NONE)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct syscall_args *saved = bpf_map_lookup_elem(&pending, &tid);
	if (!saved)
		return 0;
	struct syscall_args a;
	__builtin_memcpy(&a, saved, sizeof(a));
	bpf_map_delete_elem(&pending, &tid);
	__u32 tgid = modelled_tgid(pid_tgid >> 32);
	if (!tgid)
		return 0;
	bool failed = syscall_failed(ret);
	if (compat && !failed)
		ret = (__u32)ret; /* a 32-bit task's addresses */
	/* What get_user_pages faulted in during the call, beyond what raised a tracepoint. */
	if (faults_untraced(&a) && is_traced(pid_tgid >> 32)) {
		__u64 delta = thread_faults(bpf_get_current_task_btf()) - a.faults_at_enter;
		delta = delta > a.traced_faults ? delta - a.traced_faults : 0;
		/* A successful exec's own faults are measured at its exec record. */
		if (delta && !(a.call == MT_CALL_EXECVE && !failed)) {
			__u32 cause = a.call == MT_CALL_EXECVE  ? MT_UNTRACED_FAILED_EXEC
				    : a.call == MT_CALL_MADVISE ? MT_UNTRACED_POPULATE
				    : a.call == MT_CALL_MMAP    ? MT_UNTRACED_MMAP_POPULATE
								: MT_UNTRACED_MLOCK;
			emit_untraced(pid_tgid, tgid, cause, delta);
		}
	}
	if (a.call == MT_CALL_EXECVE) {
		/* A successful exec does not return here as the old image; a failed one does. */
		if (failed && is_traced(pid_tgid >> 32))
			emit_marker(pid_tgid, MT_REC_EXEC_FAILED);
		return 0;
	}
	if (failed && a.call != MT_CALL_BRK) {
		__u64 start, len = failed_range(&a, &start);
		if (len)
			emit_resync(pid_tgid, tgid, start, len);
		return 0;
	}
	if (record_stacks && is_traced(pid_tgid >> 32))
		sample_call_stack(pid_tgid, tgid, ret, &a);
	switch (a.call) {
	case MT_CALL_MMAP: emit_mmap(pid_tgid, tgid, ret, &a); break;
	case MT_CALL_MUNMAP: emit_range(pid_tgid, tgid, MT_REC_MUNMAP, &a); break;
	case MT_CALL_MREMAP: emit_mremap(pid_tgid, tgid, ret, &a); break;
	case MT_CALL_MPROTECT: emit_mprotect(pid_tgid, tgid, &a); break;
	case MT_CALL_BRK: emit_brk(pid_tgid, tgid, ret, &a); break;
	case MT_CALL_SHMAT: emit_shm(pid_tgid, tgid, MT_REC_SHMAT, ret, &a); break;
	case MT_CALL_SHMDT: emit_shm(pid_tgid, tgid, MT_REC_SHMDT, ret, &a); break;
	}
	return 0;
}

/* ---- crashes and resident memory ---- */

#define MT_SIGBUS 7
#define MT_SIGSEGV 11

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
		struct mt_mmap *m = mapping_scratch();
		if (!m) {
			complete = false;
			break;
		}
		fill_header(&m->hdr, MT_REC_VMA, pid_tgid);
		describe_vma(m, vma, start_brk, start_stack, vdso);
		if (!send_mapping(m)) {
			complete = false;
			break;
		}
	}
	bpf_iter_task_vma_destroy(&it);
	return complete;
}

/* An untraced process that shared a traced address space no longer does (it exec'd or exited):
 * its changes are not the traced process's any more. */
static __always_inline void leave_shared_mm(__u32 tgid, __u64 pid_tgid)
{
	bpf_map_delete_elem(&sharers, &tgid);
	struct mt_exit *e = reserve(sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	fill_header(&e->hdr, MT_REC_EXIT, pid_tgid);
	e->hdr.tgid = tgid;
	e->hdr.flags = MT_EXIT_LEFT_MM;
	bpf_ringbuf_submit(e, batched_wakeup());
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (tgid == target_tgid)
		target_execed = true;
	if (bpf_map_lookup_elem(&sharers, &tgid)) {
		leave_shared_mm(tgid, pid_tgid);  /* a new image: it shares nothing any more */
		return 0;
	}
	if (!is_traced(tgid))
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
	/* vfork and clone(CLONE_VM) without CLONE_THREAD: another process in the same address space. */
	bool shares = !thread && BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm);
	__u16 flags = shares ? MT_FORK_SHARES_MM : 0;
	if (!thread) {
		__u8 one = 1;
		if (follow_forks) {
			bpf_map_update_elem(&traced, &child_tgid, &one, BPF_ANY);
		} else if (shares) {
			/* Not followed, but what it maps is there for the traced process too. */
			bpf_map_update_elem(&sharers, &child_tgid, &one, BPF_ANY);
			flags |= MT_FORK_UNTRACED;
		} else {
			return 0;
		}
	}
	struct mt_fork *f = reserve(sizeof(*f));
	if (!f)
		return 0;
	fill_header(&f->hdr, thread ? MT_REC_THREAD : MT_REC_FORK, bpf_get_current_pid_tgid());
	f->hdr.tgid = parent_tgid;
	f->hdr.flags = flags;
	f->child_tgid = child_tgid;
	f->child_tid = BPF_CORE_READ(child, pid);
	/* copy_thread() already put the new thread's stack pointer in its saved user registers. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(child);
	f->child_sp = regs ? BPF_CORE_READ(regs, sp) : 0;
	bpf_ringbuf_submit(f, batched_wakeup());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	bool sharer = bpf_map_lookup_elem(&sharers, &tgid) != NULL;
	if (!sharer && !is_traced(tgid))
		return 0;
	/* Only the last thread of the process: signal->live was decremented before this tracepoint. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (sharer) {
		leave_shared_mm(tgid, bpf_get_current_pid_tgid());
		return 0;
	}
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
