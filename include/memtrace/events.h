/* SPDX-License-Identifier: MIT */
/*
 * Record layout shared by the BPF programs (bpf/memtrace.bpf.c) and the C++ loader.
 *
 * Every record that crosses the ring buffer starts with struct mt_header; its `type` says which
 * struct follows. Fields are fixed width and naturally aligned so the layout is the same for
 * clang -target bpf and for the host compiler (tests/unit/events_layout_test.cpp pins it).
 * No includes: the BPF side gets __u16 and friends from vmlinux.h, the C++ side from
 * <linux/types.h> before including this file.
 */
#ifndef MEMTRACE_EVENTS_H
#define MEMTRACE_EVENTS_H

#define MT_COMM_LEN 16
#define MT_PATH_LEN 256      /* exec file name */
#define MT_FILE_PATH_LEN 512 /* mapped file path, as components (see mt_mmap.path) */
#define MT_COMPONENT_MAX 256 /* longest path component kept; MT_FILE_PATH_LEN - this is a power of two */

enum mt_record_type {
	MT_REC_FAULT = 1,    /* a page fault on a user address (user or kernel mode) */
	MT_REC_MAJOR = 2,    /* the thread's last fault was accounted as major */
	MT_REC_MMAP = 3,     /* mmap() succeeded */
	MT_REC_MUNMAP = 4,   /* munmap() succeeded */
	MT_REC_MREMAP = 5,   /* mremap() succeeded */
	MT_REC_MPROTECT = 6, /* mprotect() succeeded */
	MT_REC_BRK = 7,      /* brk() moved the program break */
	MT_REC_SHMAT = 8,    /* shmat() attached a SysV segment */
	MT_REC_SHMDT = 9,    /* shmdt() detached one */
	MT_REC_EXEC = 10,    /* the process replaced its image */
	MT_REC_FORK = 11,    /* a traced process forked a new process (followed with -f) */
	MT_REC_THREAD = 12,  /* a traced process started a thread */
	MT_REC_EXIT = 13,    /* the last thread of a traced process exited */
	MT_REC_EXEC_BEGIN = 14, /* execve() entered: faults until MT_REC_EXEC belong to the new image */
	MT_REC_EXEC_FAILED = 15, /* execve() failed: the old image stays */
	MT_REC_VMA = 16,     /* one mapping of a new image, sent at exec before MT_REC_EXEC (struct mt_mmap) */
	MT_REC_FAULT_DONE = 17, /* the thread's last fault was handled (latency mode; struct mt_major) */
	MT_REC_SIGNAL = 18,  /* SIGSEGV or SIGBUS generated for a traced thread */
	MT_REC_TYPE_MAX = 19,
};

/* Bits of mt_fault.flags: the x86 page-fault error code bits, plus where the fault was taken. */
enum mt_fault_flags {
	MT_FAULT_PROTECTION = 1 << 0, /* page was present: protection violation */
	MT_FAULT_WRITE = 1 << 1,
	MT_FAULT_USER = 1 << 2,       /* taken in user mode */
	MT_FAULT_INSTR = 1 << 4,      /* instruction fetch */
	MT_FAULT_KERNEL_MODE = 1 << 8, /* taken by the kernel on a user address (e.g. read() into a fresh buffer) */
};

/* Indexes of the per-CPU counters map `counters`: exact totals kept in the kernel, so that a
 * record lost to a full ring buffer still counts. */
enum mt_counter {
	MT_CNT_FAULTS = 0,   /* faults of traced processes (user + kernel mode) */
	MT_CNT_MAJOR = 1,    /* of which major */
	MT_CNT_DROPPED = 2,  /* records that did not fit in the ring buffer */
	MT_CNT_STACKS_LOST = 3, /* --stacks: stacks not counted because the stack_counts map was full */
	MT_CNT_OVERFLOW = 4, /* faults counted in the overflow map instead of streamed */
	MT_CNT_OVERFLOW_LOST = 5, /* of which the overflow map had no room for: placed nowhere */
	MT_CNT_MAX = 6,
};

struct mt_header {
	__u16 type;   /* enum mt_record_type */
	__u16 flags;  /* type specific: enum mt_fault_flags for faults */
	__u32 tgid;   /* process id as seen from the initial pid namespace */
	__u32 tid;
	__u32 cpu;
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};

struct mt_fault {
	struct mt_header hdr;
	__u64 addr;   /* faulting address */
	__u64 ip;     /* user instruction pointer (or kernel ip for kernel-mode faults) */
};

/* MT_REC_MAJOR and MT_REC_FAULT_DONE: sent when the kernel accounts the fault, after handling it
 * (software perf events PAGE_FAULTS_MAJ/MIN), on the faulting thread. hdr.ts_ns minus the ts_ns of
 * the thread's preceding fault record is the time the kernel took to handle it. */
struct mt_major {
	struct mt_header hdr; /* flags: MT_DONE_MAJOR */
	__u64 addr;
};

#define MT_DONE_MAJOR 1

/* Stacks (--stacks): counted in the kernel per (process, user stack, kind), not streamed. */
enum mt_stack_kind {
	MT_STACK_FAULT = 0,
	MT_STACK_BRK = 1,
	MT_STACK_MMAP = 2,
};

struct mt_stack_key {
	__u32 tgid;
	__s32 stack_id; /* in the stack_traces map; negative: the kernel could not take one (-errno) */
	__u32 kind;     /* enum mt_stack_kind */
	__u32 pad;
};

