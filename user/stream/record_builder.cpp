#include "stream/record_builder.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <sys/mman.h>

namespace memtrace {
namespace {

constexpr size_t kMmapFixed = offsetof(mt_mmap, path);

size_t padded8(size_t n) { return (n + 7) & ~size_t{7}; }

void append(RecordBytes& out, const void* data, size_t size)
{
    const auto* bytes = static_cast<const unsigned char*>(data);
    out.insert(out.end(), bytes, bytes + size);
}

template <typename T>
T load(const unsigned char* data)
{
    T value;
    std::memcpy(&value, data, sizeof(T));
    return value;
}

// "/usr/lib/libc.so.6" as "libc.so.6\0lib\0usr\0", the way the BPF program writes paths.
std::string leaf_first_components(const std::string& path)
{
    std::vector<std::string> parts;
    size_t at = 0;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        std::string part = path.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
        if (!part.empty())
            parts.push_back(std::move(part));
        if (slash == std::string::npos)
            break;
        at = slash + 1;
    }
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        out += *it;
        out += '\0';
    }
    return out;
}

}  // namespace

mt_header header(uint16_t type, uint32_t tgid, uint64_t ts_ns)
{
    mt_header h{};
    h.type = type;
    h.tgid = tgid;
    h.tid = tgid;
    h.ts_ns = ts_ns;
    return h;
}

RecordBytes mmap_record(const MmapRecord& m)
{
    mt_mmap fixed{};
    fixed.hdr = m.hdr;
    fixed.addr = m.addr;
    fixed.len = m.len;
    fixed.pgoff = m.pgoff;
    fixed.ino = m.ino;
    fixed.dev = m.dev;
    fixed.prot = m.prot;
    fixed.mflags = m.mflags;
    fixed.fd = m.fd;
    fixed.path_flags = m.path_flags;
    std::string components = leaf_first_components(m.path);
    if (m.path_flags & MT_VMA_NAMED)  // a kernel name such as [anon:x/y]: one component, as is
        components = m.path + '\0';
    components.resize(std::min<size_t>(components.size(), std::numeric_limits<__u16>::max()));
    fixed.path_len = static_cast<__u16>(components.size());
    RecordBytes out(kMmapFixed);
    std::memcpy(out.data(), &fixed, kMmapFixed);
    append(out, components.data(), components.size());
    return out;
}

RecordBytes vma_record(uint32_t pid, uint64_t ts_ns, const MapsEntry& e)
{
    MmapRecord m;
    m.hdr = header(MT_REC_VMA, pid, ts_ns);
    m.addr = e.start;
    m.len = e.end - e.start;
    m.pgoff = e.offset;
    m.prot = (e.read ? PROT_READ : 0) | (e.write ? PROT_WRITE : 0) | (e.exec ? PROT_EXEC : 0);
    m.mflags = e.shared ? MAP_SHARED : MAP_PRIVATE;
    m.dev = static_cast<uint32_t>(kernel_dev(e.dev_major, e.dev_minor));
    m.ino = e.inode;
    m.fd = -1;
    if (e.path.empty()) {
        m.mflags |= MAP_ANONYMOUS;
    } else if (e.path == "[stack]") {
        m.mflags |= MAP_ANONYMOUS;
        m.path_flags = MT_VMA_STACK;
    } else if (e.path == "[heap]") {
        m.mflags |= MAP_ANONYMOUS;
        m.path_flags = MT_VMA_HEAP;
    } else if (e.path == "[vdso]") {
        m.mflags |= MAP_ANONYMOUS;
        m.path_flags = MT_VMA_VDSO;
    } else if (e.path == "[vvar]") {
        m.mflags |= MAP_ANONYMOUS;
        m.path_flags = MT_VMA_VVAR;
    } else if (e.path[0] == '[') {
        m.mflags |= MAP_ANONYMOUS;
        m.path_flags = MT_VMA_NAMED;
        m.path = e.path;
    } else {
        m.path = e.path;
    }
    return mmap_record(m);
}

RecordBytes attach_record(uint32_t pid, uint64_t ts_ns, const std::string& comm, uint64_t stack_limit,
                          uint32_t flags, uint64_t kernel_faults)
{
    mt_attach a{};
    a.hdr = header(MT_REC_ATTACH, pid, ts_ns);
    a.stack_limit = stack_limit;
    a.kernel_faults = kernel_faults;
    a.flags = flags;
    std::memcpy(a.comm, comm.data(), std::min(comm.size(), sizeof(a.comm) - 1));
    return bytes_of(a);
}

