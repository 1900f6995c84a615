#include "analysis/resident_memory.h"

#include <algorithm>
#include <cstdint>

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr int64_t kPageSize = 4096;
constexpr size_t kMaxHistory = 3600;

void push(std::vector<uint64_t>& history, int64_t value)
{
    if (history.size() >= kMaxHistory)
        history.erase(history.begin());
    history.push_back(static_cast<uint64_t>(std::max<int64_t>(value, 0)));
}

}  // namespace

void ResidentMemory::on_rss(const mt_rss& rss, const Process* process)
{
    if (!process || !process->alive)
        return;
    Sample& s = samples_[rss.hdr.tgid];
    s = {rss.anon, rss.file, rss.shmem, rss.swap, std::max<int64_t>(s.peak, rss.peak), true};
}

void ResidentMemory::on_process(const ProcessEvent& e)
{
    if (e.kind == ProcessEvent::Kind::Forked) {
        samples_.erase(e.process.pid);  // a new process with a reused pid
        return;
    }
    if (e.kind != ProcessEvent::Kind::Exited)
        return;
    const auto x = e.record.as<mt_exit>();
    auto it = samples_.find(x.hdr.tgid);
    if (!x.rss_peak_pages && it == samples_.end())
        return;
    Sample& s = samples_[x.hdr.tgid];
    s.alive = false;
    // The kernel's high-water mark at exit is above any sample of it.
    constexpr uint64_t kMaxPages = INT64_MAX / kPageSize;  // bytes must fit in the report
    s.peak = std::max(s.peak, static_cast<int64_t>(std::min<uint64_t>(x.rss_peak_pages, kMaxPages)));
}

void ResidentMemory::report(Report& r, const ReportContext&)
{
    int64_t anon = 0, file = 0, shmem = 0, swap = 0, peak = 0;
    for (const auto& [pid, s] : samples_) {
        seen_ = true;
        peak = std::max(peak, s.peak);
        if (!s.alive)
            continue;  // its peak counts, its last value is gone with it
        anon += s.anon;
        file += s.file;
        shmem += s.shmem;
        swap += s.swap;
    }
    for (auto it = samples_.begin(); it != samples_.end();)
        it = it->second.alive ? std::next(it) : samples_.erase(it);
    r.rss_known = seen_;
    r.rss_anon = anon * kPageSize;
    r.rss_file = file * kPageSize;
    r.rss_shmem = shmem * kPageSize;
    r.rss_swap = swap * kPageSize;
    peak_ = std::max({peak_, (anon + file + shmem) * kPageSize, peak * kPageSize});
    r.rss_peak = peak_;
    push(history_, r.rss_anon + r.rss_file + r.rss_shmem);
    push(anon_history_, r.rss_anon);
    push(file_history_, r.rss_file);
    push(shmem_history_, r.rss_shmem);
    r.rss_history = history_;
    r.rss_anon_history = anon_history_;
    r.rss_file_history = file_history_;
    r.rss_shmem_history = shmem_history_;
}

}  // namespace memtrace
