// Builds the records memtrace's user space adds to the stream (and rewrites kernel ones it
// completes): the inverse of stream/record.h, kept next to it so that both agree on every layout.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <linux/types.h>

#include "memtrace/events.h"
#include "model/maps_parser.h"
#include "model/object_table.h"
#include "stream/record.h"

namespace memtrace {

using RecordBytes = std::vector<unsigned char>;

// The bytes of a fixed-size record struct.
template <typename T>
RecordBytes bytes_of(const T& record)
{
    RecordBytes out(sizeof(T));
    std::memcpy(out.data(), &record, sizeof(T));
    return out;
}

// A header with the given type, process and time (tid = tgid, cpu 0, no flags).
mt_header header(uint16_t type, uint32_t tgid, uint64_t ts_ns);

// MT_REC_MMAP or MT_REC_VMA (by m.hdr.type) with m.path encoded as leaf-first components: as long
// as the path needs (up to 64 KiB), not MT_FILE_PATH_LEN.
RecordBytes mmap_record(const MmapRecord& m);
// One mapping of /proc/PID/maps as an MT_REC_VMA record.
RecordBytes vma_record(uint32_t pid, uint64_t ts_ns, const MapsEntry& e);

RecordBytes attach_record(uint32_t pid, uint64_t ts_ns, const std::string& comm, uint64_t stack_limit,
                          uint32_t flags, uint64_t kernel_faults = 0);
RecordBytes object_record(uint64_t ts_ns, const ObjectInfo& object);
RecordBytes stack_sample_record(const mt_stack_sample& fixed, const std::vector<uint8_t>& stack);
RecordBytes jit_symbol_record(uint32_t pid, uint64_t ts_ns, uint64_t start, uint64_t size, const std::string& name);
RecordBytes cgroup_record(uint64_t ts_ns, uint64_t id, const std::string& path);

// The object an MT_REC_OBJECT record describes (decode_record checked that its parts fit).
ObjectInfo object_of(const Record& r);

}  // namespace memtrace