RecordBytes object_record(uint64_t ts_ns, const ObjectInfo& object)
{
    mt_object o{};
    o.hdr = header(MT_REC_OBJECT, 0, ts_ns);
    o.dev = object.dev;
    o.ino = object.ino;
    o.size = object.size;
    o.mtime_ns = object.mtime_ns;
    o.flags = object.readable ? 0 : MT_OBJECT_UNREADABLE;
    std::vector<ElfLoad> loads;
    std::vector<ElfSection> sections;
    if (object.elf) {
        o.flags |= MT_OBJECT_ELF | (object.elf->position_independent() ? MT_OBJECT_PIE : 0);
        loads = object.elf->loads();
        sections = object.elf->sections();
        const std::string& id = object.elf->build_id();
        o.build_id_len = static_cast<__u8>(std::min<size_t>(id.size(), MT_BUILD_ID_MAX));
        std::memcpy(o.build_id, id.data(), o.build_id_len);
    }
    constexpr size_t kMaxParts = std::numeric_limits<__u16>::max();
    loads.resize(std::min(loads.size(), kMaxParts));
    sections.resize(std::min(sections.size(), kMaxParts));
    o.nr_loads = static_cast<__u16>(loads.size());
    o.nr_sections = static_cast<__u16>(sections.size());
    o.path_len = static_cast<__u16>(std::min(object.path.size(), kMaxParts));
    RecordBytes out = bytes_of(o);
    for (const ElfLoad& l : loads) {
        mt_object_load ol{l.vaddr, l.memsz, l.offset, l.filesz,
                          (l.writable ? MT_OBJECT_WRITABLE : 0u) | (l.executable ? MT_OBJECT_EXECUTABLE : 0u), 0};
        append(out, &ol, sizeof(ol));
    }
    for (const ElfSection& s : sections) {
        size_t name_len = std::min(s.name.size(), kMaxParts);
        mt_object_section os{s.addr, s.size,
                             (s.writable ? MT_OBJECT_WRITABLE : 0u) | (s.executable ? MT_OBJECT_EXECUTABLE : 0u) |
                                 (s.nobits ? MT_OBJECT_NOBITS : 0u),
                             static_cast<__u16>(name_len), 0};
        append(out, &os, sizeof(os));
        append(out, s.name.data(), name_len);
        out.resize(out.size() + padded8(name_len) - name_len, 0);
    }
    append(out, object.path.data(), o.path_len);
    return out;
}

RecordBytes stack_sample_record(const mt_stack_sample& fixed, const std::vector<uint8_t>& stack)
{
    mt_stack_sample s = fixed;
    s.hdr.type = MT_REC_STACK_SAMPLE;
    s.stack_len = static_cast<__u32>(std::min<size_t>(stack.size(), MT_SAMPLE_STACK_MAX));
    RecordBytes out = bytes_of(s);
    append(out, stack.data(), s.stack_len);
    return out;
}

RecordBytes jit_symbol_record(uint32_t pid, uint64_t ts_ns, uint64_t start, uint64_t size, const std::string& name)
{
    mt_jit_symbol j{};
    j.hdr = header(MT_REC_JIT_SYMBOL, pid, ts_ns);
    j.start = start;
    j.size = size;
    j.name_len = static_cast<__u32>(std::min<size_t>(name.size(), 4096));
    RecordBytes out = bytes_of(j);
    append(out, name.data(), j.name_len);
    return out;
}

ObjectInfo object_of(const Record& r)
{
    const auto* bytes = static_cast<const unsigned char*>(r.data());
    const auto o = load<mt_object>(bytes);
    ObjectInfo info;
    info.dev = o.dev;
    info.ino = o.ino;
    info.size = o.size;
    info.mtime_ns = o.mtime_ns;
    info.readable = !(o.flags & MT_OBJECT_UNREADABLE);
    size_t at = sizeof(mt_object);
    std::vector<ElfLoad> loads;
    for (unsigned i = 0; i < o.nr_loads; ++i, at += sizeof(mt_object_load)) {
        const auto l = load<mt_object_load>(bytes + at);
        loads.push_back({l.vaddr, l.memsz, l.offset, l.filesz, (l.flags & MT_OBJECT_WRITABLE) != 0,
                         (l.flags & MT_OBJECT_EXECUTABLE) != 0});
    }
    std::vector<ElfSection> sections;
    for (unsigned i = 0; i < o.nr_sections; ++i) {
        const auto s = load<mt_object_section>(bytes + at);
        at += sizeof(mt_object_section);
        ElfSection section;
        section.name.assign(reinterpret_cast<const char*>(bytes + at), s.name_len);
        section.addr = s.addr;
        section.size = s.size;
        section.nobits = s.flags & MT_OBJECT_NOBITS;
        section.writable = s.flags & MT_OBJECT_WRITABLE;
        section.executable = s.flags & MT_OBJECT_EXECUTABLE;
        sections.push_back(std::move(section));
        at += padded8(s.name_len);
    }
    info.path.assign(reinterpret_cast<const char*>(bytes + at), o.path_len);
    if (o.flags & MT_OBJECT_ELF)
        info.elf = ElfImage::from_parts(std::move(loads), std::move(sections), o.flags & MT_OBJECT_PIE,
                                        std::string(reinterpret_cast<const char*>(o.build_id), o.build_id_len));
    return info;
}

RecordBytes cgroup_record(uint64_t ts_ns, uint64_t id, const std::string& path)
{
    mt_cgroup c{};
    c.hdr = header(MT_REC_CGROUP, 0, ts_ns);
    c.id = id;
    c.path_len = static_cast<__u32>(std::min<size_t>(path.size(), 4096));
    RecordBytes out = bytes_of(c);
    append(out, path.data(), c.path_len);
    return out;
}

}  // namespace memtrace
