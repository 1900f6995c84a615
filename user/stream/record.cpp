#include "stream/record.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace memtrace {
namespace {

constexpr size_t kMmapFixed = offsetof(mt_mmap, path);

template <typename T>
T load(const void* data)
{
    T value;
    std::memcpy(&value, data, sizeof(T));
    return value;
}

size_t padded8(size_t n) { return (n + 7) & ~size_t{7}; }

// The variable part of an object record fits the bytes it came in.
bool object_fits(const unsigned char* data, size_t size)
{
    const auto o = load<mt_object>(data);
    if (o.build_id_len > MT_BUILD_ID_MAX)
        return false;
    size_t at = sizeof(mt_object) + size_t{o.nr_loads} * sizeof(mt_object_load);
    for (unsigned i = 0; i < o.nr_sections; ++i) {
        if (at + sizeof(mt_object_section) > size)
            return false;
        const auto s = load<mt_object_section>(data + at);
        at += sizeof(mt_object_section) + padded8(s.name_len);
    }
    return at + o.path_len <= size;
}

bool stack_sample_fits(const unsigned char* data, size_t size)
{
    const auto s = load<mt_stack_sample>(data);
    return s.stack_len <= MT_SAMPLE_STACK_MAX && s.stack_len <= size - sizeof(mt_stack_sample) &&
           s.kind < MT_STACK_KINDS;
}

bool cgroup_fits(const unsigned char* data, size_t size)
{
    const auto c = load<mt_cgroup>(data);
    return c.path_len <= size - sizeof(mt_cgroup) && c.path_len <= 4096;
}

bool jit_symbol_fits(const unsigned char* data, size_t size)
{
    const auto j = load<mt_jit_symbol>(data);
    return j.name_len <= size - sizeof(mt_jit_symbol);
}

}  // namespace

size_t record_min_size(uint16_t type)
{
    switch (type) {
    case MT_REC_FAULT: return sizeof(mt_fault);
    case MT_REC_MAJOR:
    case MT_REC_FAULT_DONE: return sizeof(mt_major);
    case MT_REC_SIGNAL: return sizeof(mt_signal);
    case MT_REC_MMAP:
    case MT_REC_VMA: return kMmapFixed;  // the path is as long as path_len says
    case MT_REC_MUNMAP:
    case MT_REC_RESYNC: return sizeof(mt_munmap);
    case MT_REC_UNTRACED: return sizeof(mt_untraced);
    case MT_REC_MREMAP: return sizeof(mt_mremap);
    case MT_REC_MPROTECT: return sizeof(mt_mprotect);
    case MT_REC_BRK: return sizeof(mt_brk);
    case MT_REC_SHMAT:
    case MT_REC_SHMDT: return sizeof(mt_shmat);
    case MT_REC_EXEC: return sizeof(mt_exec);
    case MT_REC_FORK:
    case MT_REC_THREAD: return sizeof(mt_fork);
    case MT_REC_EXIT: return sizeof(mt_exit);
    case MT_REC_EXEC_BEGIN:
    case MT_REC_EXEC_FAILED:
    case MT_REC_LAYOUT: return sizeof(mt_header);
    case MT_REC_TRACE_START: return sizeof(mt_trace_start);
    case MT_REC_ATTACH: return sizeof(mt_attach);
    case MT_REC_OBJECT: return sizeof(mt_object);
    case MT_REC_COUNTERS: return sizeof(mt_counters);
    case MT_REC_OVERFLOW: return sizeof(mt_overflow);
    case MT_REC_STACK_SAMPLE: return sizeof(mt_stack_sample);
    case MT_REC_JIT_SYMBOL: return sizeof(mt_jit_symbol);
    case MT_REC_RSS: return sizeof(mt_rss);
    case MT_REC_KERNEL_FINAL: return sizeof(mt_kernel_final);
    case MT_REC_TICK: return sizeof(mt_tick);
    case MT_REC_PROCESS_COUNTS: return sizeof(mt_process_counts);
    case MT_REC_CGROUP: return sizeof(mt_cgroup);
    case MT_REC_LATENCY: return sizeof(mt_latency);
    default: return 0;
    }
}

