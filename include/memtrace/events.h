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
#define MT_FILE_PATH_LEN 4352 /* mapped file path, as components (see mt_mmap.path): PATH_MAX and a component */
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
	MT_REC_RESYNC = 19,  /* a mapping call failed part way: MT_REC_VMA records (MT_VMA_RESYNC) give the range as it is (struct mt_munmap) */
	MT_REC_UNTRACED = 20, /* faults the kernel counted inside a system call without a tracepoint (struct mt_untraced) */
	MT_REC_STACK_SAMPLE = 21, /* registers and the top of the user stack, for unwinding (--stacks) */
	MT_REC_KERNEL_TYPE_MAX = 22,

	/* Records memtrace's user space adds to the stream; BPF never sends them. What the live side
	 * learns outside the ring buffer (/proc at attach, the kernel's counters, the clock) becomes
	 * records too, so that a recorded trace replays through exactly the same code. */
	MT_REC_TRACE_START = 64, /* struct mt_trace_start: the first record of every trace */
	MT_REC_ATTACH = 65,      /* struct mt_attach: a process joins; MT_REC_VMA records and MT_REC_LAYOUT follow */
	MT_REC_OBJECT = 66,      /* struct mt_object + variable part: a mapped file's identity and ELF layout */
	MT_REC_COUNTERS = 67,    /* struct mt_counters: the kernel's per-CPU counters, summed */
	MT_REC_OVERFLOW = 68,    /* struct mt_overflow: one page's faults, counted in the kernel instead of streamed */
	MT_REC_JIT_SYMBOL = 69,  /* struct mt_jit_symbol + name: code a JIT runtime named in /tmp/perf-PID.map */
	MT_REC_RSS = 70,         /* struct mt_rss: a live process's resident pages, sampled */
	MT_REC_KERNEL_FINAL = 71, /* struct mt_kernel_final: a process's minflt+majflt where its window ends */
	MT_REC_TICK = 72,        /* struct mt_tick: an interval ends (MT_TICK_FINAL: the trace ends) */
	MT_REC_LAYOUT = 73,      /* struct mt_header: the MT_REC_VMA records since MT_REC_ATTACH are the whole layout */
	MT_REC_PROCESS_COUNTS = 74, /* struct mt_process_counts: -a, exporter: one process's faults counted in the kernel */
	MT_REC_CGROUP = 75,      /* struct mt_cgroup + path: a cgroup's id and its path under the cgroup2 mount */
	MT_REC_LATENCY = 76,     /* struct mt_latency: -a, exporter --latency: fault latency histograms counted in the kernel */
	MT_REC_TYPE_MAX = 77,
};

/* Bits of mt_fault.flags: the x86 page-fault error code bits, plus where the fault was taken. */
enum mt_fault_flags {
	MT_FAULT_PROTECTION = 1 << 0, /* page was present: protection violation */
	MT_FAULT_WRITE = 1 << 1,
	MT_FAULT_USER = 1 << 2,       /* taken in user mode */
	MT_FAULT_INSTR = 1 << 4,      /* instruction fetch */
	MT_FAULT_KERNEL_MODE = 1 << 8, /* taken by the kernel on a user address (e.g. read() into a fresh buffer) */
};

/* More mt_fault.hdr.flags: the software perf event (--fault-source perf-event) does not carry the
 * error code (x86's entry code moves it out of the saved registers), so reads are not told from
 * writes there; an instruction fetch is known by the address being the instruction's. */
#define MT_FAULT_ACCESS_UNKNOWN (1 << 9)

/* Indexes of the per-CPU counters map `counters`: exact totals kept in the kernel, so that a
 * record lost to a full ring buffer still counts. */
