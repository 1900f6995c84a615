// Decodes ring-buffer records (with size checks), keeps each traced process's mapping model and
// attributes every fault to a segment. Pure: the kernel-facing layer feeds it bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include <linux/types.h>

#include "address_space.h"
#include "code_namer.h"
#include "crash_explainer.h"
#include "histogram.h"
#include "proc_status.h"
#include "report.h"
#include "segments.h"
#include "memtrace/events.h"

namespace memtrace {

// Smallest size a record of `type` may have; 0 for an unknown type.
size_t record_min_size(uint16_t type);

// "/usr/lib/libc.so.6" from mt_mmap.path's leaf-first components "libc.so.6\0lib\0usr\0".
std::string path_from_components(const char* buf, size_t len);

struct ProcessState {
    ProcessState(uint32_t pid, SegmentTable& segments, ProcessSource& source) : pid(pid), space(segments, source) {}
    ProcessState(const ProcessState& parent, uint32_t child_pid)
        : pid(child_pid), comm(parent.comm), space(parent.space), unmapped(parent.unmapped)
    {
    }

    uint32_t pid;
    std::string comm;
    AddressSpace space;
    bool alive = true;
    uint64_t faults = 0;  // since the kernel baseline
    // Faults the kernel counted that raised no tracepoint: get_user_pages copying the arguments
    // into the new stack during a later exec (measured at each exec from the kernel's counters).
    uint64_t untraced_faults = 0;
    bool baseline_known = false, baseline_exact = false, final_known = false;
    bool baseline_from_fork = false;
    uint64_t baseline_faults = 0, final_faults = 0;
    // A launched command: its faults count from its exec on (before it, it is memtrace's fork).
    bool wait_for_exec = false;
    // Between execve() entry and the exec record, faults are held until the new layout is known.
    bool exec_pending = false;
    struct HeldFault {
        mt_fault fault;
        bool major = false;   // its MAJOR (or major FAULT_DONE) record came while it was held
        uint64_t done_ns = 0; // --latency: when its FAULT_DONE record said it was handled
    };
    std::vector<HeldFault> held_faults;
    // The new image's mappings, sent by the BPF program just before its exec record.
    std::vector<MapsEntry> exec_layout;
    UnmapHistory unmapped;
    // Exited: the model is kept until the next report, so that stacks drained then still name
    // their frames, and dropped after it (long -f runs stay bounded).
    bool clear_at_report = false;
    std::optional<ResidentPages> rss;  // last sample (alive) or its peak at exit
};

// Faults of one page counted in the kernel while the ring buffer was full (the overflow map).
struct OverflowCount {
    uint32_t tgid = 0;
    uint64_t page = 0;
    uint64_t faults = 0, major = 0;
};

// --stacks: one entry of the kernel's stack_counts map with its frames (leaf first).
struct RawStack {
    mt_stack_key key{};
    uint64_t count = 0;
    std::vector<uint64_t> frames;
};

class TraceState {
public:
    // Called for every decoded record after it was applied; `segment` is set for faults.
    using Observer = std::function<void(const mt_header&, SegmentId segment, const ProcessState&)>;

    TraceState(ProcessSource& source, uint64_t stack_limit = 8 << 20);

    // Starts tracing a process that already runs (-p): its layout comes from /proc now.
    ProcessState& attach(uint32_t pid, const std::string& comm);
    // Starts tracing a command memtrace forked and holds at a gate: it counts from its exec on.
    ProcessState& attach_launched(uint32_t pid, const std::string& comm);
    // Records the kernel's minflt+majflt for a process (baseline at attach, or final at the end).
    void set_kernel_baseline(uint32_t pid, uint64_t faults, bool exact);
    void set_kernel_final(uint32_t pid, uint64_t faults);
    // Marks the anonymous mapping holding `sp` as thread `tid`'s stack (threads found at attach).
    void label_thread_stack(uint32_t pid, uint32_t tid, uint64_t sp);

    // Applies one record. Returns false (and counts it) when the record is malformed.
    bool handle(const void* data, size_t size);

    void set_observer(Observer observer) { observer_ = std::move(observer); }
    // CLOCK_MONOTONIC of the trace's start: crash reports give times relative to it.
    void set_clock_origin(uint64_t ns) { origin_ns_ = ns; }
    // Names code for sites, stacks and crashes; without one, "module+0xoffset". Not owned.
    void set_code_namer(CodeNamer* namer) { namer_ = namer ? namer : &plain_namer_; }
    // How many fault sites report() lists (0: none, and no per-fault site bookkeeping).
    void set_sites(size_t n) { sites_shown_ = n; }
    void set_latency(bool on) { latency_ = on; }
    // A live process's resident pages, sampled once an interval (its peak also comes at exit).
    void set_rss(uint32_t pid, const ResidentPages& rss);
    // Stacks drained from the kernel since the last call: folded with the models as they are now.
    void add_stacks(const std::vector<RawStack>& stacks, uint64_t lost);
    // Folded stacks ("comm;root;...;leaf" -> count) of one enum mt_stack_kind, for --folded.
    const std::unordered_map<std::string, uint64_t>& folded(uint32_t kind) const { return folded_.at(kind); }
    void set_kernel_counters(uint64_t faults, uint64_t dropped, uint64_t overflow_lost = 0)
    {
        kernel_faults_ = faults;
        dropped_ = dropped;
        overflow_lost_ = overflow_lost;
    }
    // Faults the kernel counted per page instead of streaming them: attributed with the model as
    // it is now (call when every record made before them has been handled).
    void add_overflow(const std::vector<OverflowCount>& counts);