const char* record_type_name(uint16_t type)
{
    switch (type) {
    case MT_REC_FAULT: return "fault";
    case MT_REC_MAJOR: return "major";
    case MT_REC_MMAP: return "mmap";
    case MT_REC_MUNMAP: return "munmap";
    case MT_REC_MREMAP: return "mremap";
    case MT_REC_MPROTECT: return "mprotect";
    case MT_REC_BRK: return "brk";
    case MT_REC_SHMAT: return "shmat";
    case MT_REC_SHMDT: return "shmdt";
    case MT_REC_EXEC: return "exec";
    case MT_REC_FORK: return "fork";
    case MT_REC_THREAD: return "thread";
    case MT_REC_EXIT: return "exit";
    case MT_REC_EXEC_BEGIN: return "exec_begin";
    case MT_REC_EXEC_FAILED: return "exec_failed";
    case MT_REC_VMA: return "vma";
    case MT_REC_FAULT_DONE: return "fault_done";
    case MT_REC_SIGNAL: return "signal";
    case MT_REC_RESYNC: return "resync";
    case MT_REC_UNTRACED: return "untraced";
    case MT_REC_TRACE_START: return "trace_start";
    case MT_REC_ATTACH: return "attach";
    case MT_REC_OBJECT: return "object";
    case MT_REC_COUNTERS: return "counters";
    case MT_REC_OVERFLOW: return "overflow";
    case MT_REC_STACK_SAMPLE: return "stack_sample";
    case MT_REC_JIT_SYMBOL: return "jit_symbol";
    case MT_REC_RSS: return "rss";
    case MT_REC_KERNEL_FINAL: return "kernel_final";
    case MT_REC_TICK: return "tick";
    case MT_REC_LAYOUT: return "layout";
    case MT_REC_PROCESS_COUNTS: return "process_counts";
    case MT_REC_CGROUP: return "cgroup";
    case MT_REC_LATENCY: return "latency";
    default: return "unknown";
    }
}

std::optional<Record> decode_record(const void* data, size_t size)
{
    if (!data || size < sizeof(mt_header))
        return std::nullopt;
    const auto hdr = load<mt_header>(data);
    size_t need = record_min_size(hdr.type);
    if (need == 0 || size < need)
        return std::nullopt;
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (hdr.type == MT_REC_OBJECT && !object_fits(bytes, size))
        return std::nullopt;
    if (hdr.type == MT_REC_STACK_SAMPLE && !stack_sample_fits(bytes, size))
        return std::nullopt;
    if (hdr.type == MT_REC_JIT_SYMBOL && !jit_symbol_fits(bytes, size))
        return std::nullopt;
    if (hdr.type == MT_REC_CGROUP && !cgroup_fits(bytes, size))
        return std::nullopt;
    return Record(hdr, data, size);
}

std::string path_from_components(const char* buf, size_t len)
{
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i < len) {
        size_t n = strnlen(buf + i, len - i);
        if (n)
            parts.emplace_back(buf + i, n);
        i += n + 1;
    }
    std::string path;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        path += '/';
        path += *it;
    }
    return path;
}

MmapRecord mmap_of(const Record& r)
{
    const auto* bytes = static_cast<const unsigned char*>(r.data());
    mt_mmap fixed{};
    std::memcpy(&fixed, bytes, kMmapFixed);
    MmapRecord m;
    m.hdr = fixed.hdr;
    m.addr = fixed.addr;
    m.len = fixed.len;
    m.pgoff = fixed.pgoff;
    m.ino = fixed.ino;
    m.dev = fixed.dev;
    m.prot = fixed.prot;
    m.mflags = fixed.mflags;
    m.fd = fixed.fd;
    m.path_flags = fixed.path_flags;
    // The path is as long as path_len says, but never beyond the bytes that came.
    size_t len = std::min<size_t>(fixed.path_len, r.size() - kMmapFixed);
    if (len)
        m.path = path_from_components(reinterpret_cast<const char*>(bytes + kMmapFixed), len);
    return m;
}

StackSampleRecord stack_sample_of(const Record& r)
{
    const auto* bytes = static_cast<const unsigned char*>(r.data());
    StackSampleRecord s;
    s.fixed = load<mt_stack_sample>(bytes);
    s.stack.assign(bytes + sizeof(mt_stack_sample), bytes + sizeof(mt_stack_sample) + s.fixed.stack_len);
    return s;
}

JitSymbolRecord jit_symbol_of(const Record& r)
{
    const auto* bytes = static_cast<const unsigned char*>(r.data());
    JitSymbolRecord j;
    j.fixed = load<mt_jit_symbol>(bytes);
    j.name.assign(reinterpret_cast<const char*>(bytes) + sizeof(mt_jit_symbol), j.fixed.name_len);
    return j;
}

CgroupRecord cgroup_of(const Record& r)
{
    const auto* bytes = static_cast<const unsigned char*>(r.data());
    const auto c = load<mt_cgroup>(bytes);
    return {c.id, std::string(reinterpret_cast<const char*>(bytes) + sizeof(mt_cgroup), c.path_len)};
}

}  // namespace memtrace
