#include "trace_state.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#include <fmt/format.h>

namespace memtrace {
namespace {

constexpr uint64_t kPageMask = ~0xfffULL;
constexpr size_t kMaxHeldFaults = 4096;
// Bounds on what a long trace accumulates: distinct fault sites and code modules, crash rows,
// distinct folded stacks, interval samples of RSS.
constexpr size_t kMaxSites = 1 << 17;
constexpr uint32_t kMaxCodeModules = 1 << 16;
constexpr size_t kMaxCrashes = 64;
constexpr size_t kMaxFoldedStacks = 1 << 17;
constexpr size_t kMaxHistory = 3600;
constexpr size_t kMaxExitedRows = 4096;
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kUserAddressBits = 48;

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
    case MT_REC_MAJOR:
    case MT_REC_FAULT_DONE: return sizeof(mt_major);
    case MT_REC_SIGNAL: return sizeof(mt_signal);
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

std::vector<uint32_t> TraceState::live_pids() const
{
    std::vector<uint32_t> pids;
    for (const auto& [pid, p] : processes_)
        if (p->alive)
            pids.push_back(pid);
    return pids;
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
    case MT_REC_MAJOR:
    case MT_REC_FAULT_DONE: {
        ProcessState* p = find(hdr.tgid);
        if (p && p->wait_for_exec)
            return true;
        const auto m = load<mt_major>(data);
        if (p && p->exec_pending) {
            // Its fault is held too: mark it, so that the replay completes it.
            for (auto it = p->held_faults.rbegin(); it != p->held_faults.rend(); ++it) {
                if (it->fault.hdr.tid == m.hdr.tid) {
                    if ((it->fault.addr & kPageMask) == (m.addr & kPageMask)) {
                        it->major = m.hdr.type == MT_REC_MAJOR || (m.hdr.flags & MT_DONE_MAJOR);
                        if (m.hdr.type == MT_REC_FAULT_DONE)
                            it->done_ns = m.hdr.ts_ns;
                    }
                    break;
                }
            }
            return true;
        }
        on_fault_done(m);
        break;
    }
    case MT_REC_SIGNAL: on_signal(load<mt_signal>(data)); break;
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
        ProcessState& p = get_or_create(hdr.tgid);
        const uint64_t started = m.enter_ns ? m.enter_ns : ~0ULL;
        remember_unmap(p, m.addr, m.addr + m.len, hdr.ts_ns, started);
        p.space.unmap(m.addr, m.len, started);
        break;
    }
    case MT_REC_MREMAP: {
        const auto m = load<mt_mremap>(data);
        ++mremap_calls_;
        constexpr uint64_t kDontUnmap = 4;  // MREMAP_DONTUNMAP
        ProcessState& p = get_or_create(hdr.tgid);
        if (m.new_addr != m.old_addr && !(m.mflags & kDontUnmap))
            remember_unmap(p, m.old_addr, m.old_addr + m.old_len, hdr.ts_ns);
        else if (m.new_addr == m.old_addr && m.new_len < m.old_len)
            remember_unmap(p, m.old_addr + m.new_len, m.old_addr + m.old_len, hdr.ts_ns);
        p.space.remap(m.old_addr, m.old_len, m.new_addr, m.new_len, m.mflags & kDontUnmap, hdr.ts_ns);
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
        ProcessState& p = get_or_create(hdr.tgid);
        if (b.new_brk < b.old_brk)  // the kernel unmaps whole pages above the new break
            remember_unmap(p, (b.new_brk + kPageSize - 1) & kPageMask, (b.old_brk + kPageSize - 1) & kPageMask,
                           hdr.ts_ns);
        p.space.set_brk(b.start_brk, b.new_brk);
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
        r.mapped_ns = hdr.ts_ns;
        get_or_create(hdr.tgid).space.map(std::move(r));
        break;
    }
    case MT_REC_SHMDT: {
        const auto s = load<mt_shmat>(data);
        ProcessState& p = get_or_create(hdr.tgid);
        if (const Region* r = p.space.region_of(s.addr); r && r->kind == RegionKind::Shm) {
            remember_unmap(p, r->start, r->end, hdr.ts_ns);
            p.space.unmap(r->start, r->end - r->start);
        }
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
    last_fault_[f.hdr.tid % last_fault_.size()] = {f.hdr.tid, seg, f.addr & kPageMask, f.hdr.ts_ns, false};
    if (p && sites_shown_)
        count_site(*p, f, seg);
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
        if (held.major || held.done_ns) {
            mt_major m{};
            m.hdr = held.fault.hdr;
            m.hdr.type = held.done_ns ? MT_REC_FAULT_DONE : MT_REC_MAJOR;
            m.hdr.flags = held.major ? MT_DONE_MAJOR : 0;
            if (held.done_ns)
                m.hdr.ts_ns = held.done_ns;
            m.addr = held.fault.addr;
            on_fault_done(m);
        }
    }
    p.held_faults.clear();
}

void TraceState::on_fault_done(const mt_major& m)
{
    const bool major = m.hdr.type == MT_REC_MAJOR || (m.hdr.flags & MT_DONE_MAJOR);
    LastFault& last = last_fault_[m.hdr.tid % last_fault_.size()];
    // The thread's fault record precedes its completion: a thread handles one fault at a time, and
    // both records go through the one ring buffer in the order they were made.
    const bool paired = last.tid == m.hdr.tid && last.page == (m.addr & kPageMask) && !last.done &&
                        last.segment < counters_.size();
    if (major) {
        ++major_;
        if (paired)
            ++counters_[last.segment].major;
        else
            ++unmatched_major_;
    }
    if (m.hdr.type == MT_REC_FAULT_DONE) {
        if (paired && m.hdr.ts_ns >= last.ts_ns) {
            uint64_t us = (m.hdr.ts_ns - last.ts_ns) / 1000;
            SegmentCounters& c = counters_[last.segment];
            if (!c.latency_us)
                c.latency_us = std::make_unique<std::array<Log2Histogram, 2>>();
            (*c.latency_us)[major].add(us);
            (major ? latency_major_us_ : latency_minor_us_).add(us);
            ++latency_paired_;
        } else {
            ++latency_unmatched_;
        }
    }
    if (paired)
        last.done = true;
}

std::pair<uint32_t, uint64_t> TraceState::code_key(const ProcessState& p, uint64_t ip)
{
    const Region* r = p.space.code_region_of(ip);
    if (!r)
        return {0, ip};  // "[unknown]": no mapping holds it (yet)
    if (!r->code_module) {
        const std::string& module = r->path.empty() ? std::string("[anonymous]") : r->path;
        auto it = code_module_ids_.find(module);
        if (it != code_module_ids_.end()) {
            r->code_module = it->second;
        } else if (code_modules_.size() < kMaxCodeModules) {
            r->code_module = static_cast<uint32_t>(code_modules_.size());
            code_modules_.push_back(module);
            code_module_ids_.emplace(module, r->code_module);
        } else {
            return {0, ip};
        }
    }
    // ELF objects by link-time address (what symbol tables use), other files by file offset,
    // anonymous code (JIT) by its address.
    uint64_t where = r->elf ? ip - r->bias : r->path.empty() ? ip : ip - r->start + r->offset;
    return {r->code_module, where};
}

void TraceState::count_site(const ProcessState& p, const mt_fault& f, SegmentId segment)
{
    if (!f.ip)
        return;
    auto [module, where] = code_key(p, f.ip);
    uint64_t key = (static_cast<uint64_t>(module) << kUserAddressBits) | (where & ((1ULL << kUserAddressBits) - 1));
    auto it = sites_.find(key);
    if (it == sites_.end()) {
        if (sites_.size() >= kMaxSites)
            key = 0;  // "[unknown]+0": counted, not placed
        it = sites_.try_emplace(key).first;
    }
    SiteCounter& c = it->second;
    ++c.faults;
    c.kernel_mode += (f.hdr.flags & MT_FAULT_KERNEL_MODE) != 0;
    c.segment = segment;
}

std::string TraceState::name_code(const ProcessState* p, uint64_t ip, bool full)
{
    if (!p)
        return fmt::format("0x{:x}", ip);
    auto [module, where] = code_key(*p, ip);
    if (module == 0)
        return full ? fmt::format("0x{:x}", ip) : "[unknown]";
    return namer_->name(code_modules_[module], where, full);
}

void TraceState::remember_unmap(ProcessState& p, uint64_t start, uint64_t end, uint64_t ts_ns, uint64_t started_ns)
{
    // The kernel unmaps whole pages: a length of 100 takes the page.
    start &= kPageMask;
    end = (end + kPageSize - 1) & kPageMask;
    const auto& regions = p.space.regions();
    auto it = regions.upper_bound(start);
    if (it != regions.begin())
        --it;
    for (; it != regions.end() && it->second.start < end; ++it) {
        const Region& r = it->second;
        if (r.end <= start || r.mapped_ns > started_ns)  // not there yet when the unmap ran
            continue;
        uint64_t from = std::max(start, r.start), to = std::min(end, r.end);
        SegmentId segment = r.segment_at(from);
        p.unmapped.add({from, to, ts_ns, segments_.at(segment).label, segment});
    }
}

void TraceState::on_signal(const mt_signal& s)
{
    ProcessState* p = find(s.hdr.tgid);
    if (!p || p->wait_for_exec || crashes_.size() >= kMaxCrashes)
        return;
    CrashExplanation why = explain_crash(s, p->space, segments_, p->unmapped, origin_ns_);
    CrashRow row;
    row.pid = s.hdr.tgid;
    row.tid = s.hdr.tid;
    row.time_s = s.hdr.ts_ns > origin_ns_ ? (s.hdr.ts_ns - origin_ns_) / 1e9 : 0;
    row.signal = signal_name(s.signo);
    row.code = signal_code_name(s.signo, s.code);
    row.kind = crash_kind_name(why.kind);
    row.explanation = std::move(why.summary);
    row.addr = s.addr;
    row.ip = s.ip;
    row.location = s.code > 0 ? name_code(p, s.ip, true) : std::string();
    if (s.disposition == MT_SIG_HANDLED)
        row.explanation += "; the process has a handler for it and may survive";
    else if (s.disposition == MT_SIG_IGNORED)
        row.explanation += "; the process ignores it (the kernel still kills it for a fault it cannot retry)";
    crashes_.push_back(std::move(row));
}

void TraceState::add_overflow(const std::vector<OverflowCount>& counts)
{
    for (const OverflowCount& c : counts) {
        ProcessState* p = find(c.tgid);
        SegmentId seg = SegmentTable::kUnmapped;
        if (p) {
            seg = p->space.segment_of(c.page);
            // Unmapped since: the fault was on what the page held then.
            if (seg == SegmentTable::kUnmapped)
                if (const UnmappedRange* gone = p->unmapped.find(c.page))
                    seg = gone->segment;
            p->faults += c.faults;
        }
        if (seg >= counters_.size())
            counters_.resize(segments_.size());
        counters_[seg].faults += c.faults;
        counters_[seg].major += c.major;
        faults_ += c.faults;
        major_ += c.major;
        overflow_faults_ += c.faults;
    }
}

void TraceState::set_rss(uint32_t pid, const ResidentPages& rss)
{
    if (ProcessState* p = find(pid); p && p->alive)
        p->rss = rss;
}

void TraceState::add_stacks(const std::vector<RawStack>& stacks, uint64_t lost)
{
    stacks_ = true;
    stacks_lost_ = lost;
    for (const RawStack& raw : stacks) {
        if (raw.key.kind >= folded_.size())
            continue;
        const ProcessState* p = find(raw.key.tgid);
        std::string line = p && !p->comm.empty() ? p->comm : fmt::format("pid {}", raw.key.tgid);
        // Folded stacks separate frames with ';' and end with " count": keep both out of names.
        auto clean = [](std::string s) {
            for (char& c : s)
                if (c == ';' || c == ' ')
                    c = '_';
            return s;
        };
        line = clean(line);
        size_t depth = 0;
        constexpr int32_t kBucketTaken = -17;  // -EEXIST from bpf_get_stackid
        if (raw.key.stack_id == kBucketTaken || (raw.key.stack_id >= 0 && raw.frames.empty())) {
            line += ";[stack_not_kept:table_collision]";
            if (raw.key.kind == MT_STACK_FAULT)
                stack_collisions_ += raw.count;
        } else if (raw.key.stack_id < 0) {
            line += ";[no_user_stack]";
        } else {
            for (auto it = raw.frames.rbegin(); it != raw.frames.rend(); ++it) {
                line += ';';
                line += clean(name_code(p, *it, false));
                ++depth;
            }
        }
        auto& folded = folded_[raw.key.kind];
        if (folded.size() >= kMaxFoldedStacks && !folded.count(line))
            line = "[more_stacks_than_memtrace_keeps]";  // folded frames hold no spaces
        folded[line] += raw.count;
        if (raw.key.kind == MT_STACK_FAULT) {
            stack_faults_ += raw.count;
            if (depth && depth <= 2)  // a missing stack says nothing about frame pointers
                shallow_stack_faults_ += raw.count;
        }
    }
}

void TraceState::fill_stacks(Report& r) const
{
    r.stacks = stacks_;
    r.stack_faults = stack_faults_;
    r.shallow_stack_faults = shallow_stack_faults_;
    r.stacks_lost = stacks_lost_;
    r.stack_collisions = stack_collisions_;
    auto top = [](const std::unordered_map<std::string, uint64_t>& folded, size_t n) {
        std::vector<std::pair<std::string, uint64_t>> all(folded.begin(), folded.end());
        size_t keep = std::min(n, all.size());
        std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        std::vector<StackRow> rows;
        for (size_t i = 0; i < keep; ++i) {
            StackRow row;
            row.count = all[i].second;
            size_t start = 0;
            const std::string& line = all[i].first;
            bool first = true;
            while (start <= line.size()) {
                size_t semi = line.find(';', start);
                std::string part = line.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
                if (first)
                    row.comm = part;
                else
                    row.frames.push_back(part);
                first = false;
                if (semi == std::string::npos)
                    break;
                start = semi + 1;
            }
            rows.push_back(std::move(row));
        }
        return rows;
    };
    r.fault_stacks = top(folded_[MT_STACK_FAULT], 5);
    r.brk_stacks = top(folded_[MT_STACK_BRK], 3);
    r.mmap_stacks = top(folded_[MT_STACK_MMAP], 3);
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
    r.mapped_ns = m.hdr.ts_ns;
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
    p.unmapped.clear();  // the old image's history says nothing about the new one
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
    if (e.rss_peak_pages) {  // the kernel's high-water mark at exit: above any sample of it
        if (!p->rss)
            p->rss.emplace();
        constexpr uint64_t kMaxPages = INT64_MAX / kPageSize;  // bytes must fit in the report
        p->rss->peak = std::max(p->rss->peak, static_cast<int64_t>(std::min<uint64_t>(e.rss_peak_pages, kMaxPages)));
    }
    p->clear_at_report = true;  // nothing faults in a dead process: keep long -f runs bounded
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
    r.overflow_faults = overflow_faults_;
    r.overflow_lost = overflow_lost_;
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
        if (c.latency_us) {
            row.latency_minor_us = (*c.latency_us)[0];
            row.latency_major_us = (*c.latency_us)[1];
        }
        r.segments.push_back(std::move(row));
    }
    std::stable_sort(r.segments.begin(), r.segments.end(), [](const SegmentRow& a, const SegmentRow& b) {
        return a.faults != b.faults ? a.faults > b.faults : a.label < b.label;
    });
    fill_rss(r);  // before exited processes leave the table: their peaks count
    std::vector<uint32_t> pids;
    for (const auto& [pid, p] : processes_)
        pids.push_back(pid);
    std::sort(pids.begin(), pids.end());
    std::vector<uint32_t> compact;  // exited since the last report: kept from now on as a row only
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
        if (p.clear_at_report && pid != first_pid_)
            compact.push_back(pid);
        r.processes.push_back(std::move(row));
    }
    r.processes.insert(r.processes.end(), exited_rows_.begin(), exited_rows_.end());
    if (exited_overflow_.faults || exited_overflow_count_) {
        r.processes.push_back(exited_overflow_);
        r.processes.back().comm = fmt::format("({} more exited processes)", exited_overflow_count_);
    }
    // Exited children leave the table: a -f trace of a build that starts thousands of processes
    // keeps a row for each (up to kMaxExitedRows, then one row for the rest), not their state.
    for (uint32_t pid : compact) {
        const ProcessRow& row = *std::find_if(r.processes.begin(), r.processes.end(),
                                              [pid](const ProcessRow& x) { return x.pid == pid; });
        if (exited_rows_.size() < kMaxExitedRows) {
            exited_rows_.push_back(row);
        } else {
            ++exited_overflow_count_;
            exited_overflow_.alive = false;
            exited_overflow_.faults += row.faults;
            exited_overflow_.untraced_faults += row.untraced_faults;
            exited_overflow_.kernel_known = exited_overflow_count_ == 1 ? row.kernel_known
                                                                        : exited_overflow_.kernel_known && row.kernel_known;
            exited_overflow_.kernel_exact = exited_overflow_.kernel_known;
            exited_overflow_.kernel_baseline = "fork";
            exited_overflow_.kernel_faults += row.kernel_faults;
        }
        processes_.erase(pid);
    }
    if (!compact.empty())
        last_process_ = nullptr;
    if (const ProcessState* first = process(first_pid_)) {
        r.heap_start = first->space.start_brk();
        r.heap_size = first->space.brk() > r.heap_start ? first->space.brk() - r.heap_start : 0;
    }
    if (heap_history_.size() >= kMaxHistory)
        heap_history_.erase(heap_history_.begin());
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

    fill_sites(r);
    r.latency = latency_;
    r.latency_minor_us = latency_minor_us_;
    r.latency_major_us = latency_major_us_;
    r.latency_paired = latency_paired_;
    r.latency_unmatched = latency_unmatched_;
    r.crashes = crashes_;
    fill_stacks(r);

    for (auto& [pid, p] : processes_) {
        if (p->clear_at_report) {
            p->space.clear();
            p->unmapped.clear();
            std::vector<ProcessState::HeldFault>().swap(p->held_faults);
            p->clear_at_report = false;
        }
    }
    return r;
}

