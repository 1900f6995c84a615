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

/* Highest user address on x86_64 (TASK_SIZE_MAX with 4-level paging is lower; 5-level is higher). */
#define MT_USER_ADDR_MAX 0x00ffffffffffffffULL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

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

/* Syscall arguments saved at entry, read back at exit (keyed by thread id). */
struct syscall_args {
	__u64 args[6];
	__u64 aux;
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
		return true;
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
 * pending. The consumer also polls with a short timeout, so a quiet trickle is never stranded. */
static __always_inline void submit_batched(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

static __always_inline int on_fault(unsigned long address, struct pt_regs *regs,
				    unsigned long error_code, __u16 extra_flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	count(MT_CNT_FAULTS);
	struct mt_fault *f = reserve(sizeof(*f));
	if (!f)
		return 0;
	fill_header(&f->hdr, MT_REC_FAULT, pid_tgid);
	f->hdr.flags = (error_code & 0x1f) | extra_flags;
	f->addr = address;
	f->ip = BPF_CORE_READ(regs, ip);
	submit_batched(f);
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(handle_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return on_fault(address, regs, error_code, 0);
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
	return on_fault(address, regs, error_code, MT_FAULT_KERNEL_MODE);
}

/* Software perf event PERF_COUNT_SW_PAGE_FAULTS_MAJ: fires on the faulting thread once the fault
 * was handled and accounted as major. The tracepoint record of the same fault came before it. */
SEC("perf_event")
int handle_major(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	count(MT_CNT_MAJOR);
	struct mt_major *m = reserve(sizeof(*m));
	if (!m)
		return 0;
	fill_header(&m->hdr, MT_REC_MAJOR, pid_tgid);
	m->addr = ctx->addr;
	submit_batched(m);
	return 0;
}

/* ---- syscalls that change the address space ---- */

/* Saves the first `nargs` arguments. Read no more than the syscall has: the kernel refuses to
 * attach a program that reads past the end of the tracepoint's record (EACCES). */
static __always_inline int save_args(struct trace_event_raw_sys_enter *ctx, int nargs, __u64 aux)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	struct syscall_args a = {};
	/* Constant offsets only: the verifier rejects a ctx pointer that was moved. */
	a.args[0] = ctx->args[0];
	if (nargs > 1)
		a.args[1] = ctx->args[1];
	if (nargs > 2)
		a.args[2] = ctx->args[2];
	if (nargs > 3)
		a.args[3] = ctx->args[3];
	if (nargs > 4)
		a.args[4] = ctx->args[4];
	if (nargs > 5)
		a.args[5] = ctx->args[5];
	a.aux = aux;
	__u32 tid = (__u32)pid_tgid;
	bpf_map_update_elem(&pending, &tid, &a, BPF_ANY);
	return 0;
}

/* Returns the saved entry arguments of this thread's syscall (and forgets them), or NULL. */
static __always_inline struct syscall_args *take_args(__u64 pid_tgid, struct syscall_args *out)
{
	__u32 tid = (__u32)pid_tgid;
	struct syscall_args *a = bpf_map_lookup_elem(&pending, &tid);
	if (!a)
		return NULL;
	__builtin_memcpy(out, a, sizeof(*out));
	bpf_map_delete_elem(&pending, &tid);
	return out;
}

static __always_inline bool syscall_failed(long ret)
{
	return ret < 0 && ret > -4096;
}

SEC("tp/syscalls/sys_enter_mmap")
int handle_enter_mmap(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 6, 0); }

SEC("tp/syscalls/sys_exit_mmap")
int handle_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_mmap *m = reserve(sizeof(*m));
	if (!m)
		return 0;
	fill_header(&m->hdr, MT_REC_MMAP, pid_tgid);
	m->addr = ctx->ret;
	m->len = a.args[1];
	m->prot = a.args[2];
	m->mflags = a.args[3];
	m->fd = (int)a.args[4];
	m->pgoff = a.args[5];
	m->ino = 0;
	m->dev = 0;
	m->name[0] = 0;
	/* MAP_ANONYMOUS (0x20) ignores fd. Otherwise name the file through the fd table: the fd is
	 * typically closed right after mmap (ld.so does), so userspace could not look it up later. */
	if (!(m->mflags & 0x20) && m->fd >= 0) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
		struct file *file = NULL;
		bpf_probe_read_kernel(&file, sizeof(file), &fds[m->fd & 0xffff]);
		if (file) {
			m->ino = BPF_CORE_READ(file, f_inode, i_ino);
			m->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
			const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
			bpf_probe_read_kernel_str(m->name, sizeof(m->name), name);
		}
	}
	bpf_ringbuf_submit(m, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_munmap")
int handle_enter_munmap(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 2, 0); }

SEC("tp/syscalls/sys_exit_munmap")
int handle_exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_munmap *m = reserve(sizeof(*m));
	if (!m)
		return 0;
	fill_header(&m->hdr, MT_REC_MUNMAP, pid_tgid);
	m->addr = a.args[0];
	m->len = a.args[1];
	bpf_ringbuf_submit(m, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_mremap")
int handle_enter_mremap(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 5, 0); }

