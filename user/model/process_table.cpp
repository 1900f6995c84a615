#include "model/process_table.h"

#include <algorithm>
#include <sys/mman.h>

#include "stream/record_builder.h"

namespace memtrace {
namespace {

constexpr uint64_t kPageMask = ~0xfffULL;
constexpr uint64_t kPageSize = 4096;
constexpr size_t kMaxHeldFaults = 4096;
constexpr uint64_t kDontUnmap = 4;  // MREMAP_DONTUNMAP

std::string fixed_string(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

// What a record's path says, when the walk in the kernel had to stop before the root.
std::string shown_path(const MmapRecord& m)
{
    if (m.path.empty())
        return "(unknown file)";
    return m.path_flags & MT_PATH_TRUNCATED ? "..." + m.path : m.path;
}

}  // namespace

MapsEntry maps_entry_of(const MmapRecord& vma)
{
    MapsEntry e;
    e.start = vma.addr;
    e.end = vma.addr + vma.len;
    e.read = vma.prot & PROT_READ;
    e.write = vma.prot & PROT_WRITE;
    e.exec = vma.prot & PROT_EXEC;
    e.shared = vma.mflags & MAP_SHARED;
    e.offset = vma.pgoff;
    e.dev_major = vma.dev >> 20;
    e.dev_minor = vma.dev & 0xfffff;
    e.inode = vma.ino;
    if (!(vma.mflags & MAP_ANONYMOUS))
        e.path = shown_path(vma);
    else if (vma.path_flags & MT_VMA_STACK)
        e.path = "[stack]";
    else if (vma.path_flags & MT_VMA_HEAP)
        e.path = "[heap]";
    else if (vma.path_flags & MT_VMA_VDSO)
        e.path = "[vdso]";
    else if (vma.path_flags & MT_VMA_VVAR)
        e.path = "[vvar]";
    else if (vma.path_flags & MT_VMA_NAMED)
        e.path = vma.path.empty() ? std::string() : vma.path.substr(1);  // one component: drop its '/'

    else if (e.shared)
        e.path = "/dev/zero (deleted)";
    return e;
}

ProcessTable::ProcessTable(Analysis& analyses) : analyses_(analyses) {}

Process* ProcessTable::lookup(uint32_t pid)
{
    if (last_process_ && last_process_->pid == pid)
        return last_process_;
    auto it = processes_.find(pid);
    if (it == processes_.end())
        return nullptr;
    last_process_ = it->second.get();
    return last_process_;
}

const Process* ProcessTable::find(uint32_t pid) const
{
    auto it = processes_.find(pid);
    return it == processes_.end() ? nullptr : it->second.get();
}

std::vector<uint32_t> ProcessTable::live_pids() const
{
    std::vector<uint32_t> pids;
    for (const auto& [pid, p] : processes_)
        if (p->alive && p->traced)
            pids.push_back(pid);
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::vector<uint32_t> ProcessTable::pids() const
{
    std::vector<uint32_t> pids;
    for (const auto& entry : processes_)
        pids.push_back(entry.first);
    std::sort(pids.begin(), pids.end());
    return pids;
}

size_t ProcessTable::live_processes() const
{
    return std::count_if(processes_.begin(), processes_.end(),
                         [](const auto& p) { return p.second->alive && p.second->traced; });
}

std::shared_ptr<MemoryMap> ProcessTable::new_memory() { return std::make_shared<MemoryMap>(segments_, objects_); }

Process& ProcessTable::get_or_create(uint32_t pid)
{
    if (Process* p = lookup(pid))
        return *p;
    auto process = std::make_unique<Process>();
    process->pid = pid;
    process->memory = new_memory();
    Process& ref = *process;
    processes_.emplace(pid, std::move(process));
    if (!first_pid_)
        first_pid_ = pid;
    last_process_ = &ref;
    return ref;
}

void ProcessTable::notify(const Record& r, SegmentId segment, const Process* p)
{
    if (observer_ && p && p->traced)
        observer_(r, segment, *p);
}

void ProcessTable::handle(const Record& r)
{
    const mt_header& hdr = r.header();
    switch (r.type()) {
    case MT_REC_FAULT: on_fault(r); return;  // notifies itself (or later, for a held fault)
    case MT_REC_MAJOR:
    case MT_REC_FAULT_DONE: on_fault_done(r); return;
    case MT_REC_SIGNAL: {
        const auto s = r.as<mt_signal>();
        Process* p = lookup(s.hdr.tgid);
        if (p && !p->wait_for_exec)
            analyses_.on_signal({s, *p});
        break;
    }
    case MT_REC_EXEC_BEGIN: {
        Process& p = get_or_create(hdr.tgid);
        p.exec_pending = true;
        p.pending_layout.clear();  // what a lost exec record left behind
        break;
    }
    case MT_REC_EXEC_FAILED: {
        Process& p = get_or_create(hdr.tgid);
        p.exec_pending = false;
        replay_held(p, true);
        break;
    }
    case MT_REC_MMAP:
    case MT_REC_MUNMAP:
    case MT_REC_MREMAP:
    case MT_REC_MPROTECT:
    case MT_REC_BRK:
    case MT_REC_SHMAT:
    case MT_REC_SHMDT: on_mapping(r); break;
    case MT_REC_VMA: on_vma(r); break;
    case MT_REC_RESYNC: on_resync(r); break;
    case MT_REC_UNTRACED: analyses_.on_untraced(r.as<mt_untraced>(), lookup(hdr.tgid)); break;
    case MT_REC_EXEC: on_exec(r); break;
    case MT_REC_FORK:
    case MT_REC_THREAD: on_fork(r); break;
    case MT_REC_EXIT: on_exit(r); break;
    case MT_REC_TRACE_START: analyses_.on_trace_start(r.as<mt_trace_start>()); return;
    case MT_REC_ATTACH: on_attach(r); return;
    case MT_REC_LAYOUT: on_layout(r); return;
    case MT_REC_OBJECT: on_object(r); return;
    case MT_REC_OVERFLOW: on_overflow(r); return;
    case MT_REC_COUNTERS: analyses_.on_counters(r.as<mt_counters>()); return;
    case MT_REC_RSS: analyses_.on_rss(r.as<mt_rss>(), lookup(hdr.tgid)); return;
    case MT_REC_PROCESS_COUNTS: analyses_.on_process_counts(r.as<mt_process_counts>()); return;
    case MT_REC_CGROUP: analyses_.on_cgroup(cgroup_of(r)); return;
    case MT_REC_LATENCY: analyses_.on_latency_histogram(r.as<mt_latency>()); return;
    case MT_REC_STACK_SAMPLE: {
        Process* p = lookup(hdr.tgid);
        if (p && !p->wait_for_exec)
            analyses_.on_stack_sample(stack_sample_of(r), *p);
        return;
    }
    case MT_REC_JIT_SYMBOL: {
        JitSymbolRecord j = jit_symbol_of(r);
        if (Process* p = lookup(hdr.tgid))
            p->memory->jit.add({j.fixed.start, j.fixed.size, std::move(j.name)});
        return;
    }
    case MT_REC_KERNEL_FINAL: analyses_.on_kernel_final(r.as<mt_kernel_final>(), lookup(hdr.tgid)); return;
    default: return;
    }
    notify(r, SegmentTable::kUnmapped, lookup(hdr.tgid));
}

void ProcessTable::on_fault(const Record& r)
{
    const auto f = r.as<mt_fault>();
    Process* p = lookup(f.hdr.tgid);
    if (p && p->wait_for_exec)
        return;  // memtrace's own fork, before the command's first instruction
    if (p && p->exec_pending) {
        p->held_faults.push_back({f, false, 0});
        // An exec takes a handful of faults before its record. Thousands mean the record was
        // lost: stop holding and attribute against what the model has.
        if (p->held_faults.size() >= kMaxHeldFaults) {
            p->exec_pending = false;
            replay_held(*p, true);
        }
        return;
    }
    attribute_fault(p, f, r, true);
}

void ProcessTable::attribute_fault(Process* p, const mt_fault& f, const Record& r, bool counts_for_process)
{
    SegmentId segment = p ? p->memory->space.segment_of(f.addr) : SegmentTable::kUnmapped;
    last_fault_[f.hdr.tid % last_fault_.size()] = {f.hdr.tid, segment, f.addr & kPageMask, f.hdr.ts_ns, false};
    analyses_.on_fault({f, segment, p, counts_for_process});
    notify(r, segment, p);
}

void ProcessTable::on_fault_done(const Record& r)
{
    const auto m = r.as<mt_major>();
    Process* p = lookup(m.hdr.tgid);
    if (p && p->wait_for_exec)
        return;
    if (p && p->exec_pending) {
        // Its fault is held too: mark it, so that the replay completes it.
        for (auto it = p->held_faults.rbegin(); it != p->held_faults.rend(); ++it) {
            if (it->fault.hdr.tid != m.hdr.tid)
                continue;
            if ((it->fault.addr & kPageMask) == (m.addr & kPageMask)) {
                it->major = m.hdr.type == MT_REC_MAJOR || (m.hdr.flags & MT_DONE_MAJOR);
                if (m.hdr.type == MT_REC_FAULT_DONE)
                    it->done_ns = m.hdr.ts_ns;
            }
            break;
        }
        return;
    }
    complete_fault(m);
    notify(r, SegmentTable::kUnmapped, p);
}

void ProcessTable::complete_fault(const mt_major& m)
{
    const bool major = m.hdr.type == MT_REC_MAJOR || (m.hdr.flags & MT_DONE_MAJOR);
    LastFault& last = last_fault_[m.hdr.tid % last_fault_.size()];
    // The thread's fault record precedes its completion: a thread handles one fault at a time, and
    // both records go through the one ring buffer in the order they were made.
    const bool paired = last.tid == m.hdr.tid && last.page == (m.addr & kPageMask) && !last.done;
    const bool timed = paired && m.hdr.type == MT_REC_FAULT_DONE && m.hdr.ts_ns >= last.ts_ns;
    analyses_.on_fault_done({m, major, paired, paired ? last.segment : SegmentTable::kUnmapped, timed,
                             timed ? m.hdr.ts_ns - last.ts_ns : 0});
    if (paired)
        last.done = true;
}

void ProcessTable::replay_held(Process& p, bool counts_for_process)
{
    std::vector<Process::HeldFault> held;
    held.swap(p.held_faults);
    for (const Process::HeldFault& h : held) {
        auto record = decode_record(&h.fault, sizeof(h.fault));
        attribute_fault(&p, h.fault, *record, counts_for_process);
        if (h.major || h.done_ns) {
            mt_major m{};
            m.hdr = h.fault.hdr;
            m.hdr.type = h.done_ns ? MT_REC_FAULT_DONE : MT_REC_MAJOR;
            m.hdr.flags = h.major ? MT_DONE_MAJOR : 0;
            if (h.done_ns)
                m.hdr.ts_ns = h.done_ns;
            m.addr = h.fault.addr;
            complete_fault(m);
        }
    }
}

void ProcessTable::remember_unmap(Process& p, uint64_t start, uint64_t end, uint64_t ts_ns, uint64_t started_ns)
{
    // The kernel unmaps whole pages: a length of 100 takes the page.
    start &= kPageMask;
    end = (end + kPageSize - 1) & kPageMask;
    const auto& regions = p.memory->space.regions();
    auto it = regions.upper_bound(start);
    if (it != regions.begin())
        --it;
    for (; it != regions.end() && it->second.start < end; ++it) {
        const Region& r = it->second;
        if (r.end <= start || r.mapped_ns > started_ns)  // not there yet when the unmap ran
            continue;
        uint64_t from = std::max(start, r.start), to = std::min(end, r.end);
        SegmentId segment = r.segment_at(from);
        p.memory->unmapped.add({from, to, ts_ns, segments_.at(segment).label, segment});
    }
}

void ProcessTable::on_mapping(const Record& r)
{
    Process& p = get_or_create(r.header().tgid);
    AddressSpace& space = p.memory->space;
    const uint64_t ts = r.header().ts_ns;
    switch (r.type()) {
    case MT_REC_MMAP: {
        const MmapRecord m = mmap_of(r);
        Region region;
        region.start = m.addr;
        region.end = m.addr + m.len;
        region.read = m.prot & PROT_READ;
        region.write = m.prot & PROT_WRITE;
        region.exec = m.prot & PROT_EXEC;
        region.shared = (m.mflags & MAP_SHARED) != 0;
        region.offset = m.pgoff;
        region.dev = m.dev;
        region.inode = m.ino;
        region.mapped_ns = ts;
        if (m.mflags & MAP_ANONYMOUS) {
            region.kind = region.shared ? RegionKind::Shm : RegionKind::Anon;
            region.path = region.shared ? "/dev/zero (deleted)" : "";
            region.thread_stack = (m.mflags & MAP_STACK) != 0;
        } else {
            MapsEntry as_maps;
            as_maps.path = shown_path(m);
            as_maps.shared = region.shared;
            region.kind = region_from_maps(as_maps).kind;
            if (region.kind == RegionKind::Special || region.kind == RegionKind::Anon)
                region.kind = RegionKind::File;
            region.path = as_maps.path;
        }
        space.map(std::move(region));
        break;
    }
    case MT_REC_MUNMAP: {
        const auto m = r.as<mt_munmap>();
        const uint64_t started = m.enter_ns ? m.enter_ns : ~0ULL;
        remember_unmap(p, m.addr, m.addr + m.len, ts, started);
        space.unmap(m.addr, m.len, started);
        break;
    }
    case MT_REC_MREMAP: {
        const auto m = r.as<mt_mremap>();
        if (m.new_addr != m.old_addr && !(m.mflags & kDontUnmap))
            remember_unmap(p, m.old_addr, m.old_addr + m.old_len, ts);
        else if (m.new_addr == m.old_addr && m.new_len < m.old_len)
            remember_unmap(p, m.old_addr + m.new_len, m.old_addr + m.old_len, ts);
        space.remap(m.old_addr, m.old_len, m.new_addr, m.new_len, m.mflags & kDontUnmap, ts);
        break;
    }
    case MT_REC_MPROTECT: {
        const auto m = r.as<mt_mprotect>();
        space.protect(m.addr, m.len, static_cast<uint32_t>(m.prot));
        break;
    }
    case MT_REC_BRK: {
        const auto b = r.as<mt_brk>();
        if (b.new_brk < b.old_brk)  // the kernel unmaps whole pages above the new break
            remember_unmap(p, (b.new_brk + kPageSize - 1) & kPageMask, (b.old_brk + kPageSize - 1) & kPageMask, ts);
        space.set_brk(b.start_brk, b.new_brk);
        break;
    }
    case MT_REC_SHMAT: {
        const auto s = r.as<mt_shmat>();
        Region region;
        region.kind = RegionKind::Shm;
        region.shared = region.read = region.write = true;
        region.start = s.addr;
        region.end = s.addr + (s.size ? s.size : kPageSize);  // the live side fills in the size
        region.path = "/SYSV";
        region.inode = static_cast<uint64_t>(s.shmid);
        region.mapped_ns = ts;
        space.map(std::move(region));
        break;
    }
    case MT_REC_SHMDT: {
        const auto s = r.as<mt_shmat>();
        if (const Region* region = space.region_of(s.addr); region && region->kind == RegionKind::Shm) {
            uint64_t start = region->start, end = region->end;
            remember_unmap(p, start, end, ts);
            space.unmap(start, end - start);
        }
        break;
    }
    }
    if (p.traced)  // an untraced sharer's calls change the model, they are not counted
        analyses_.on_mapping({r, p});
}

void ProcessTable::on_vma(const Record& r)
{
    Process& p = get_or_create(r.header().tgid);
    const MmapRecord vma = mmap_of(r);
    if (!(r.header().flags & MT_VMA_RESYNC)) {
        p.pending_layout.push_back(maps_entry_of(vma));
        return;
    }
    // After a failed call that changed part of its range: the kernel's VMA, as it is now.
    Region region = region_from_maps(maps_entry_of(vma));
    region.dev = vma.dev;
    region.mapped_ns = r.header().ts_ns;
    if (region.kind == RegionKind::Heap)
        p.memory->space.set_brk(p.memory->space.start_brk() ? p.memory->space.start_brk() : region.start, region.end);
    else
        p.memory->space.map(std::move(region));
}

void ProcessTable::on_resync(const Record& r)
{
    // The range is cleared here; the VMA records that follow put back what the kernel has there.
    const auto m = r.as<mt_munmap>();
    Process& p = get_or_create(m.hdr.tgid);
    p.memory->space.unmap(m.addr, m.len);
}

void ProcessTable::on_attach(const Record& r)
{
    const auto a = r.as<mt_attach>();
    Process& p = get_or_create(a.hdr.tgid);
    p.comm = fixed_string(a.comm, sizeof(a.comm));
    p.stack_limit = a.stack_limit ? a.stack_limit : p.stack_limit;
    p.wait_for_exec = a.flags & MT_ATTACH_LAUNCHED;
    p.window_open = (a.flags & MT_ATTACH_BASELINE) != 0;
    p.pending_layout.clear();  // its layout follows, up to MT_REC_LAYOUT
    analyses_.on_process({ProcessEvent::Kind::Attached, r, p, 0});
}

void ProcessTable::on_layout(const Record& r)
{
    Process& p = get_or_create(r.header().tgid);
    p.memory->space.load_snapshot(p.pending_layout, 0, p.stack_limit);
    p.pending_layout.clear();
}

void ProcessTable::on_exec(const Record& r)
{
    const auto e = r.as<mt_exec>();
    Process& p = get_or_create(e.hdr.tgid);
    p.comm = fixed_string(e.comm, sizeof(e.comm));
    // The new image is an address space of its own, whoever shared the old one.
    p.memory = new_memory();
    p.memory->space.load_snapshot(p.pending_layout, e.start_brk, p.stack_limit);
    p.pending_layout.clear();
    p.exec_pending = false;
    // The kernel's counters survive exec, so the comparison window opens once: at the launched
    // command's first exec, or at attach. Faults the kernel took while building the new image
    // belong to it; at the first exec they are already in the baseline.
    const bool opens_window = !p.window_open;
    analyses_.on_process({ProcessEvent::Kind::Exec, r, p, p.held_faults.size()});
    p.window_open = true;
    if (!p.wait_for_exec)
        replay_held(p, !opens_window);
    p.held_faults.clear();
    p.wait_for_exec = false;
}

void ProcessTable::on_fork(const Record& r)
{
    const auto f = r.as<mt_fork>();
    Process* parent = lookup(f.hdr.tgid);
    if (f.hdr.type == MT_REC_THREAD) {
        if (parent && f.child_sp)
            parent->memory->space.label_thread_stack(f.child_sp, f.child_tid);
        return;
    }
    if (!parent)
        return;
    if (Process* old = lookup(f.child_tgid); old && old->alive)
        return;
    auto child = std::make_unique<Process>();  // replaces a dead pid's entry
    child->pid = f.child_tgid;
    child->comm = parent->comm;
    child->stack_limit = parent->stack_limit;
    child->traced = !(f.hdr.flags & MT_FORK_UNTRACED);
    // fork() copies the address space; vfork and clone(CLONE_VM) share the parent's, until exec.
    child->memory = f.hdr.flags & MT_FORK_SHARES_MM ? parent->memory : std::make_shared<MemoryMap>(*parent->memory);
    // A new process starts with zero faults on the kernel's books, and the FORK record comes
    // before any of its faults: the comparison is exact from here.
    child->window_open = true;
    Process& ref = *child;
    last_process_ = nullptr;
    processes_[f.child_tgid] = std::move(child);
    analyses_.on_process({ProcessEvent::Kind::Forked, r, ref, 0});
}

void ProcessTable::on_exit(const Record& r)
{
    Process* p = lookup(r.header().tgid);
    if (!p)
        return;
    if (r.header().flags & MT_EXIT_LEFT_MM) {  // an untraced sharer is done with the address space
        if (!p->traced) {
            p->alive = false;
            p->clear_at_report = true;
        }
        return;
    }
    p->alive = false;
    p->clear_at_report = true;  // nothing faults in a dead process: keep long -f runs bounded
    analyses_.on_process({ProcessEvent::Kind::Exited, r, *p, 0});
}

void ProcessTable::on_overflow(const Record& r)
{
    const auto o = r.as<mt_overflow>();
    Process* p = lookup(o.hdr.tgid);
    SegmentId segment = SegmentTable::kUnmapped;
    if (o.hdr.flags & MT_OVERFLOW_UNPLACED) {
        // Counted by the kernel, but not for any page: shown as what they are.
        analyses_.on_overflow({o, segments_.of_kind(SegmentKind::Unmapped, "(not placed: the overflow table was full)"), p});
        return;
    }
    if (p) {
        segment = p->memory->space.segment_of(o.page);
        // Unmapped since: the fault was on what the page held then.
        if (segment == SegmentTable::kUnmapped)
            if (const UnmappedRange* gone = p->memory->unmapped.find(o.page))
                segment = gone->segment;
    }
    analyses_.on_overflow({o, segment, p});
}

void ProcessTable::on_object(const Record& r) { objects_.add(object_of(r)); }

void ProcessTable::after_report()
{
    std::vector<uint32_t> gone;
    for (auto& [pid, p] : processes_) {
        if (!p->clear_at_report)
            continue;
        p->memory = new_memory();  // gives its model back (a sharer keeps its own reference)
        std::vector<Process::HeldFault>().swap(p->held_faults);
        p->clear_at_report = false;
        if (pid != first_pid_)
            gone.push_back(pid);
    }
    for (uint32_t pid : gone)
        processes_.erase(pid);
    if (!gone.empty())
        last_process_ = nullptr;
}

}  // namespace memtrace
