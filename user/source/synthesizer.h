// Turns what the live side learns outside the ring buffer into records of the stream, placed where
// the model needs them (as perf synthesizes MMAP records from /proc): the layout of a process at
// attach, an object record before the first mapping of each file, an exec layout read from /proc
// when the kernel's walk could not finish, the kernel's counters, resident-memory samples, drained
// overflow tables, the names a JIT gave its code (before the stack samples that need them), the end
// of each interval. It also completes kernel records (a path
// the kernel's walk had to cut, a SysV segment's size). Pure: it asks a ProcessProbe.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <tuple>
#include <string>
#include <unordered_map>
#include <vector>

#include <linux/types.h>

#include "memtrace/events.h"
#include "source/process_probe.h"
#include "stream/record.h"
#include "stream/record_builder.h"

namespace memtrace {

class Synthesizer {
public:
    using Sink = std::function<void(const void* data, size_t size)>;

    Synthesizer(ProcessProbe& probe, Sink sink) : probe_(probe), sink_(std::move(sink)) {}

    void trace_start(uint64_t ts_ns, uint32_t target, uint32_t flags);
    // A running process (-p): its layout and threads from /proc, its kernel counters as the baseline.
    // Throws std::runtime_error when it is gone.
    void attach(uint32_t pid, uint64_t ts_ns);
    // memtrace's own fork, held before exec: it counts from its exec on.
    void attach_launched(uint32_t pid, const std::string& comm, uint64_t stack_limit, uint64_t ts_ns);
    // One ring-buffer record: completed where needed, preceded by what the model needs first.
    void kernel_record(const void* data, size_t size);

    void counters(const mt_counters& counters, uint64_t ts_ns);
    void overflow(std::vector<mt_overflow> pages, uint64_t ts_ns);
    // Resident memory of each live traced process.
    void resident(const std::vector<uint32_t>& pids, uint64_t ts_ns);
    void kernel_final(uint32_t pid, uint64_t faults, uint64_t ts_ns);
    void tick(uint64_t ts_ns, bool final, uint32_t end_reason = 0);

private:
    void emit(const RecordBytes& bytes) { sink_(bytes.data(), bytes.size()); }
    template <typename T>
    void emit_struct(const T& record)
    {
        sink_(&record, sizeof(record));
    }
    // The object record for a file, the first time a mapping of it comes.
    void object_for(const MappedFile& file, uint64_t ts_ns);
    void mapping_record(const Record& r);
    void exec_record(const Record& r);
    void emit_layout(uint32_t pid, const std::vector<MapsEntry>& maps, uint64_t ts_ns);
    // JIT_SYMBOL records for what the process added to its perf map since the last read (at most
    // once in kPerfMapEvery of trace time, unless `final`).
    void jit_symbols(uint32_t pid, uint64_t ts_ns, bool final);

    ProcessProbe& probe_;
    Sink sink_;
    std::set<std::tuple<uint64_t, uint64_t, std::string>> objects_sent_;
    // The kernel's exec-time VMA records of each process, held until its exec record says whether
    // the walk finished (else /proc's layout replaces them).
    std::unordered_map<uint32_t, std::vector<RecordBytes>> exec_layouts_;
    struct PerfMapState {
        uint64_t read_ns = 0;
        std::string partial;  // a line not yet complete
    };
    std::unordered_map<uint32_t, PerfMapState> perf_maps_;
};

}  // namespace memtrace
