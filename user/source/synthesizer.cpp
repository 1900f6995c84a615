#include "source/synthesizer.h"

#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#include "model/address_space.h"
#include "model/jit_symbols.h"

namespace memtrace {
namespace {

constexpr size_t kMaxObjectsSent = 1 << 16;
constexpr size_t kMaxHeldVmas = 1 << 16;
constexpr uint64_t kPerfMapEvery = 20'000'000;      // ns: a JIT writes its map as it compiles
constexpr size_t kPerfMapReadBytes = 1 << 20;        // per read: a runaway map must not stall the loop
constexpr size_t kPerfMapLineMax = 4096;

// Files the model splits into sections or names by path; shared memory and kernel names are not
// objects.
bool is_object_path(const std::string& path, bool shared)
{
    if (path.empty() || path[0] != '/')
        return false;
    MapsEntry e;
    e.path = path;
    e.shared = shared;
    return region_from_maps(e).kind == RegionKind::File;
}

}  // namespace

void Synthesizer::trace_start(uint64_t ts_ns, uint32_t target, uint32_t flags)
{
    mt_trace_start s{};
    s.hdr = header(MT_REC_TRACE_START, target, ts_ns);
    s.target_tgid = target;
    s.flags = flags;
    emit_struct(s);
}

void Synthesizer::object_for(const MappedFile& file, uint64_t ts_ns)
{
    auto key = std::make_tuple(file.dev, file.ino, file.path);
    if (!file.ino || objects_sent_.count(key) || objects_sent_.size() >= kMaxObjectsSent)
        return;
    objects_sent_.insert(std::move(key));
    ObjectInfo info = probe_.object(file);
    info.dev = file.dev;
    info.ino = file.ino;
    info.path = file.path;
    emit(object_record(ts_ns, info));
}

void Synthesizer::emit_layout(uint32_t pid, const std::vector<MapsEntry>& maps, uint64_t ts_ns)
{
    for (const MapsEntry& e : maps) {
        if (e.inode && is_object_path(e.path, e.shared))
            object_for({pid, e.path, kernel_dev(e.dev_major, e.dev_minor), e.inode, e.start, e.end}, ts_ns);
        emit(vma_record(pid, ts_ns, e));
    }
}

void Synthesizer::attach(uint32_t pid, uint64_t ts_ns)
{
    std::optional<ProcessFacts> facts = probe_.facts(pid);
    if (!facts)
        throw std::runtime_error("no process with pid " + std::to_string(pid));
    std::vector<MapsEntry> maps;
    try {
        maps = probe_.maps(pid);
    } catch (const std::runtime_error&) {
        // Gone already: its exit record will say so.
    }
    emit(attach_record(pid, ts_ns, facts->comm, probe_.stack_limit(pid), facts->faults ? MT_ATTACH_BASELINE : 0,
                       facts->faults.value_or(0)));
    emit_layout(pid, maps, ts_ns);
    mt_header end = header(MT_REC_LAYOUT, pid, ts_ns);
    emit_struct(end);
    for (auto [tid, sp] : probe_.thread_stack_pointers(pid)) {
        mt_fork t{};
        t.hdr = header(MT_REC_THREAD, pid, ts_ns);
        t.child_tgid = pid;
        t.child_tid = tid;
        t.child_sp = sp;
        emit_struct(t);
    }
}

void Synthesizer::attach_launched(uint32_t pid, const std::string& comm, uint64_t stack_limit, uint64_t ts_ns)
{
    emit(attach_record(pid, ts_ns, comm, stack_limit, MT_ATTACH_LAUNCHED));
}

void Synthesizer::kernel_record(const void* data, size_t size)
{
    std::optional<Record> r = decode_record(data, size);
    if (!r) {
        sink_(data, size);  // the pipeline counts it as malformed
        return;
    }
    switch (r->type()) {
    case MT_REC_MMAP:
    case MT_REC_SHMAT: mapping_record(*r); return;
    case MT_REC_VMA: {
        if (r->header().flags & MT_VMA_RESYNC) {  // applied at once, not part of an exec's layout
            mapping_record(*r);
            return;
        }
        auto& held = exec_layouts_[r->header().tgid];
        if (held.size() < kMaxHeldVmas)
            held.emplace_back(static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + size);
        return;
    }
    case MT_REC_EXEC_BEGIN: exec_layouts_.erase(r->header().tgid); break;  // a lost exec's leftovers
    case MT_REC_EXEC:
        // The old image's JIT code is gone; the new one writes a map of its own.
        probe_.perf_map_done(r->header().tgid);
        perf_maps_.erase(r->header().tgid);
        exec_record(*r);
        return;
    case MT_REC_STACK_SAMPLE: jit_symbols(r->header().tgid, r->header().ts_ns, false); break;
    case MT_REC_EXIT:
        if (perf_maps_.count(r->header().tgid)) {
            jit_symbols(r->header().tgid, r->header().ts_ns, true);
            probe_.perf_map_done(r->header().tgid);
            perf_maps_.erase(r->header().tgid);
        }
        break;
    }
    sink_(data, size);
}

void Synthesizer::mapping_record(const Record& r)
{
    if (r.type() == MT_REC_SHMAT) {
        auto s = r.as<mt_shmat>();
        if (!s.size)  // the segment's size: the BPF program could not read it from the new VMA
            s.size = probe_.shm_size(s.shmid);
        emit_struct(s);
        return;
    }
    MmapRecord m = mmap_of(r);
    if (!(m.mflags & MAP_ANONYMOUS) && m.ino) {
        if (m.path_flags & MT_PATH_TRUNCATED) {
            // Deeper than the kernel's walk goes: the mapping is usually still there for /proc.
            try {
                for (const MapsEntry& e : probe_.maps(m.hdr.tgid))
                    if (e.inode == m.ino && kernel_dev(e.dev_major, e.dev_minor) == m.dev) {
                        m.path = e.path;
                        m.path_flags &= ~MT_PATH_TRUNCATED;
                        break;
                    }
            } catch (const std::runtime_error&) {
            }
        }
        if (is_object_path(m.path, m.mflags & MAP_SHARED))
            object_for({m.hdr.tgid, m.path, m.dev, m.ino, m.addr, m.addr + m.len}, m.hdr.ts_ns);
    }
    emit(mmap_record(m));
}

void Synthesizer::exec_record(const Record& r)
{
    auto e = r.as<mt_exec>();
    const uint32_t pid = e.hdr.tgid;
    std::vector<RecordBytes> held;
    if (auto it = exec_layouts_.find(pid); it != exec_layouts_.end()) {
        held = std::move(it->second);
        exec_layouts_.erase(it);
    }
    if (e.hdr.flags & MT_EXEC_LAYOUT_COMPLETE) {
        for (const RecordBytes& vma : held) {
            if (std::optional<Record> v = decode_record(vma.data(), vma.size()))
                mapping_record(*v);  // objects first; a VMA record keeps its own type
        }
    } else {
        // The kernel's walk could not finish (mmap lock busy, ring full): /proc's layout instead,
        // racy as it is (the program may have moved on, or be gone).
        std::vector<MapsEntry> maps;
        try {
            maps = probe_.maps(pid);
        } catch (const std::runtime_error&) {
        }
        emit_layout(pid, maps, e.hdr.ts_ns);
        e.hdr.flags |= MT_EXEC_LAYOUT_COMPLETE;
    }
    emit_struct(e);
}

void Synthesizer::counters(const mt_counters& counters, uint64_t ts_ns)
{
    mt_counters c = counters;
    c.hdr = header(MT_REC_COUNTERS, 0, ts_ns);
    emit_struct(c);
}

void Synthesizer::overflow(std::vector<mt_overflow> pages, uint64_t ts_ns)
{
    for (mt_overflow& o : pages) {
        const uint16_t flags = o.hdr.flags;
        o.hdr = header(MT_REC_OVERFLOW, o.hdr.tgid, ts_ns);
        o.hdr.flags = flags;
        emit_struct(o);
    }
}

void Synthesizer::jit_symbols(uint32_t pid, uint64_t ts_ns, bool final)
{
    PerfMapState& state = perf_maps_[pid];
    if (!final && state.read_ns && ts_ns < state.read_ns + kPerfMapEvery)
        return;
    state.read_ns = ts_ns ? ts_ns : 1;
    std::string text = state.partial + probe_.perf_map_appended(pid, kPerfMapReadBytes);
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(text.data() + start, nl - start);
        if (line.size() > kPerfMapLineMax)
            continue;
        if (std::optional<JitSymbol> sym = parse_perf_map_line(line))
            emit(jit_symbol_record(pid, ts_ns, sym->start, sym->size, sym->name));
    }
    state.partial = text.size() - start <= kPerfMapLineMax ? text.substr(start) : std::string();
}

void Synthesizer::resident(const std::vector<uint32_t>& pids, uint64_t ts_ns)
{
    for (uint32_t pid : pids) {
        std::optional<ResidentPages> rss = probe_.resident(pid);
        if (!rss)
            continue;
        mt_rss r{};
        r.hdr = header(MT_REC_RSS, pid, ts_ns);
        r.anon = rss->anon;
        r.file = rss->file;
        r.shmem = rss->shmem;
        r.swap = rss->swap;
        r.peak = rss->peak;
        emit_struct(r);
    }
}

void Synthesizer::kernel_final(uint32_t pid, uint64_t faults, uint64_t ts_ns)
{
    mt_kernel_final f{};
    f.hdr = header(MT_REC_KERNEL_FINAL, pid, ts_ns);
    f.faults = faults;
    emit_struct(f);
}

void Synthesizer::tick(uint64_t ts_ns, bool final, uint32_t end_reason)
{
    mt_tick t{};
    t.hdr = header(MT_REC_TICK, 0, ts_ns);
    t.flags = final ? MT_TICK_FINAL : 0;
    t.end_reason = end_reason;
    emit_struct(t);
}

}  // namespace memtrace