SEC("tp/syscalls/sys_exit_mremap")
int handle_exit_mremap(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_mremap *m = reserve(sizeof(*m));
	if (!m)
		return 0;
	fill_header(&m->hdr, MT_REC_MREMAP, pid_tgid);
	m->old_addr = a.args[0];
	m->old_len = a.args[1];
	m->new_len = a.args[2];
	m->mflags = a.args[3];
	m->new_addr = ctx->ret;
	bpf_ringbuf_submit(m, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_mprotect")
int handle_enter_mprotect(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 3, 0); }

SEC("tp/syscalls/sys_exit_mprotect")
int handle_exit_mprotect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_mprotect *m = reserve(sizeof(*m));
	if (!m)
		return 0;
	fill_header(&m->hdr, MT_REC_MPROTECT, pid_tgid);
	m->addr = a.args[0];
	m->len = a.args[1];
	m->prot = a.args[2];
	bpf_ringbuf_submit(m, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_brk")
int handle_enter_brk(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return save_args(ctx, 1, BPF_CORE_READ(task, mm, brk));
}

SEC("tp/syscalls/sys_exit_brk")
int handle_exit_brk(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a))
		return 0;
	__u64 new_brk = ctx->ret;
	if (new_brk == a.aux) /* a query (brk(0)) or a refused request: nothing moved */
		return 0;
	struct mt_brk *b = reserve(sizeof(*b));
	if (!b)
		return 0;
	fill_header(&b->hdr, MT_REC_BRK, pid_tgid);
	struct task_struct *task = bpf_get_current_task_btf();
	b->start_brk = BPF_CORE_READ(task, mm, start_brk);
	b->old_brk = a.aux;
	b->new_brk = new_brk;
	bpf_ringbuf_submit(b, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_shmat")
int handle_enter_shmat(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 3, 0); }

SEC("tp/syscalls/sys_exit_shmat")
int handle_exit_shmat(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_shmat *s = reserve(sizeof(*s));
	if (!s)
		return 0;
	fill_header(&s->hdr, MT_REC_SHMAT, pid_tgid);
	s->addr = ctx->ret;
	s->shmid = (long)a.args[0];
	s->size = 0; /* userspace asks shmctl(IPC_STAT) */
	bpf_ringbuf_submit(s, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_shmdt")
int handle_enter_shmdt(struct trace_event_raw_sys_enter *ctx) { return save_args(ctx, 1, 0); }

SEC("tp/syscalls/sys_exit_shmdt")
int handle_exit_shmdt(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_args a;
	if (!take_args(pid_tgid, &a) || syscall_failed(ctx->ret))
		return 0;
	struct mt_shmat *s = reserve(sizeof(*s));
	if (!s)
		return 0;
	fill_header(&s->hdr, MT_REC_SHMDT, pid_tgid);
	s->addr = a.args[0];
	s->size = 0;
	s->shmid = -1;
	bpf_ringbuf_submit(s, 0);
	return 0;
}

/* ---- process life ---- */

/* The kernel faults on the new image's pages (clearing the .bss tail, writing the auxv) before
 * sched_process_exec fires: tell userspace to hold those faults until the new layout is known. */
static __always_inline int exec_marker(__u16 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	struct mt_header *h = reserve(sizeof(*h));
	if (!h)
		return 0;
	fill_header(h, type, pid_tgid);
	bpf_ringbuf_submit(h, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int handle_enter_execve(void *ctx) { return exec_marker(MT_REC_EXEC_BEGIN); }

SEC("tp/syscalls/sys_enter_execveat")
int handle_enter_execveat(void *ctx) { return exec_marker(MT_REC_EXEC_BEGIN); }

static __always_inline int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (!syscall_failed(ctx->ret))
		return 0;
	return exec_marker(MT_REC_EXEC_FAILED);
}

SEC("tp/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx) { return exec_exit(ctx); }

SEC("tp/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx) { return exec_exit(ctx); }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!is_traced(pid_tgid >> 32))
		return 0;
	struct mt_exec *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_header(&e->hdr, MT_REC_EXEC, pid_tgid);
	e->start_brk = BPF_CORE_READ(p, mm, start_brk);
	e->start_stack = BPF_CORE_READ(p, mm, start_stack);
	/* After exec the process has one thread; its counters plus those of threads that died. */
	e->minflt = BPF_CORE_READ(p, min_flt) + BPF_CORE_READ(p, signal, min_flt);
	e->majflt = BPF_CORE_READ(p, maj_flt) + BPF_CORE_READ(p, signal, maj_flt);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	const char *filename = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	/* The loader reads /proc/PID/maps when it sees this: wake it now. */
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
	e->minflt = BPF_CORE_READ(p, min_flt) + BPF_CORE_READ(p, signal, min_flt);
	e->majflt = BPF_CORE_READ(p, maj_flt) + BPF_CORE_READ(p, signal, maj_flt);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