void TraceState::fill_sites(Report& r)
{
    if (!sites_shown_)
        return;
    std::vector<std::pair<uint64_t, const SiteCounter*>> all;
    all.reserve(sites_.size());
    for (const auto& [key, counter] : sites_)
        all.emplace_back(key, &counter);
    size_t keep = std::min(sites_shown_, all.size());
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
        return a.second->faults != b.second->faults ? a.second->faults > b.second->faults : a.first < b.first;
    });
    for (size_t i = 0; i < keep; ++i) {
        // Below 0.1% of the faults a site is not worth naming: symbolizing it can mean reading a
        // library's whole debug info (libc's: ~0.1 s and ~15 MB) for one fault of ld.so's.
        if (all[i].second->faults * 1000 < faults_)
            break;
        uint64_t key = all[i].first;
        uint32_t module = static_cast<uint32_t>(key >> kUserAddressBits);
        uint64_t where = key & ((1ULL << kUserAddressBits) - 1);
        SiteRow row;
        row.location = module == 0 ? fmt::format("0x{:x}", where) : namer_->name(code_modules_[module], where, true);
        row.faults = all[i].second->faults;
        row.kernel_mode = all[i].second->kernel_mode;
        row.segment = segments_.at(all[i].second->segment).label;
        r.sites.push_back(std::move(row));
    }
}

