// Segments: the names faults are attributed to ("libc.so.6 .text", "heap", "stack:1234", ...).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memtrace {

enum class SegmentKind : uint8_t {
    Unmapped,     // a fault on no mapping
    Section,      // an ELF section group of a mapped object (executable or library)
    Heap,         // the brk area
    Stack,        // the main thread's stack
    ThreadStack,  // a thread's stack (glibc maps them with MAP_STACK)
    Anon,         // private anonymous mmap
    File,         // a mapped file that is not ELF
    Shm,          // shared memory: MAP_SHARED|MAP_ANONYMOUS, memfd, SysV, /dev/shm
    Special,      // [vdso], [vvar], [vsyscall]
};

const char* kind_name(SegmentKind kind);

using SegmentId = uint32_t;

struct SegmentInfo {
    SegmentKind kind = SegmentKind::Unmapped;
    std::string label;    // what the user reads
    std::string object;   // path of the mapped object, when there is one
    std::string section;  // section group for SegmentKind::Section
    uint32_t tid = 0;     // owner of a thread stack
};

// Interns segments by label so each one is counted in one place, across processes.
class SegmentTable {
public:
    static constexpr SegmentId kUnmapped = 0;
    // Bounds: distinct thread stacks (stack:TID), and segments in all; beyond them new ones share
    // "thread stacks" or "<kind> (more than memtrace keeps apart)".
    static constexpr size_t kMaxThreadStacks = 256;
    static constexpr size_t kMaxSegments = 8192;

    SegmentTable();
    SegmentId section(const std::string& object, const std::string& group);
    SegmentId of_kind(SegmentKind kind, const std::string& name = {}, uint32_t tid = 0);

    const SegmentInfo& at(SegmentId id) const { return segments_[id]; }
    size_t size() const { return segments_.size(); }

private:
    SegmentId intern(SegmentInfo info);
    std::vector<SegmentInfo> segments_;
    std::unordered_map<std::string, SegmentId> by_label_;
    size_t thread_stacks_ = 0;
};

// "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6"
std::string base_name(const std::string& path);

}  // namespace memtrace