#define MT_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */

struct mt_mmap {
	struct mt_header hdr;
	__u64 addr;   /* start of the new mapping (syscall return value) */
	__u64 len;
	__u64 pgoff;  /* file offset in bytes */
	__u64 ino;    /* inode of the mapped file, 0 for anonymous */
	__u32 dev;    /* st_dev of the mapped file (kernel encoding), 0 for anonymous */
	__u32 prot;
	__u32 mflags; /* MAP_* flags as passed */
	__s32 fd;
	__u16 path_len;   /* bytes used in `path` */
	__u16 path_flags; /* MT_PATH_TRUNCATED: deeper than the walk goes */
	__u32 pad;
	/* The file's path read from the dentry tree at mmap time, since the file may be closed,
	 * unmapped and unlinked before userspace reads the record: NUL-terminated components from
	 * the file up to the root ("libc.so.6\0x86_64-linux-gnu\0lib\0usr\0"). */
	char path[MT_FILE_PATH_LEN];
};

#define MT_PATH_TRUNCATED 1
/* More mt_mmap.path_flags, for MT_REC_VMA: what the kernel itself put there at exec. */
#define MT_VMA_STACK 2
#define MT_VMA_HEAP 4
#define MT_VMA_VDSO 8
#define MT_VMA_VVAR 16

/* mt_exec.hdr.flags: the MT_REC_VMA records before it list the whole new image. */
#define MT_EXEC_LAYOUT_COMPLETE 1

struct mt_munmap {
	struct mt_header hdr; /* ts_ns: when the call returned */
	__u64 addr;
	__u64 len;
	__u64 enter_ns;       /* when it began: a mapping made by a call that returned later is newer */
};

struct mt_mremap {
	struct mt_header hdr;
	__u64 old_addr;
	__u64 old_len;
	__u64 new_addr;
	__u64 new_len;
	__u64 mflags;
};

struct mt_mprotect {
	struct mt_header hdr;
	__u64 addr;
	__u64 len;
	__u64 prot;
};

struct mt_brk {
	struct mt_header hdr;
	__u64 start_brk; /* where the heap begins */
	__u64 old_brk;
	__u64 new_brk;
};

struct mt_shmat {
	struct mt_header hdr;
	__u64 addr;
	__u64 size;   /* size of the SysV segment, 0 for shmdt */
	__s64 shmid;
};

struct mt_exec {
	struct mt_header hdr;
	__u64 start_brk;
	__u64 start_stack;
	__u64 minflt;  /* the kernel's fault counters for the process right after exec */
	__u64 majflt;
	char comm[MT_COMM_LEN];
	char filename[MT_PATH_LEN];
};

struct mt_fork {
	struct mt_header hdr; /* tgid/tid: the parent */
	__u32 child_tgid;
	__u32 child_tid;
	__u64 child_sp;       /* new thread's user stack pointer (MT_REC_THREAD) */
};

struct mt_exit {
	struct mt_header hdr;
	__u64 minflt;  /* the kernel's fault counters for the whole process at its end */
	__u64 majflt;
	__s32 exit_code;
	__u32 pad;
	__u64 rss_peak_pages;  /* resident high-water mark (anon + file + shmem), 0 if unknown */
};

/* When the consumer falls behind, the ring keeps room for mapping records and faults are counted
 * per page in the `overflow` map instead, which userspace drains and attributes with its model:
 * the totals, and the segments, stay exact. */
struct mt_overflow_key {
	__u32 tgid;
	__u32 pad;
	__u64 page; /* fault address & ~4095 */
};

struct mt_overflow_count {
	__u64 faults;
	__u64 major;
};

/* A fault signal: what the kernel knew when it decided to send it. */
struct mt_signal {
	struct mt_header hdr; /* tgid/tid: the thread that gets it */
	__s32 signo;          /* SIGSEGV or SIGBUS */
	__s32 code;           /* si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR...; <= 0 when sent by a process */
	__u64 addr;           /* si_addr: the faulting address */
	__u64 ip;             /* the thread's user instruction pointer */
	__u64 sp;             /* and stack pointer */
	__u64 error_code;     /* x86 page-fault error code of the fault (enum mt_fault_flags bits) */
	__u64 stack_limit;    /* RLIMIT_STACK soft limit, bytes */
	__u32 sender_tgid;    /* the process that sent it, for code <= 0 */
	__u32 disposition;    /* enum mt_signal_disposition: what the process does with the signal */
};

enum mt_signal_disposition {
	MT_SIG_DEFAULT = 0,  /* the default action: the process dies (with a core dump) */
	MT_SIG_IGNORED = 1,
	MT_SIG_HANDLED = 2,  /* a handler runs: the process may survive (JVMs, GCs do this on purpose) */
};

/* Indexes of the kernel's per-mm resident counters (MM_FILEPAGES...), read at exit. Live
 * processes are sampled from /proc/PID/status instead: kmem:rss_stat fires on every fault, and a
 * program there cost as much as the fault program itself. */
enum mt_rss_member {
	MT_RSS_FILE = 0,
	MT_RSS_ANON = 1,
	MT_RSS_SWAP = 2,
	MT_RSS_SHMEM = 3,
	MT_RSS_MAX = 4,
};

#endif /* MEMTRACE_EVENTS_H */
