// A live process's resident memory from /proc/PID/status, sampled once an interval.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace memtrace {

// Pages, as the kernel counts them (its per-CPU batched counters, like ps and top show).
struct ResidentPages {
    int64_t anon = 0, file = 0, shmem = 0, swap = 0;
    // The kernel's high-water mark of anon + file + shmem (VmHWM): raised before every unmap and at
    // exit, so a peak given back by munmap, brk or exit is kept; one given back by MADV_DONTNEED
    // or reclaim between two samples is not.
    int64_t peak = 0;

    int64_t resident() const { return anon + file + shmem; }
};

// RssAnon, RssFile, RssShmem, VmSwap and VmHWM of a status text; nullopt when one is missing or
// malformed (a kernel thread, a zombie, not a status file).
std::optional<ResidentPages> parse_proc_status(std::string_view text);

// nullopt when the process is gone or its status has no memory lines.
std::optional<ResidentPages> read_resident_pages(int pid);

}  // namespace memtrace