enum mt_counter {
	MT_CNT_FAULTS = 0,   /* faults of traced processes (user + kernel mode) */
	MT_CNT_MAJOR = 1,    /* of which major */
	MT_CNT_DROPPED = 2,  /* records that did not fit in the ring buffer */
	MT_CNT_STACKS_LOST = 3, /* --stacks: stack samples the ring buffer had no room for */
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

/* Stacks (--stacks): what a stack sample was taken for. */
enum mt_stack_kind {
	MT_STACK_FAULT = 0,
	MT_STACK_BRK = 1,   /* a brk that grew the heap, weighed by the bytes it grew by */
	MT_STACK_MMAP = 2,
	MT_STACK_MUNMAP = 3,
	MT_STACK_MREMAP = 4,
	MT_STACK_KINDS = 5,
};

/* The user registers of a sample in DWARF's x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp,
 * r8..r15, rip (16). */
#define MT_SAMPLE_REGS 17
/* Bytes of stack copied from sp: faults (frequent) the top 8 KiB, as perf's default; brk, mmap,
 * munmap and mremap calls (rare, and often deep in a runtime's start-up) up to 32 KiB. */
#define MT_SAMPLE_FAULT_STACK 8192
#define MT_SAMPLE_STACK_MAX 32768

/* mt_stack_sample.hdr.flags */
#define MT_SAMPLE_KERNEL_MODE 1 /* a kernel-mode fault: the registers are the system call's user ones */
#define MT_SAMPLE_COPY_FAULTED 2 /* the copy stopped at a page that could not be read (the stack's end) */

/* Variable length: stack_len bytes of the user stack from regs[7] (sp) follow. */
struct mt_stack_sample {
	struct mt_header hdr;
	__u32 kind;       /* enum mt_stack_kind */
	__u32 stack_len;
	__u64 weight;     /* faults this sample stands for (the sampling period), or bytes the call mapped or grew */
	__u64 addr;       /* the fault's address, or the call's */
	__u64 regs[MT_SAMPLE_REGS];
	__u64 pad;
};

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
/* Synthesized from /proc/PID/maps only: an anonymous mapping the kernel names ([vsyscall],
 * [anon:NAME]); the name is the record's one path component. */
#define MT_VMA_NAMED 32

/* mt_exec.hdr.flags: the MT_REC_VMA records before it list the whole new image. */
#define MT_EXEC_LAYOUT_COMPLETE 1

/* mt_mmap.hdr.flags of an MT_REC_VMA record that follows MT_REC_RESYNC: applied at once. */
#define MT_VMA_RESYNC 1

/* mt_fork.hdr.flags */
#define MT_FORK_SHARES_MM 1 /* the child uses the parent's address space (vfork, clone(CLONE_VM)) */
#define MT_FORK_UNTRACED 2  /* not followed (no -f): only its changes to the shared address space come */

/* mt_exit.hdr.flags */
#define MT_EXIT_LEFT_MM 1 /* an untraced process that shared a traced address space exec'd: it no longer does */

/* Why the kernel counted faults that raised no tracepoint (get_user_pages inside a system call). */
enum mt_untraced_cause {
	MT_UNTRACED_FAILED_EXEC = 1, /* execve() copied its arguments, then failed */
	MT_UNTRACED_POPULATE = 2,    /* madvise(MADV_POPULATE_READ/WRITE) */
	MT_UNTRACED_MMAP_POPULATE = 3, /* mmap(MAP_POPULATE or MAP_LOCKED) */
	MT_UNTRACED_MLOCK = 4,       /* mlock(), mlock2(), mlockall() */
	MT_UNTRACED_CAUSE_MAX = 5,
};

struct mt_untraced {
	struct mt_header hdr;
	__u32 cause;  /* enum mt_untraced_cause */
	__u32 pad;
	__u64 faults; /* the thread's minflt+majflt across the call, less the faults it traced meanwhile */
};

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
	__u64 writes, instr, protection, kernel_mode; /* of `faults`, by their error code */
};

/* mt_overflow.hdr.flags: faults of a process that found no room even in the overflow table, so no
 * page to place them on (`page` is 0). */
#define MT_OVERFLOW_UNPLACED 1

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

/* ---- Records of memtrace's user space (types from MT_REC_TRACE_START on) ---- */