void TraceState::fill_rss(Report& r)
{
    int64_t anon = 0, file = 0, shmem = 0, swap = 0, peak = 0;
    for (const auto& [pid, p] : processes_) {
        if (!p->rss)
            continue;
        rss_seen_ = true;
        peak = std::max<int64_t>(peak, p->rss->peak);
        if (!p->alive)
            continue;  // its peak counts, its last value is gone with it
        anon += p->rss->anon;
        file += p->rss->file;
        shmem += p->rss->shmem;
        swap += p->rss->swap;
    }
    r.rss_known = rss_seen_;
    const int64_t page = static_cast<int64_t>(kPageSize);
    r.rss_anon = anon * page;
    r.rss_file = file * page;
    r.rss_shmem = shmem * page;
    r.rss_swap = swap * page;
    rss_peak_ = std::max({rss_peak_, (anon + file + shmem) * page, peak * page});
    r.rss_peak = rss_peak_;
    auto push = [](std::vector<uint64_t>& history, int64_t value) {
        if (history.size() >= kMaxHistory)
            history.erase(history.begin());
        history.push_back(static_cast<uint64_t>(std::max<int64_t>(value, 0)));
    };
    push(rss_history_, r.rss_anon + r.rss_file + r.rss_shmem);
    push(rss_anon_history_, r.rss_anon);
    push(rss_file_history_, r.rss_file);
    push(rss_shmem_history_, r.rss_shmem);
    r.rss_history = rss_history_;
    r.rss_anon_history = rss_anon_history_;
    r.rss_file_history = rss_file_history_;
    r.rss_shmem_history = rss_shmem_history_;
}

}  // namespace memtrace
