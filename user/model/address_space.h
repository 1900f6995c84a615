// The mapping model of one process: which region covers each address, kept exact by the
// mapping records (mmap, munmap, mremap, mprotect, brk, shmat, exec) so that a fault is attributed
// to the mapping it hit even when that mapping is gone by the time userspace sees the fault.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/elf_image.h"
#include "model/maps_parser.h"
#include "model/object_table.h"
#include "model/segments.h"

namespace memtrace {

enum class RegionKind : uint8_t { Anon, File, Heap, Stack, Shm, Special };

struct Region {
    uint64_t start = 0, end = 0;
    RegionKind kind = RegionKind::Anon;
    bool read = false, write = false, exec = false, shared = false;
    bool thread_stack = false;  // mapped with MAP_STACK, or found holding a thread's stack pointer
    uint32_t tid = 0;           // the thread whose stack it is, when known
    uint64_t offset = 0;        // file offset of `start`
    uint64_t dev = 0;           // of the file, kernel encoding (see kernel_dev())
    uint64_t inode = 0;         // of the file; for SysV shared memory the kernel shows the shmid here
    std::string path;           // file path, or the kernel's name ([vdso], /dev/zero (deleted)...)

    // Derived by AddressSpace::classify(): what each address of the region is attributed to.
    struct Span {
        uint64_t start, end;
        SegmentId segment;
    };
    SegmentId segment = SegmentTable::kUnmapped;  // for addresses in no span
    std::vector<Span> spans;                      // ELF section groups, sorted, runtime addresses
    std::shared_ptr<const ElfImage> elf;
    uint64_t bias = 0;  // runtime address = link-time address + bias
    mutable uint32_t code_module = 0;  // TraceState's id of `path` as a code module, 0 until asked
    uint64_t mapped_ns = 0;  // when the mmap that made it returned (0: from a snapshot)

    SegmentId segment_at(uint64_t addr) const;
};

class AddressSpace {
public:
    // ELF layouts come from `objects` (filled by the trace's MT_REC_OBJECT records), by the
    // mapped file's device and inode.
    AddressSpace(SegmentTable& segments, const ObjectTable& objects) : segments_(segments), objects_(objects) {}
    // fork() copies the address space; the lookup cache points into the original, so drop it.
    AddressSpace(const AddressSpace& other)
        : segments_(other.segments_), objects_(other.objects_), regions_(other.regions_),
          start_brk_(other.start_brk_), brk_(other.brk_), stack_top_(other.stack_top_),
          stack_limit_(other.stack_limit_), stack_segment_(other.stack_segment_)
    {
    }
    AddressSpace& operator=(const AddressSpace&) = delete;

    // Replaces the whole model with a /proc/PID/maps snapshot.
    void load_snapshot(const std::vector<MapsEntry>& maps, uint64_t start_brk, uint64_t stack_limit);

    // Mapping changes, in the order the kernel made them.
    void map(Region region);
    // `started_ns`: when the munmap call began (CLOCK_MONOTONIC); regions mapped by calls that
    // returned after that are newer than this unmap and stay.
    void unmap(uint64_t start, uint64_t len, uint64_t started_ns = ~0ULL);
    void protect(uint64_t start, uint64_t len, uint32_t prot);
    // `mapped_ns`: when the call returned, stamped on what it put at new addresses (see unmap()).
    void remap(uint64_t old_start, uint64_t old_len, uint64_t new_start, uint64_t new_len, bool keep_old,
               uint64_t mapped_ns = 0);
    void set_brk(uint64_t start_brk, uint64_t brk);
    void label_thread_stack(uint64_t sp, uint32_t tid);
    void clear();

    // The segment an address belongs to now.
    SegmentId segment_of(uint64_t addr) const;
    const Region* region_of(uint64_t addr) const;
    // Same, with a cache of its own: instruction pointers come in runs on one region too, but not
    // the one the data addresses hit.
    const Region* code_region_of(uint64_t ip) const;
    // The nearest region wholly above / below `addr` (for explaining an access to a hole).
    const Region* region_above(uint64_t addr) const;
    const Region* region_below(uint64_t addr) const;
    uint64_t stack_limit() const { return stack_limit_; }

    uint64_t start_brk() const { return start_brk_; }
    uint64_t brk() const { return brk_; }
    uint64_t stack_top() const { return stack_top_; }
    const std::map<uint64_t, Region>& regions() const { return regions_; }

private:
    void clear_range(uint64_t start, uint64_t end);
    void split_at(uint64_t addr);
    void classify(Region& region, const Region* previous);
    // The object whose PT_LOAD span holds `addr` (its .bss may be a mapping of its own, not next
    // to its file pages), looked for among the regions just below.
    const Region* object_spanning(uint64_t addr, const Region* previous) const;
    void reclassify_from(std::map<uint64_t, Region>::iterator it);

    SegmentTable& segments_;
    const ObjectTable& objects_;
    std::map<uint64_t, Region> regions_;
    uint64_t start_brk_ = 0, brk_ = 0;
    uint64_t stack_top_ = 0, stack_limit_ = 8 << 20;
    SegmentId stack_segment_ = SegmentTable::kUnmapped;
    // The region holding `addr`, trying `cache` (one of the two below) first and updating it.
    const Region* cached_lookup(uint64_t addr, const Region*& cache) const;
    void forget_lookups()
    {
        last_hit_ = nullptr;
        last_code_hit_ = nullptr;
    }
    mutable const Region* last_hit_ = nullptr;  // faults come in runs on one region
    mutable const Region* last_code_hit_ = nullptr;
};

// Region built from a /proc/PID/maps line.
Region region_from_maps(const MapsEntry& e);

}  // namespace memtrace
