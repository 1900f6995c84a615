// Segments: the names faults are attributed to ("libc.so.6 .text", "heap", "stack:1234", ...).
#pragma once

#include <cstdint>
#include <string>
#include <map>
#include <tuple>
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

// What a mapped file is, whatever its path says: two files are one only when device and inode
// are (a path can be long, cut, reused or name another file in another mount namespace).
struct ObjectKey {
    uint64_t dev = 0, ino = 0;
    bool known() const { return ino != 0; }
    bool operator<(const ObjectKey& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
    bool operator==(const ObjectKey& o) const { return dev == o.dev && ino == o.ino; }
};

struct SegmentInfo {
    SegmentKind kind = SegmentKind::Unmapped;
    std::string label;    // what the user reads, unique: "libc.so.6 .text", "libfoo.so (2) .data"
    std::string object;   // full path of the mapped object or file, when there is one
    std::string section;  // section group for SegmentKind::Section
    ObjectKey key;        // the object's identity, when known
    uint32_t tid = 0;     // owner of a thread stack
};

// Interns segments so that each one is counted in one place, across processes: sections and files
// by the object's identity (device, inode and path), the rest by name. Distinct objects that would
// read alike get distinct labels ("libfoo.so (2) .text").
class SegmentTable {
public:
    static constexpr SegmentId kUnmapped = 0;
    // Bounds: distinct thread stacks (stack:TID), and segments in all; beyond them new ones share
    // "thread stacks" or "<kind> (more than memtrace keeps apart)".
    static constexpr size_t kMaxThreadStacks = 256;
    static constexpr size_t kMaxSegments = 8192;

    SegmentTable();
    // A section group of the object at `path` (identity `key`, when known).
    SegmentId section(const ObjectKey& key, const std::string& path, const std::string& group);
    // A mapped file or shared-memory object that is not split into sections.
    SegmentId of_file(SegmentKind kind, const std::string& name, const ObjectKey& key);
    SegmentId of_kind(SegmentKind kind, const std::string& name = {}, uint32_t tid = 0);

    const SegmentInfo& at(SegmentId id) const { return segments_[id]; }
    size_t size() const { return segments_.size(); }

private:
    SegmentId intern(std::string identity, SegmentInfo info);
    // The name an object is shown by: its base name, made unique among the objects seen.
    const std::string& object_name(const ObjectKey& key, const std::string& path, const std::string& shown);

    std::vector<SegmentInfo> segments_;
    std::unordered_map<std::string, SegmentId> by_identity_;
    std::unordered_map<std::string, int> names_used_;  // shown name -> objects using it so far
    // (identity, path, base name or path) -> the name shown.
    std::map<std::tuple<ObjectKey, std::string, std::string>, std::string> object_names_;
    size_t thread_stacks_ = 0;
};

// "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6"
std::string base_name(const std::string& path);

}  // namespace memtrace