    // Closes the current interval and returns what renderers draw.
    Report report(double elapsed_s, double interval_s, bool final);

    const SegmentTable& segments() const { return segments_; }
    const ProcessState* process(uint32_t pid) const;
    size_t live_processes() const;
    std::vector<uint32_t> live_pids() const;
    uint64_t faults() const { return faults_; }

private:
    struct SegmentCounters {
        uint64_t faults = 0, major = 0, writes = 0, instr = 0, protection = 0, kernel_mode = 0;
        uint64_t reported_faults = 0;  // `faults` at the previous report
        // --latency only: [0] minor, [1] major; allocated on first use (1 KiB a segment).
        std::unique_ptr<std::array<Log2Histogram, 2>> latency_us;
    };
    // The last fault of a thread, so that a MAJOR or FAULT_DONE record can find what it completes.
    struct LastFault {
        uint32_t tid = 0;
        SegmentId segment = 0;
        uint64_t page = 0;
        uint64_t ts_ns = 0;
        bool done = false;
    };
    struct SiteCounter {
        uint64_t faults = 0, kernel_mode = 0;
        SegmentId segment = 0;
    };

    ProcessState* find(uint32_t pid);
    ProcessState& get_or_create(uint32_t pid);
    // Counts the fault; returns the segment it was attributed to.
    SegmentId on_fault(const mt_fault& f, bool count_for_process = true);
    // A MAJOR or FAULT_DONE record: the thread's last fault was handled (and how).
    void on_fault_done(const mt_major& m);
    void count_site(const ProcessState& p, const mt_fault& f, SegmentId segment);
    // Module id and link-time address of code address `ip` in `p`, for naming it later.
    std::pair<uint32_t, uint64_t> code_key(const ProcessState& p, uint64_t ip);
    std::string name_code(const ProcessState* p, uint64_t ip, bool full);
    void remember_unmap(ProcessState& p, uint64_t start, uint64_t end, uint64_t ts_ns, uint64_t started_ns = ~0ULL);
    void on_signal(const mt_signal& s);
    void fill_stacks(Report& r) const;
    void fill_sites(Report& r);
    void fill_rss(Report& r);
    void replay_held(ProcessState& p, bool count_for_process);
    void on_mmap(ProcessState& p, const mt_mmap& m);
    void on_exec(const mt_exec& e);
    MapsEntry maps_entry_of(ProcessState& p, const mt_mmap& vma);
    void on_fork(const mt_fork& f);
    void on_exit(const mt_exit& e);
    std::string resolve_path(ProcessState& p, const mt_mmap& m);

    ProcessSource& source_;
    uint64_t stack_limit_;
    SegmentTable segments_;
    std::vector<SegmentCounters> counters_;
    std::unordered_map<uint32_t, std::unique_ptr<ProcessState>> processes_;
    uint32_t first_pid_ = 0;
    ProcessState* last_process_ = nullptr;
    std::array<LastFault, 1024> last_fault_{};
    std::map<std::pair<uint32_t, uint64_t>, std::string> paths_;  // (dev, inode) -> path, from /proc
    Observer observer_;
    uint64_t origin_ns_ = 0;
    PlainCodeNamer plain_namer_;
    CodeNamer* namer_ = &plain_namer_;

    size_t sites_shown_ = 10;
    // Fault sites by (code module id << 48 | link-time address); module ids index code_modules_.
    std::unordered_map<uint64_t, SiteCounter> sites_;
    std::vector<std::string> code_modules_{"[unknown]"};
    std::unordered_map<std::string, uint32_t> code_module_ids_;

    bool latency_ = false;
    Log2Histogram latency_minor_us_, latency_major_us_;
    uint64_t latency_paired_ = 0, latency_unmatched_ = 0;

    int64_t rss_peak_ = 0;
    bool rss_seen_ = false;
    std::vector<uint64_t> rss_history_, rss_anon_history_, rss_file_history_, rss_shmem_history_;

    std::vector<CrashRow> crashes_;

    std::vector<ProcessRow> exited_rows_;  // children that exited, in the order they did
    ProcessRow exited_overflow_;           // the ones beyond kMaxExitedRows, summed
    uint64_t exited_overflow_count_ = 0;

    bool stacks_ = false;
    std::array<std::unordered_map<std::string, uint64_t>, 3> folded_;
    uint64_t stack_faults_ = 0, shallow_stack_faults_ = 0, stacks_lost_ = 0, stack_collisions_ = 0;

    uint64_t faults_ = 0, major_ = 0, unmatched_major_ = 0, malformed_ = 0;
    uint64_t reported_faults_ = 0;
    uint64_t kernel_faults_ = 0, dropped_ = 0;
    uint64_t overflow_faults_ = 0, overflow_lost_ = 0;
    uint64_t brk_calls_ = 0, mmap_calls_ = 0, munmap_calls_ = 0, mremap_calls_ = 0, mprotect_calls_ = 0;
    std::vector<uint64_t> heap_history_;
    Log2Histogram mmap_sizes_, brk_grow_, brk_shrink_, heap_offsets_, stack_depths_;
};

}  // namespace memtrace
