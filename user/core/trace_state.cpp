#include "trace_state.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

namespace memtrace {
namespace {

constexpr uint64_t kPageMask = ~0xfffULL;
constexpr size_t kMaxHeldFaults = 4096;

// Copies a record out of ring-buffer memory into a properly typed, aligned value.
template <typename T>
T load(const void* data)
{
    T value;
    std::memcpy(&value, data, sizeof(T));
    return value;
}

std::pair<uint32_t, uint64_t> dev_key(uint32_t major, uint32_t minor, uint64_t ino)
{
    return {(major << 20) | minor, ino};  // the kernel's dev_t encoding, and the inode
}

std::string fixed_string(const char* s, size_t max)
{
    return std::string(s, strnlen(s, max));
}

}  // namespace

size_t record_min_size(uint16_t type)
{
    switch (type) {
    case MT_REC_FAULT: return sizeof(mt_fault);
    case MT_REC_MAJOR: return sizeof(mt_major);
    case MT_REC_MMAP:
    case MT_REC_VMA: return sizeof(mt_mmap);
    case MT_REC_MUNMAP: return sizeof(mt_munmap);
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
    case MT_REC_EXEC_FAILED: return sizeof(mt_header);
    default: return 0;
    }
}

TraceState::TraceState(ProcessSource& source, uint64_t stack_limit) : source_(source), stack_limit_(stack_limit)
{
}

ProcessState* TraceState::find(uint32_t pid)
{
    if (last_process_ && last_process_->pid == pid)
        return last_process_;
    auto it = processes_.find(pid);
    if (it == processes_.end())
        return nullptr;
    last_process_ = it->second.get();
    return last_process_;
}

const ProcessState* TraceState::process(uint32_t pid) const
{
    auto it = processes_.find(pid);
    return it == processes_.end() ? nullptr : it->second.get();
}

size_t TraceState::live_processes() const
{
    return std::count_if(processes_.begin(), processes_.end(), [](const auto& p) { return p.second->alive; });
}

ProcessState& TraceState::get_or_create(uint32_t pid)
{
    if (ProcessState* p = find(pid))
        return *p;
    auto state = std::make_unique<ProcessState>(pid, segments_, source_);
    ProcessState& ref = *state;
    processes_.emplace(pid, std::move(state));
    if (!first_pid_)
        first_pid_ = pid;
    last_process_ = &ref;
    return ref;
}

ProcessState& TraceState::attach(uint32_t pid, const std::string& comm)
{
    ProcessState& p = get_or_create(pid);
    p.comm = comm;
    std::vector<MapsEntry> maps;
    try {
        maps = source_.maps(pid);
    } catch (const std::runtime_error&) {
        // A launched child that has not exec'd yet, or one that is gone: its exec record or the
        // mapping records will fill the model.
    }
    p.space.load_snapshot(maps, 0, stack_limit_);
    return p;
}

ProcessState& TraceState::attach_launched(uint32_t pid, const std::string& comm)
{
    ProcessState& p = get_or_create(pid);
    p.comm = comm;
    p.wait_for_exec = true;
    return p;
}

void TraceState::set_kernel_baseline(uint32_t pid, uint64_t faults, bool exact)
{
    ProcessState& p = get_or_create(pid);
    p.baseline_known = true;
    p.baseline_exact = exact;
    p.baseline_faults = faults;
    p.faults = 0;
}

void TraceState::set_kernel_final(uint32_t pid, uint64_t faults)
{
    if (ProcessState* p = find(pid)) {
        p->final_known = true;
        p->final_faults = faults;
    }
}

void TraceState::label_thread_stack(uint32_t pid, uint32_t tid, uint64_t sp)
{
    if (ProcessState* p = find(pid))
        p->space.label_thread_stack(sp, tid);
}

bool TraceState::handle(const void* data, size_t size)
{
    if (size < sizeof(mt_header)) {
        ++malformed_;
        return false;
    }
    const auto hdr = load<mt_header>(data);
    size_t need = record_min_size(hdr.type);
    if (need == 0 || size < need) {
        ++malformed_;
        return false;
    }
    SegmentId segment = SegmentTable::kUnmapped;
    switch (hdr.type) {
    case MT_REC_FAULT: {
        const auto f = load<mt_fault>(data);
        ProcessState* p = find(hdr.tgid);
        if (p && p->wait_for_exec)
            return true;  // memtrace's own fork, before the command's first instruction
        if (p && p->exec_pending) {
            p->held_faults.push_back({f, false});
            // An exec takes a handful of faults before its record. Thousands mean the record was
            // lost: stop holding and attribute against what the model has.
            if (p->held_faults.size() >= kMaxHeldFaults) {
                p->exec_pending = false;
                replay_held(*p, true);
            }
            return true;
        }
        segment = on_fault(f);
        break;
    }
    case MT_REC_MAJOR: {
        ProcessState* p = find(hdr.tgid);
        if (p && p->wait_for_exec)
            return true;
        const auto m = load<mt_major>(data);
        if (p && p->exec_pending) {
            // Its fault is held too: mark it, so the replay counts the fault as major.
            for (auto it = p->held_faults.rbegin(); it != p->held_faults.rend(); ++it) {
                if (it->fault.hdr.tid == m.hdr.tid) {
                    it->major = (it->fault.addr & kPageMask) == (m.addr & kPageMask);
                    break;
                }
            }
            return true;
        }
        on_major(m);
        break;
    }
    case MT_REC_EXEC_BEGIN: {
        ProcessState& p = get_or_create(hdr.tgid);
        p.exec_pending = true;
        p.exec_layout.clear();  // what a lost exec record left behind
        break;
    }
    case MT_REC_EXEC_FAILED: {
        ProcessState& p = get_or_create(hdr.tgid);
        p.exec_pending = false;
        replay_held(p, true);
        break;
    }
    case MT_REC_MMAP: on_mmap(get_or_create(hdr.tgid), load<mt_mmap>(data)); break;
    case MT_REC_MUNMAP: {
        const auto m = load<mt_munmap>(data);
        ++munmap_calls_;
        get_or_create(hdr.tgid).space.unmap(m.addr, m.len);
        break;
    }
    case MT_REC_MREMAP: {
        const auto m = load<mt_mremap>(data);
        ++mremap_calls_;
        constexpr uint64_t kDontUnmap = 4;  // MREMAP_DONTUNMAP
        get_or_create(hdr.tgid).space.remap(m.old_addr, m.old_len, m.new_addr, m.new_len, m.mflags & kDontUnmap);
        break;
    }
    case MT_REC_MPROTECT: {
        const auto m = load<mt_mprotect>(data);
        ++mprotect_calls_;
        get_or_create(hdr.tgid).space.protect(m.addr, m.len, static_cast<uint32_t>(m.prot));
        break;
    }
    case MT_REC_BRK: {
        const auto b = load<mt_brk>(data);
        ++brk_calls_;
        if (b.new_brk > b.old_brk)
            brk_grow_.add(b.new_brk - b.old_brk);
        else
            brk_shrink_.add(b.old_brk - b.new_brk);
        get_or_create(hdr.tgid).space.set_brk(b.start_brk, b.new_brk);
        break;
    }
    case MT_REC_SHMAT: {
        const auto s = load<mt_shmat>(data);
        Region r;
        r.kind = RegionKind::Shm;
        r.shared = r.read = r.write = true;
        r.start = s.addr;
        r.end = s.addr + (s.size ? s.size : source_.shm_size(s.shmid));
        r.path = "/SYSV";
        r.inode = static_cast<uint64_t>(s.shmid);
        get_or_create(hdr.tgid).space.map(std::move(r));
        break;
    }
    case MT_REC_SHMDT: {
        const auto s = load<mt_shmat>(data);
        ProcessState& p = get_or_create(hdr.tgid);
        if (const Region* r = p.space.region_of(s.addr); r && r->kind == RegionKind::Shm)
            p.space.unmap(r->start, r->end - r->start);
        break;
    }
    case MT_REC_VMA: {
        ProcessState& p = get_or_create(hdr.tgid);
        p.exec_layout.push_back(maps_entry_of(p, load<mt_mmap>(data)));
        break;
    }
    case MT_REC_EXEC: on_exec(load<mt_exec>(data)); break;
    case MT_REC_FORK:
    case MT_REC_THREAD: on_fork(load<mt_fork>(data)); break;
    case MT_REC_EXIT: on_exit(load<mt_exit>(data)); break;
    }
    if (observer_) {
        if (const ProcessState* p = find(hdr.tgid))
            observer_(*static_cast<const mt_header*>(data), segment, *p);
    }
    return true;
}

SegmentId TraceState::on_fault(const mt_fault& f, bool count_for_process)
{
    ProcessState* p = find(f.hdr.tgid);
    SegmentId seg = SegmentTable::kUnmapped;
    if (p) {
        p->faults += count_for_process;
        seg = p->space.segment_of(f.addr);
    }
    if (seg >= counters_.size())
        counters_.resize(segments_.size());
    SegmentCounters& c = counters_[seg];
    ++c.faults;
    uint16_t flags = f.hdr.flags;
    c.writes += (flags & MT_FAULT_WRITE) != 0;
    c.instr += (flags & MT_FAULT_INSTR) != 0;
    c.protection += (flags & MT_FAULT_PROTECTION) != 0;
    c.kernel_mode += (flags & MT_FAULT_KERNEL_MODE) != 0;
    ++faults_;
    last_fault_[f.hdr.tid % last_fault_.size()] = {f.hdr.tid, seg, f.addr & kPageMask};

    if (p) {
        SegmentKind kind = segments_.at(seg).kind;
        if (kind == SegmentKind::Heap)
            heap_offsets_.add(f.addr - p->space.start_brk());
        else if (kind == SegmentKind::Stack && p->space.stack_top() > f.addr)
            stack_depths_.add(p->space.stack_top() - f.addr);
    }
    return seg;
}

void TraceState::replay_held(ProcessState& p, bool count_for_process)
{
    for (const ProcessState::HeldFault& held : p.held_faults) {
        SegmentId segment = on_fault(held.fault, count_for_process);
        if (observer_)
            observer_(held.fault.hdr, segment, p);
        if (held.major) {
            mt_major m{};
            m.hdr = held.fault.hdr;
            m.hdr.type = MT_REC_MAJOR;
            m.addr = held.fault.addr;
            on_major(m);
        }
    }
    p.held_faults.clear();
}

void TraceState::on_major(const mt_major& m)
{
    ++major_;
    const LastFault& last = last_fault_[m.hdr.tid % last_fault_.size()];
    // The thread's fault record precedes its MAJOR record: a thread handles one fault at a time.
    if (last.tid == m.hdr.tid && last.page == (m.addr & kPageMask) && last.segment < counters_.size())
        ++counters_[last.segment].major;
    else
        ++unmatched_major_;
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

std::string TraceState::resolve_path(ProcessState& p, const mt_mmap& m)
{
    size_t len = std::min<size_t>(m.path_len, sizeof(m.path));
    if (len && !(m.path_flags & MT_PATH_TRUNCATED))
        return path_from_components(m.path, len);
    // Deeper than the BPF walk goes: the file is usually still mapped, so /proc knows its path.
    uint32_t major = m.dev >> 20, minor = m.dev & 0xfffff;
    auto key = dev_key(major, minor, m.ino);
    auto it = paths_.find(key);
    if (it == paths_.end()) {
        try {
            for (const MapsEntry& e : source_.maps(p.pid))
                if (e.inode)
                    paths_.emplace(dev_key(e.dev_major, e.dev_minor, e.inode), e.path);
        } catch (const std::runtime_error&) {
        }
        it = paths_.find(key);
    }
    if (it != paths_.end())
        return it->second;
    return len ? "..." + path_from_components(m.path, len) : "(unknown file)";
}

void TraceState::on_mmap(ProcessState& p, const mt_mmap& m)
{
    ++mmap_calls_;
    mmap_sizes_.add(m.len);
    Region r;
    r.start = m.addr;
    r.end = m.addr + m.len;
    r.read = m.prot & PROT_READ;
    r.write = m.prot & PROT_WRITE;
    r.exec = m.prot & PROT_EXEC;
    r.shared = (m.mflags & MAP_SHARED) != 0;
    r.offset = m.pgoff;
    r.inode = m.ino;
    if (m.mflags & MAP_ANONYMOUS) {
        r.kind = r.shared ? RegionKind::Shm : RegionKind::Anon;
        r.path = r.shared ? "/dev/zero (deleted)" : "";
        r.thread_stack = (m.mflags & MAP_STACK) != 0;
    } else {
        MapsEntry as_maps;
        as_maps.path = resolve_path(p, m);
        as_maps.shared = r.shared;
        r.kind = region_from_maps(as_maps).kind;
        if (r.kind == RegionKind::Special || r.kind == RegionKind::Anon)
            r.kind = RegionKind::File;
        r.path = as_maps.path;
    }
    p.space.map(std::move(r));
}

MapsEntry TraceState::maps_entry_of(ProcessState& p, const mt_mmap& vma)
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
        e.path = resolve_path(p, vma);
    else if (vma.path_flags & MT_VMA_STACK)
        e.path = "[stack]";
    else if (vma.path_flags & MT_VMA_HEAP)
        e.path = "[heap]";
    else if (vma.path_flags & MT_VMA_VDSO)
        e.path = "[vdso]";
    else if (vma.path_flags & MT_VMA_VVAR)
        e.path = "[vvar]";
    else if (e.shared)
        e.path = "/dev/zero (deleted)";
    return e;
}

void TraceState::on_exec(const mt_exec& e)
{
    ProcessState& p = get_or_create(e.hdr.tgid);
    p.comm = fixed_string(e.comm, sizeof(e.comm));
    // The layout the BPF program read from the new mm, or else /proc (racy: the program may have
    // moved on, or be gone, by now).
    std::vector<MapsEntry> maps = std::move(p.exec_layout);
    p.exec_layout.clear();
    if (!(e.hdr.flags & MT_EXEC_LAYOUT_COMPLETE)) {
        try {
            maps = source_.maps(p.pid);
        } catch (const std::runtime_error&) {
        }
    }
    p.space.load_snapshot(maps, e.start_brk, stack_limit_);
    p.exec_pending = false;
    // The kernel's counters survive exec, so the comparison window opens once: at the launched
    // command's first exec (read by the BPF program, exact) or at attach. Faults the kernel took
    // while building the new image belong to it; at the first exec they are already in the baseline.
    bool opens_window = !p.baseline_known;
    uint64_t kernel_now = e.minflt + e.majflt;
    uint64_t seen = p.baseline_faults + p.faults + p.untraced_faults + p.held_faults.size();
    if (!opens_window && kernel_now > seen)
        p.untraced_faults += kernel_now - seen;
    if (opens_window) {
        p.baseline_known = true;
        p.baseline_exact = true;
        p.baseline_faults = e.minflt + e.majflt;
        p.faults = 0;
    }
    if (!p.wait_for_exec)
        replay_held(p, !opens_window);
    p.held_faults.clear();
    p.wait_for_exec = false;
}

void TraceState::on_fork(const mt_fork& f)
{
    ProcessState* parent = find(f.hdr.tgid);
    if (f.hdr.type == MT_REC_THREAD) {
        if (parent && f.child_sp)
            parent->space.label_thread_stack(f.child_sp, f.child_tid);
        return;
    }
    if (!parent)
        return;
    if (ProcessState* old = find(f.child_tgid); old && old->alive)
        return;
    auto child = std::make_unique<ProcessState>(*parent, f.child_tgid);  // replaces a dead pid's entry
    child->baseline_from_fork = true;
    // A new process starts with zero faults on the kernel's books, and the FORK record comes
    // before any of its faults: the comparison is exact from here.
    child->baseline_known = child->baseline_exact = true;
    last_process_ = nullptr;
    processes_[f.child_tgid] = std::move(child);
}

void TraceState::on_exit(const mt_exit& e)
{
    ProcessState* p = find(e.hdr.tgid);
    if (!p)
        return;
    p->alive = false;
    p->final_known = true;
    p->final_faults = e.minflt + e.majflt;
    p->space.clear();  // nothing faults in a dead process: keep long -f runs bounded
}

Report TraceState::report(double elapsed_s, double interval_s, bool final)
{
    Report r;
    r.elapsed_s = elapsed_s;
    r.interval_s = interval_s;
    r.final = final;
    r.faults = faults_;
    r.major = major_;
    r.interval_faults = faults_ - reported_faults_;
    reported_faults_ = faults_;
    r.kernel_counted_faults = kernel_faults_;
    r.dropped = dropped_;
    r.malformed = malformed_;
    for (SegmentId id = 0; id < counters_.size(); ++id) {
        SegmentCounters& c = counters_[id];
        if (!c.faults)
            continue;
        const SegmentInfo& info = segments_.at(id);
        SegmentRow row;
        row.label = info.label;
        row.kind = info.kind;
        row.faults = c.faults;
        row.major = c.major;
        row.writes = c.writes;
        row.instr = c.instr;
        row.protection = c.protection;
        row.kernel_mode = c.kernel_mode;
        row.interval_faults = c.faults - c.reported_faults;
        c.reported_faults = c.faults;
        r.segments.push_back(std::move(row));
    }
    std::stable_sort(r.segments.begin(), r.segments.end(), [](const SegmentRow& a, const SegmentRow& b) {
        return a.faults != b.faults ? a.faults > b.faults : a.label < b.label;
    });
    std::vector<uint32_t> pids;
    for (const auto& [pid, p] : processes_)
        pids.push_back(pid);
    std::sort(pids.begin(), pids.end());
    for (uint32_t pid : pids) {
        const ProcessState& p = *processes_.at(pid);
        ProcessRow row;
        row.pid = pid;
        row.comm = p.comm;
        row.alive = p.alive;
        row.faults = p.faults;
        row.untraced_faults = p.untraced_faults;
        // A final count below the baseline means one end is wrong: say unknown, never wrap.
        row.kernel_known = p.baseline_known && p.final_known && p.final_faults >= p.baseline_faults;
        row.kernel_exact = p.baseline_exact;
        row.kernel_baseline = p.baseline_from_fork ? "fork" : "exec";
        if (row.kernel_known)
            row.kernel_faults = p.final_faults - p.baseline_faults;
        r.processes.push_back(std::move(row));
    }
    if (const ProcessState* first = process(first_pid_)) {
        r.heap_start = first->space.start_brk();
        r.heap_size = first->space.brk() > r.heap_start ? first->space.brk() - r.heap_start : 0;
    }
    heap_history_.push_back(r.heap_size);
    r.heap_history = heap_history_;
    r.brk_calls = brk_calls_;
    r.mmap_calls = mmap_calls_;
    r.munmap_calls = munmap_calls_;
    r.mremap_calls = mremap_calls_;
    r.mprotect_calls = mprotect_calls_;
    r.mmap_sizes = mmap_sizes_;
    r.brk_grow = brk_grow_;
    r.brk_shrink = brk_shrink_;
    r.heap_offsets = heap_offsets_;
    r.stack_depths = stack_depths_;
    return r;
}

}  // namespace memtrace
