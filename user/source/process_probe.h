// What the live side asks the running system about a traced process: its layout, the files it
// mapped, its counters. ProcProbe (source/proc_probe.h) answers from /proc; unit tests answer with
// fixtures. Only the synthesizer asks, and it turns every answer into records of the stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/maps_parser.h"
#include "model/object_table.h"
#include "source/proc_status.h"

namespace memtrace {

// A file as one process mapped it.
struct MappedFile {
    uint32_t pid = 0;
    std::string path;          // as the record names it (possibly another mount namespace's)
    uint64_t dev = 0, ino = 0; // kernel encoding of dev
    uint64_t start = 0, end = 0;
};

struct ProcessFacts {
    std::string comm;
    std::optional<uint64_t> faults;  // minflt + majflt, when the kernel's counters could be read
};

class ProcessProbe {
public:
    virtual ~ProcessProbe() = default;
    // Throws std::runtime_error when the process is gone.
    virtual std::vector<MapsEntry> maps(uint32_t pid) = 0;
    // The identity and ELF layout of the file the process mapped (never a file of the same name
    // that is not it: readable = false then).
    virtual ObjectInfo object(const MappedFile& file) = 0;
    virtual uint64_t shm_size(int64_t shmid) = 0;
    virtual std::optional<ProcessFacts> facts(uint32_t pid) = 0;
    // Stack pointers of the threads that are blocked in a system call.
    virtual std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(uint32_t pid) = 0;
    virtual std::optional<ResidentPages> resident(uint32_t pid) = 0;
    virtual uint64_t stack_limit(uint32_t pid) = 0;
    // What the process's JIT appended to its perf map (/tmp/perf-PID.map as the process sees it)
    // since the last call, at most `max_bytes`; empty when there is none, or it is not the
    // process's own. Kept open, so that what a process wrote can be read after it is gone.
    virtual std::string perf_map_appended(uint32_t pid, size_t max_bytes) = 0;
    // The process is gone and its map read: let it go.
    virtual void perf_map_done(uint32_t pid) = 0;
};

}  // namespace memtrace