/* mt_trace_start.flags: what the trace was asked to collect. */
#define MT_TRACE_LATENCY 1 /* FAULT_DONE records follow every fault */
#define MT_TRACE_STACKS 2  /* --stacks: MT_REC_STACK_SAMPLE records come */
#define MT_TRACE_FOLLOW 4  /* children are traced */
#define MT_TRACE_PERF_FAULTS 8 /* faults come from the software perf event (MT_FAULT_ACCESS_UNKNOWN) */
#define MT_TRACE_COUNTED 16 /* -a, exporter: faults counted in the kernel, MT_REC_PROCESS_COUNTS records come */

struct mt_trace_start {
	struct mt_header hdr; /* ts_ns: the trace's origin; times in reports count from it */
	__u32 target_tgid;
	__u32 flags;          /* MT_TRACE_* */
};

/* mt_attach.flags */
#define MT_ATTACH_LAUNCHED 1 /* memtrace's own fork, held at a gate: it counts from its exec on */
#define MT_ATTACH_BASELINE 2 /* kernel_faults holds its minflt+majflt at attach (read from /proc) */

struct mt_attach {
	struct mt_header hdr; /* tgid: the process */
	__u64 stack_limit;    /* RLIMIT_STACK, bytes */
	__u64 kernel_faults;  /* minflt+majflt at attach (MT_ATTACH_BASELINE) */
	__u32 flags;
	__u32 pad;
	char comm[MT_COMM_LEN];
};

/* A mapped file as memtrace read it: its identity, and the ELF layout that attribution uses, so a
 * report on another machine (or after an upgrade) names the same segments. Variable length: after
 * the fixed part come nr_loads struct mt_object_load, nr_sections struct mt_object_section each
 * followed by its name (name_len bytes, padded to a multiple of 8), then path_len bytes of path. */
#define MT_OBJECT_ELF 1        /* an ELF file: loads and sections follow */
#define MT_OBJECT_PIE 2        /* ET_DYN */
#define MT_OBJECT_UNREADABLE 4 /* memtrace could not read the file the process mapped */
#define MT_BUILD_ID_MAX 32

struct mt_object {
	struct mt_header hdr;
	__u64 dev;       /* kernel encoding: major << 20 | minor, as in mt_mmap.dev */
	__u64 ino;
	__u64 size;      /* bytes */
	__u64 mtime_ns;
	__u32 flags;     /* MT_OBJECT_* */
	__u16 nr_loads;
	__u16 nr_sections;
	__u16 path_len;
	__u8 build_id_len;
	__u8 pad;
	__u32 pad2;
	__u8 build_id[MT_BUILD_ID_MAX];
};

struct mt_object_load {
	__u64 vaddr, memsz, offset, filesz;
	__u32 flags; /* MT_OBJECT_WRITABLE | MT_OBJECT_EXECUTABLE */
	__u32 pad;
};

struct mt_object_section {
	__u64 addr, size;
	__u32 flags; /* MT_OBJECT_WRITABLE | MT_OBJECT_EXECUTABLE | MT_OBJECT_NOBITS */
	__u16 name_len;
	__u16 pad;
};

#define MT_OBJECT_WRITABLE 1
#define MT_OBJECT_EXECUTABLE 2
#define MT_OBJECT_NOBITS 4

struct mt_counters {
	struct mt_header hdr;
	__u64 value[MT_CNT_MAX]; /* enum mt_counter */
};

struct mt_overflow {
	struct mt_header hdr; /* tgid: the process */
	__u64 page;
	__u64 faults, major;
	__u64 writes, instr, protection, kernel_mode;
};

struct mt_rss {
	struct mt_header hdr; /* tgid: the process */
	__s64 anon, file, shmem, swap, peak; /* pages */
};

struct mt_kernel_final {
	struct mt_header hdr; /* tgid: the process */
	__u64 faults;         /* minflt+majflt */
};

/* Variable length: name_len bytes of name follow. */
struct mt_jit_symbol {
	struct mt_header hdr; /* tgid: the process whose perf map named it */
	__u64 start, size;
	__u32 name_len;
	__u32 pad;
};

#define MT_TICK_FINAL 1

