// The one place where bytes of the record stream become typed records. Every size is checked here,
// for the kernel's records and for the ones memtrace's user space adds alike; nothing downstream
// reads raw bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>

#include "memtrace/events.h"

namespace memtrace {

// Smallest size a record of `type` may have; 0 for an unknown type.
size_t record_min_size(uint16_t type);
// "fault", "mmap", "tick", ...; "unknown" for an unknown type.
const char* record_type_name(uint16_t type);

// A record whose size has been checked for its type. It points into the caller's bytes: valid as
// long as they are (the ring buffer's sample, or the trace file's block).
class Record {
public:
    uint16_t type() const { return header_.type; }
    const mt_header& header() const { return header_; }
    const void* data() const { return data_; }
    size_t size() const { return size_; }

    // The fixed part as its struct, copied out (ring-buffer bytes need not be aligned for it).
    template <typename T>
    T as() const
    {
        if (sizeof(T) > size_)
            throw std::logic_error("record read as a larger struct than its type allows");
        T value;
        std::memcpy(&value, data_, sizeof(T));
        return value;
    }

private:
    friend std::optional<Record> decode_record(const void* data, size_t size);
    Record(const mt_header& header, const void* data, size_t size)
        : header_(header), data_(static_cast<const unsigned char*>(data)), size_(size)
    {
    }
    mt_header header_;
    const unsigned char* data_;
    size_t size_;
};

// nullopt when the bytes are not a well-formed record: too short for the header or for the type,
// an unknown type, or a variable part that does not fit.
std::optional<Record> decode_record(const void* data, size_t size);

// MT_REC_MMAP and MT_REC_VMA, with the path made whole.
struct MmapRecord {
    mt_header hdr;
    uint64_t addr = 0, len = 0, pgoff = 0, ino = 0;
    uint32_t dev = 0, prot = 0, mflags = 0;
    int32_t fd = -1;
    uint16_t path_flags = 0;
    std::string path;  // "/usr/lib/libc.so.6"; empty for anonymous memory
};
MmapRecord mmap_of(const Record& r);

// "/usr/lib/libc.so.6" from mt_mmap.path's leaf-first components "libc.so.6\0lib\0usr\0".
std::string path_from_components(const char* buf, size_t len);

// MT_REC_STACK_SAMPLE with its stack bytes.
struct StackSampleRecord {
    mt_stack_sample fixed;
    std::vector<uint8_t> stack;  // from fixed.regs[7] (sp) up
};
StackSampleRecord stack_sample_of(const Record& r);

// MT_REC_JIT_SYMBOL with its name.
struct JitSymbolRecord {
    mt_jit_symbol fixed;
    std::string name;
};
JitSymbolRecord jit_symbol_of(const Record& r);

// MT_REC_CGROUP with its path.
struct CgroupRecord {
    uint64_t id = 0;
    std::string path;
};
CgroupRecord cgroup_of(const Record& r);

}  // namespace memtrace
