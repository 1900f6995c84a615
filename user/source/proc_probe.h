// The ProcessProbe of the running system: /proc, the mapped files themselves (read through the
// process's own view of them), shmctl.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "source/process_probe.h"

namespace memtrace {

class ProcProbe : public ProcessProbe {
public:
    std::vector<MapsEntry> maps(uint32_t pid) override;
    ObjectInfo object(const MappedFile& file) override;
    uint64_t shm_size(int64_t shmid) override;
    std::optional<ProcessFacts> facts(uint32_t pid) override;
    std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(uint32_t pid) override;
    std::optional<ResidentPages> resident(uint32_t pid) override;
    uint64_t stack_limit(uint32_t pid) override;
};

struct ProcStat {
    std::string comm;
    char state = '?';
    uint64_t flags = 0;
    uint64_t minflt = 0, majflt = 0;
};

// Fields of /proc/PID/stat; throws std::runtime_error when the process does not exist.
ProcStat read_proc_stat(int pid);
// Throws std::runtime_error unless `pid` is a live user-space process (not a thread id, not a
// kernel thread, not a zombie).
void check_traceable_pid(int pid);
// The soft RLIMIT_STACK of a process (8 MiB when unlimited or unreadable).
uint64_t stack_limit_of(int pid);
// Stack pointers of the threads of `pid` that are blocked in a syscall, from /proc/PID/task/*/syscall.
std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(int pid);

}  // namespace memtrace
