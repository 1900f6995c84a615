// Pins the layout of the records shared with the BPF programs (include/memtrace/events.h): a change
// here means the BPF object and the loader disagree unless both are rebuilt, and that records
// saved by an older build no longer decode.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <linux/types.h>

#include "memtrace/events.h"

#include <gtest/gtest.h>

namespace {

// Compile-time invariants: every record starts with the 24-byte header, 64-bit fields are 8-byte
// aligned (the BPF target and x86-64 agree on that only when it holds), sizes are multiples of 8.
static_assert(sizeof(mt_header) == 24, "mt_header is 24 bytes");
static_assert(offsetof(mt_header, ts_ns) % 8 == 0, "mt_header.ts_ns 8-byte aligned");
#define MT_STARTS_WITH_HEADER(T)                                                    \
    static_assert(std::is_standard_layout<T>::value, #T " is standard layout");    \
    static_assert(offsetof(T, hdr) == 0, #T " starts with mt_header");             \
    static_assert(std::is_same<decltype(T::hdr), mt_header>::value, #T ".hdr");   \
    static_assert(sizeof(T) % 8 == 0, #T " size is a multiple of 8");              \
    static_assert(alignof(T) == 8, #T " is 8-byte aligned")
MT_STARTS_WITH_HEADER(mt_fault);
MT_STARTS_WITH_HEADER(mt_major);
MT_STARTS_WITH_HEADER(mt_mmap);
MT_STARTS_WITH_HEADER(mt_munmap);
MT_STARTS_WITH_HEADER(mt_mremap);
MT_STARTS_WITH_HEADER(mt_mprotect);
MT_STARTS_WITH_HEADER(mt_brk);
MT_STARTS_WITH_HEADER(mt_shmat);
MT_STARTS_WITH_HEADER(mt_exec);
MT_STARTS_WITH_HEADER(mt_fork);
MT_STARTS_WITH_HEADER(mt_exit);
MT_STARTS_WITH_HEADER(mt_trace_start);
MT_STARTS_WITH_HEADER(mt_attach);
MT_STARTS_WITH_HEADER(mt_object);
MT_STARTS_WITH_HEADER(mt_counters);
MT_STARTS_WITH_HEADER(mt_overflow);
MT_STARTS_WITH_HEADER(mt_stack_sample);
MT_STARTS_WITH_HEADER(mt_jit_symbol);
MT_STARTS_WITH_HEADER(mt_process_counts);
MT_STARTS_WITH_HEADER(mt_cgroup);
MT_STARTS_WITH_HEADER(mt_latency);
MT_STARTS_WITH_HEADER(mt_rss);
MT_STARTS_WITH_HEADER(mt_kernel_final);
MT_STARTS_WITH_HEADER(mt_tick);
#undef MT_STARTS_WITH_HEADER

#define MT_ALIGNED8(T, f) static_assert(offsetof(T, f) % 8 == 0, #T "." #f " is 8-byte aligned")
MT_ALIGNED8(mt_fault, addr);
MT_ALIGNED8(mt_fault, ip);
MT_ALIGNED8(mt_major, addr);
MT_ALIGNED8(mt_mmap, addr);
MT_ALIGNED8(mt_mmap, len);
MT_ALIGNED8(mt_mmap, pgoff);
MT_ALIGNED8(mt_mmap, ino);
MT_ALIGNED8(mt_munmap, addr);
MT_ALIGNED8(mt_munmap, len);
MT_ALIGNED8(mt_mremap, old_addr);
MT_ALIGNED8(mt_mremap, old_len);
MT_ALIGNED8(mt_mremap, new_addr);
MT_ALIGNED8(mt_mremap, new_len);
MT_ALIGNED8(mt_mremap, mflags);
MT_ALIGNED8(mt_mprotect, addr);
MT_ALIGNED8(mt_mprotect, len);
MT_ALIGNED8(mt_mprotect, prot);
MT_ALIGNED8(mt_brk, start_brk);
MT_ALIGNED8(mt_brk, old_brk);
MT_ALIGNED8(mt_brk, new_brk);
MT_ALIGNED8(mt_shmat, addr);
MT_ALIGNED8(mt_shmat, size);
MT_ALIGNED8(mt_shmat, shmid);
MT_ALIGNED8(mt_exec, start_brk);
MT_ALIGNED8(mt_exec, start_stack);
MT_ALIGNED8(mt_exec, minflt);
MT_ALIGNED8(mt_exec, majflt);
MT_ALIGNED8(mt_fork, child_sp);
MT_ALIGNED8(mt_exit, minflt);
MT_ALIGNED8(mt_exit, majflt);
MT_ALIGNED8(mt_exit, rss_peak_pages);
#undef MT_ALIGNED8

TEST(EventsLayout, Constants)
{
    EXPECT_EQ(MT_COMM_LEN, 16);
    EXPECT_EQ(MT_PATH_LEN, 256);
    EXPECT_EQ(MT_FILE_PATH_LEN, 4352);
    EXPECT_EQ(MT_COMPONENT_MAX, 256);
    EXPECT_EQ(MT_PATH_TRUNCATED, 1);
    EXPECT_EQ(MT_VMA_STACK, 2);
    EXPECT_EQ(MT_VMA_HEAP, 4);
    EXPECT_EQ(MT_VMA_VDSO, 8);
    EXPECT_EQ(MT_VMA_VVAR, 16);
    EXPECT_EQ(MT_EXEC_LAYOUT_COMPLETE, 1);
}

TEST(EventsLayout, RecordTypeValues)
{
    EXPECT_EQ(MT_REC_FAULT, 1);
    EXPECT_EQ(MT_REC_MAJOR, 2);
    EXPECT_EQ(MT_REC_MMAP, 3);
    EXPECT_EQ(MT_REC_MUNMAP, 4);
    EXPECT_EQ(MT_REC_MREMAP, 5);
    EXPECT_EQ(MT_REC_MPROTECT, 6);
    EXPECT_EQ(MT_REC_BRK, 7);
    EXPECT_EQ(MT_REC_SHMAT, 8);
    EXPECT_EQ(MT_REC_SHMDT, 9);
    EXPECT_EQ(MT_REC_EXEC, 10);
    EXPECT_EQ(MT_REC_FORK, 11);
    EXPECT_EQ(MT_REC_THREAD, 12);
    EXPECT_EQ(MT_REC_EXIT, 13);
    EXPECT_EQ(MT_REC_EXEC_BEGIN, 14);
    EXPECT_EQ(MT_REC_EXEC_FAILED, 15);
    EXPECT_EQ(MT_REC_VMA, 16);
    EXPECT_EQ(MT_REC_FAULT_DONE, 17);
    EXPECT_EQ(MT_REC_SIGNAL, 18);
    EXPECT_EQ(MT_REC_RESYNC, 19);
    EXPECT_EQ(MT_REC_UNTRACED, 20);
    EXPECT_EQ(MT_REC_STACK_SAMPLE, 21);
    EXPECT_EQ(MT_REC_KERNEL_TYPE_MAX, 22);
    // memtrace's own records, which trace files hold too: their numbers are part of the format.
    EXPECT_EQ(MT_REC_TRACE_START, 64);
    EXPECT_EQ(MT_REC_ATTACH, 65);
    EXPECT_EQ(MT_REC_OBJECT, 66);
    EXPECT_EQ(MT_REC_COUNTERS, 67);
    EXPECT_EQ(MT_REC_OVERFLOW, 68);
    EXPECT_EQ(MT_REC_JIT_SYMBOL, 69);
    EXPECT_EQ(MT_REC_RSS, 70);
    EXPECT_EQ(MT_REC_KERNEL_FINAL, 71);
    EXPECT_EQ(MT_REC_TICK, 72);
    EXPECT_EQ(MT_REC_LAYOUT, 73);
    EXPECT_EQ(MT_REC_PROCESS_COUNTS, 74);
    EXPECT_EQ(MT_REC_CGROUP, 75);
    EXPECT_EQ(MT_REC_LATENCY, 76);
    EXPECT_EQ(MT_REC_TYPE_MAX, 77);
}

TEST(EventsLayout, UserSpaceRecords)
{
    EXPECT_EQ(sizeof(mt_trace_start), 32u);
    EXPECT_EQ(sizeof(mt_attach), 64u);
    EXPECT_EQ(offsetof(mt_attach, comm), 48u);
    EXPECT_EQ(sizeof(mt_object), 104u);
    EXPECT_EQ(offsetof(mt_object, flags), 56u);
    EXPECT_EQ(offsetof(mt_object, build_id), 72u);
    EXPECT_EQ(sizeof(mt_object_load), 40u);
    EXPECT_EQ(sizeof(mt_object_section), 24u);
    EXPECT_EQ(sizeof(mt_counters), 24u + 8 * MT_CNT_MAX);
    EXPECT_EQ(sizeof(mt_overflow), 80u);
    EXPECT_EQ(sizeof(mt_jit_symbol), 48u);
    // Counting in the kernel (-a, exporter): the map values and the records built from them.
    EXPECT_EQ(MT_KINDS, 13);
    EXPECT_EQ(sizeof(mt_kind_counts), 8u * MT_KINDS * 4);
    EXPECT_EQ(sizeof(mt_process_info), 72u);
    EXPECT_EQ(offsetof(mt_process_counts, counts), 80u);
    EXPECT_EQ(sizeof(mt_cgroup), 40u);
    EXPECT_EQ(sizeof(mt_latency), 24u + 8 * 2 * MT_LATENCY_BUCKETS + 16);
    EXPECT_EQ(sizeof(mt_rss), 64u);
    EXPECT_EQ(sizeof(mt_kernel_final), 32u);
    EXPECT_EQ(sizeof(mt_tick), 32u);
}

TEST(EventsLayout, FlagAndCounterValues)
{
    EXPECT_EQ(MT_FAULT_PROTECTION, 0x1);
    EXPECT_EQ(MT_FAULT_WRITE, 0x2);
    EXPECT_EQ(MT_FAULT_USER, 0x4);
    EXPECT_EQ(MT_FAULT_INSTR, 0x10);
    EXPECT_EQ(MT_FAULT_KERNEL_MODE, 0x100);
    EXPECT_EQ(MT_CNT_FAULTS, 0);
    EXPECT_EQ(MT_CNT_MAJOR, 1);
    EXPECT_EQ(MT_CNT_DROPPED, 2);
    EXPECT_EQ(MT_CNT_STACKS_LOST, 3);
    EXPECT_EQ(MT_CNT_OVERFLOW, 4);
    EXPECT_EQ(MT_CNT_OVERFLOW_LOST, 5);
    EXPECT_EQ(MT_CNT_MAX, 6);
    EXPECT_EQ(sizeof(mt_overflow_key), 16u);
    EXPECT_EQ(sizeof(mt_overflow_count), 48u);
    EXPECT_EQ(sizeof(mt_untraced), 40u);
    EXPECT_EQ(MT_DONE_MAJOR, 1);
}

TEST(EventsLayout, ForensicsRecords)
{
    EXPECT_EQ(sizeof(mt_signal), 80u);
    EXPECT_EQ(offsetof(mt_signal, signo), 24u);
    EXPECT_EQ(offsetof(mt_signal, addr), 32u);
    EXPECT_EQ(offsetof(mt_signal, error_code), 56u);
    EXPECT_EQ(offsetof(mt_signal, sender_tgid), 72u);
    EXPECT_EQ(sizeof(mt_stack_sample), 192u);
    EXPECT_EQ(offsetof(mt_stack_sample, weight), 32u);
    EXPECT_EQ(offsetof(mt_stack_sample, regs), 48u);
    EXPECT_EQ(MT_SAMPLE_REGS, 17);
    EXPECT_EQ(MT_SAMPLE_FAULT_STACK, 8192);
    EXPECT_EQ(MT_SAMPLE_STACK_MAX, 32768);
}

TEST(EventsLayout, Header)
{
    EXPECT_EQ(sizeof(mt_header), 24u);
    EXPECT_EQ(offsetof(mt_header, type), 0u);
    EXPECT_EQ(offsetof(mt_header, flags), 2u);
    EXPECT_EQ(offsetof(mt_header, tgid), 4u);
    EXPECT_EQ(offsetof(mt_header, tid), 8u);
    EXPECT_EQ(offsetof(mt_header, cpu), 12u);
    EXPECT_EQ(offsetof(mt_header, ts_ns), 16u);
    EXPECT_EQ(sizeof(mt_header::type), 2u);
    EXPECT_EQ(sizeof(mt_header::flags), 2u);
}

TEST(EventsLayout, Fault)
{
    EXPECT_EQ(sizeof(mt_fault), 40u);
    EXPECT_EQ(offsetof(mt_fault, hdr), 0u);
    EXPECT_EQ(offsetof(mt_fault, addr), 24u);
    EXPECT_EQ(offsetof(mt_fault, ip), 32u);
}

TEST(EventsLayout, Major)
{
    EXPECT_EQ(sizeof(mt_major), 32u);
    EXPECT_EQ(offsetof(mt_major, hdr), 0u);
    EXPECT_EQ(offsetof(mt_major, addr), 24u);
}

TEST(EventsLayout, Mmap)
{
    EXPECT_EQ(sizeof(mt_mmap), 4432u);  // the most a record may hold: it is sent as long as its path
    EXPECT_EQ(offsetof(mt_mmap, hdr), 0u);
    EXPECT_EQ(offsetof(mt_mmap, addr), 24u);
    EXPECT_EQ(offsetof(mt_mmap, len), 32u);
    EXPECT_EQ(offsetof(mt_mmap, pgoff), 40u);
    EXPECT_EQ(offsetof(mt_mmap, ino), 48u);
    EXPECT_EQ(offsetof(mt_mmap, dev), 56u);
    EXPECT_EQ(offsetof(mt_mmap, prot), 60u);
    EXPECT_EQ(offsetof(mt_mmap, mflags), 64u);
    EXPECT_EQ(offsetof(mt_mmap, fd), 68u);
    EXPECT_EQ(offsetof(mt_mmap, path_len), 72u);
    EXPECT_EQ(offsetof(mt_mmap, path_flags), 74u);
    EXPECT_EQ(offsetof(mt_mmap, pad), 76u);
    EXPECT_EQ(offsetof(mt_mmap, path), 80u);
    EXPECT_EQ(sizeof(mt_mmap::path), 4352u);
}

TEST(EventsLayout, Munmap)
{
    EXPECT_EQ(sizeof(mt_munmap), 48u);
    EXPECT_EQ(offsetof(mt_munmap, enter_ns), 40u);
    EXPECT_EQ(offsetof(mt_munmap, hdr), 0u);
    EXPECT_EQ(offsetof(mt_munmap, addr), 24u);
    EXPECT_EQ(offsetof(mt_munmap, len), 32u);
}

TEST(EventsLayout, Mremap)
{
    EXPECT_EQ(sizeof(mt_mremap), 64u);
    EXPECT_EQ(offsetof(mt_mremap, hdr), 0u);
    EXPECT_EQ(offsetof(mt_mremap, old_addr), 24u);
    EXPECT_EQ(offsetof(mt_mremap, old_len), 32u);
    EXPECT_EQ(offsetof(mt_mremap, new_addr), 40u);
    EXPECT_EQ(offsetof(mt_mremap, new_len), 48u);
    EXPECT_EQ(offsetof(mt_mremap, mflags), 56u);
}

TEST(EventsLayout, Mprotect)
{
    EXPECT_EQ(sizeof(mt_mprotect), 48u);
    EXPECT_EQ(offsetof(mt_mprotect, hdr), 0u);
    EXPECT_EQ(offsetof(mt_mprotect, addr), 24u);
    EXPECT_EQ(offsetof(mt_mprotect, len), 32u);
    EXPECT_EQ(offsetof(mt_mprotect, prot), 40u);
}

TEST(EventsLayout, Brk)
{
    EXPECT_EQ(sizeof(mt_brk), 48u);
    EXPECT_EQ(offsetof(mt_brk, hdr), 0u);
    EXPECT_EQ(offsetof(mt_brk, start_brk), 24u);
    EXPECT_EQ(offsetof(mt_brk, old_brk), 32u);
    EXPECT_EQ(offsetof(mt_brk, new_brk), 40u);
}

TEST(EventsLayout, Shmat)
{
    EXPECT_EQ(sizeof(mt_shmat), 48u);
    EXPECT_EQ(offsetof(mt_shmat, hdr), 0u);
    EXPECT_EQ(offsetof(mt_shmat, addr), 24u);
    EXPECT_EQ(offsetof(mt_shmat, size), 32u);
    EXPECT_EQ(offsetof(mt_shmat, shmid), 40u);
}

TEST(EventsLayout, Exec)
{
    EXPECT_EQ(sizeof(mt_exec), 328u);
    EXPECT_EQ(offsetof(mt_exec, hdr), 0u);
    EXPECT_EQ(offsetof(mt_exec, start_brk), 24u);
    EXPECT_EQ(offsetof(mt_exec, start_stack), 32u);
    EXPECT_EQ(offsetof(mt_exec, minflt), 40u);
    EXPECT_EQ(offsetof(mt_exec, majflt), 48u);
    EXPECT_EQ(offsetof(mt_exec, comm), 56u);
    EXPECT_EQ(offsetof(mt_exec, filename), 72u);
    EXPECT_EQ(sizeof(mt_exec::comm), 16u);
    EXPECT_EQ(sizeof(mt_exec::filename), 256u);
}

TEST(EventsLayout, Fork)
{
    EXPECT_EQ(sizeof(mt_fork), 40u);
    EXPECT_EQ(offsetof(mt_fork, hdr), 0u);
    EXPECT_EQ(offsetof(mt_fork, child_tgid), 24u);
    EXPECT_EQ(offsetof(mt_fork, child_tid), 28u);
    EXPECT_EQ(offsetof(mt_fork, child_sp), 32u);
}

TEST(EventsLayout, Exit)
{
    EXPECT_EQ(sizeof(mt_exit), 56u);
    EXPECT_EQ(offsetof(mt_exit, hdr), 0u);
    EXPECT_EQ(offsetof(mt_exit, minflt), 24u);
    EXPECT_EQ(offsetof(mt_exit, majflt), 32u);
    EXPECT_EQ(offsetof(mt_exit, exit_code), 40u);
    EXPECT_EQ(offsetof(mt_exit, pad), 44u);
    EXPECT_EQ(offsetof(mt_exit, rss_peak_pages), 48u);
}

}  // namespace
