// The ProcessProbe of the running system: /proc, the mapped files themselves (read through the
// process's own view of them), shmctl.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
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
    std::string perf_map_appended(uint32_t pid, size_t max_bytes) override;
    void perf_map_done(uint32_t pid) override;
    ~ProcProbe() override;

private:
    // Where a process's perf map is, learnt while it runs (its root directory, its pid as it
    // knows it, its user), so that the map can be opened and read after the process is gone.
    struct PerfMapSource {
        int root_fd = -1;
        uint32_t namespace_pid = 0;
        uint32_t owner = 0;
        int map_fd = -1;
    };
    static constexpr size_t kMaxPerfMaps = 256;  // processes followed at once (two descriptors each)
    std::unordered_map<uint32_t, PerfMapSource> perf_maps_;
};

// The pid a process has in its own pid namespace (the last NSpid of its status; `pid` when that
// cannot be read).
uint32_t namespace_pid(int pid);
// tmp/perf-NSPID.map under `root_fd` (a process's root directory, symlinks resolved inside it), as
// a regular file owned by `owner` or root (anyone may create files in /tmp): -1 when there is none.
int open_perf_map(int root_fd, uint32_t nspid, uint32_t owner);

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
