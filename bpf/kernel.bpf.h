// SPDX-License-Identifier: GPL-2.0
/* What both of memtrace's BPF objects use of the kernel: the iterator kfuncs, and constants. */
#pragma once

/* Highest user address on x86_64 (TASK_SIZE_MAX with 4-level paging is lower; 5-level is higher). */
#define MT_USER_ADDR_MAX 0x00ffffffffffffffULL
#define MT_RLIMIT_STACK 3
#define MT_ENOENT 2

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, __u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;
