// SPDX-License-Identifier: GPL-2.0
/*
 * The system calls that change an address space, as both of memtrace's BPF objects see them
 * (memtrace.bpf.c streams them, memtrace_count.bpf.c counts and classifies with them): their
 * numbers in both x86 ABIs and their arguments, read the same way whatever the ABI.
 */
#pragma once

#if !defined(__TARGET_ARCH_x86)
#error "syscall numbers for this architecture are not filled in yet"
#endif

/* What a syscall is to the model, whatever its ABI. */
enum mt_call {
	MT_CALL_NONE = 0,
	MT_CALL_MMAP,      /* offset in bytes */
	MT_CALL_MMAP2,     /* ia32 mmap2: offset in pages */
	MT_CALL_OLD_MMAP,  /* ia32 old mmap: one pointer to six 32-bit arguments */
	MT_CALL_MUNMAP,
	MT_CALL_MPROTECT,
	MT_CALL_BRK,
	MT_CALL_MREMAP,
	MT_CALL_SHMAT,
	MT_CALL_SHMDT,
	MT_CALL_EXECVE,
	MT_CALL_MADVISE,
	MT_CALL_MLOCK,
};

#define MT_USER32_CS 0x23

static __always_inline __u32 call_of(long id, bool compat)
{
	if (compat) {
		switch (id) {
		case 90: return MT_CALL_OLD_MMAP;
		case 192: return MT_CALL_MMAP2;
		case 91: return MT_CALL_MUNMAP;
		case 125: return MT_CALL_MPROTECT;
		case 45: return MT_CALL_BRK;
		case 163: return MT_CALL_MREMAP;
		case 397: return MT_CALL_SHMAT;
		case 398: return MT_CALL_SHMDT;
		case 11: case 358: return MT_CALL_EXECVE;
		case 219: return MT_CALL_MADVISE;
		case 150: case 152: case 376: return MT_CALL_MLOCK;
		default: return MT_CALL_NONE;
		}
	}
	switch (id) {
	case 9: return MT_CALL_MMAP;
	case 11: return MT_CALL_MUNMAP;
	case 10: return MT_CALL_MPROTECT;
	case 12: return MT_CALL_BRK;
	case 25: return MT_CALL_MREMAP;
	case 30: return MT_CALL_SHMAT;
	case 67: return MT_CALL_SHMDT;
	case 59: case 322: return MT_CALL_EXECVE;
	case 28: return MT_CALL_MADVISE;
	case 149: case 151: case 325: return MT_CALL_MLOCK;
	default: return MT_CALL_NONE;
	}
}

static __always_inline bool syscall_failed(long ret)
{
	return ret < 0 && ret > -4096;
}

#define MT_MADV_POPULATE_READ 22
#define MT_MADV_POPULATE_WRITE 23
#define MT_MAP_LOCKED 0x2000
#define MT_MAP_POPULATE 0x8000
#define MT_MAP_FIXED 0x10
#define MT_MAP_ANONYMOUS 0x20

/* The arguments of `call` (from call_of()) in x86_64 order, whatever the ABI; returns the call
 * as the model sees it (ia32's old mmap and mmap2 become MT_CALL_MMAP, with the offset in bytes). */
static __always_inline __u32 syscall_arguments(struct pt_regs *regs, __u32 call, bool compat, __u64 args[6])
{
	if (compat) { /* ia32: ebx, ecx, edx, esi, edi, ebp, 32 bits each */
		args[0] = (__u32)BPF_CORE_READ(regs, bx);
		args[1] = (__u32)BPF_CORE_READ(regs, cx);
		args[2] = (__u32)BPF_CORE_READ(regs, dx);
		args[3] = (__u32)BPF_CORE_READ(regs, si);
		args[4] = (__u32)BPF_CORE_READ(regs, di);
		args[5] = (__u32)BPF_CORE_READ(regs, bp);
	} else { /* x86_64: rdi, rsi, rdx, r10, r8, r9 */
		args[0] = BPF_CORE_READ(regs, di);
		args[1] = BPF_CORE_READ(regs, si);
		args[2] = BPF_CORE_READ(regs, dx);
		args[3] = BPF_CORE_READ(regs, r10);
		args[4] = BPF_CORE_READ(regs, r8);
		args[5] = BPF_CORE_READ(regs, r9);
	}
	if (call == MT_CALL_OLD_MMAP) { /* the arguments are in user memory */
		__u32 packed[6] = {};
		bpf_probe_read_user(packed, sizeof(packed), (void *)args[0]);
		for (int i = 0; i < 6; ++i)
			args[i] = packed[i];
		call = MT_CALL_MMAP;
	} else if (call == MT_CALL_MMAP2) {
		args[5] <<= 12;
		call = MT_CALL_MMAP;
	}
	if (call == MT_CALL_MMAP && compat)
		args[4] = (__s32)args[4]; /* fd -1 stays -1 */
	return call;
}