/* mt_tick.end_reason, for the final tick */
enum mt_end_reason {
	MT_END_TARGET_EXITED = 1,
	MT_END_ALL_EXITED = 2, /* the target and, with -f, every child */
	MT_END_INTERRUPTED = 3,
	MT_END_TERMINATED = 4,
	MT_END_QUIT = 5,
	MT_END_DURATION = 6,
	MT_END_CUT_SHORT = 7, /* a trace file that ends early: its reader ends the stream */
};

struct mt_tick {
	struct mt_header hdr; /* ts_ns: when the interval ended */
	__u32 flags;          /* MT_TICK_FINAL */
	__u32 end_reason;     /* enum mt_end_reason, for the final tick */
};

/* ---- Counting in the kernel (memtrace -a, memtrace exporter; bpf/memtrace_count.bpf.c) ----
 * No record per fault: the kernel classifies each fault's address by segment kind and counts it
 * per process. Kinds are what a user reasons in, never per-file paths. */
enum mt_kind {
	MT_KIND_TEXT = 0,      /* executable file mappings */
	MT_KIND_RODATA = 1,    /* read-only mappings of an executable file (ELF headers, .rodata, .eh_frame) */
	MT_KIND_DATA = 2,      /* writable private mappings of an executable file (.data, .got) */
	MT_KIND_BSS = 3,       /* the anonymous tail after an executable's data */
	MT_KIND_HEAP = 4,      /* [start_brk, brk) */
	MT_KIND_STACK = 5,     /* the main thread's stack */
	MT_KIND_THREAD_STACK = 6, /* mappings made with MAP_STACK (glibc's thread stacks) */
	MT_KIND_ANON = 7,      /* other private anonymous memory (malloc arenas, JIT code, ...) */
	MT_KIND_FILE = 8,      /* mappings of files that are not executables (data files, shared file mappings) */
	MT_KIND_SHM = 9,       /* shared memory: SysV, memfd, MAP_SHARED|MAP_ANONYMOUS, tmpfs shared mappings */
	MT_KIND_VDSO = 10,     /* [vdso] and [vvar] */
	MT_KIND_UNMAPPED = 11, /* no mapping there: the fault ends in SIGSEGV */
	MT_KIND_UNKNOWN = 12,  /* the mapping could not be looked up (its lock was busy) */
	MT_KINDS = 13,
};

/* The per-process value of the kernel's per-CPU count map; user space sums the CPUs. */
struct mt_kind_counts {
	__u64 faults[MT_KINDS][2]; /* [kind][0: user mode, 1: kernel mode on a user address] */
	__u64 major[MT_KINDS][2];  /* of which major, [kind][mode] */
};

/* What the kernel knows of a counted process (shared by every CPU). */
#define MT_PROCESS_EXITED 1
struct mt_process_info {
	__u64 cgroup_id;       /* cgroup v2 id (the cgroup directory's inode number) */
	__u64 brk_grown, brk_shrunk;    /* bytes the program break moved up, down */
	__u64 mmap_bytes, munmap_bytes; /* bytes mapped by mmap/mremap growth, unmapped by munmap */
	__u64 first_seen_ns;
	char comm[16];
	__u32 flags;           /* MT_PROCESS_EXITED */
	__u32 pad;
};

/* User space's record of one process's counts, cumulative since memtrace first saw it. */
struct mt_process_counts {
	struct mt_header hdr;  /* tgid; flags: MT_PROCESS_EXITED (its last record) */
	__u64 cgroup_id;
	char comm[16];
	__u64 brk_grown, brk_shrunk, mmap_bytes, munmap_bytes;
	struct mt_kind_counts counts;
};

/* Variable length: path_len bytes of path follow ("/system.slice/nginx.service"). */
struct mt_cgroup {
	struct mt_header hdr;
	__u64 id;
	__u32 path_len;
	__u32 pad;
};

/* Fault latency, log2 buckets of nanoseconds: bucket b counts latencies in [2^b, 2^(b+1)). */
#define MT_LATENCY_BUCKETS 40
struct mt_latency {
	struct mt_header hdr;
	__u64 buckets[2][MT_LATENCY_BUCKETS]; /* [0: minor, 1: major], cumulative */
	__u64 sum_ns[2];
};

#endif /* MEMTRACE_EVENTS_H */
