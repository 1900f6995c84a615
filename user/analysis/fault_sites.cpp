#include "analysis/fault_sites.h"

#include <algorithm>

#include "model/process_table.h"

namespace memtrace {
namespace {

constexpr size_t kMaxSites = 1 << 17;  // distinct sites a long trace keeps apart
constexpr uint64_t kUserAddressBits = 48;
constexpr uint64_t kAddressMask = (1ULL << kUserAddressBits) - 1;

}  // namespace

void FaultSites::on_fault(const FaultEvent& e)
{
    ++faults_;
    if (!shown_ || !e.process || !e.fault.ip)
        return;
    CodeLocator::Key where = locator_.key(e.process->memory, e.fault.ip);
    uint64_t key = (uint64_t{where.module} << kUserAddressBits) | (where.where & kAddressMask);
    auto it = sites_.find(key);
    if (it == sites_.end()) {
        if (sites_.size() >= kMaxSites)
            key = 0;  // "[unknown]+0": counted, not placed
        it = sites_.try_emplace(key).first;
    }
    Counter& c = it->second;
    ++c.faults;
    c.kernel_mode += (e.fault.hdr.flags & MT_FAULT_KERNEL_MODE) != 0;
    c.segment = e.segment;
}

void FaultSites::report(Report& r, const ReportContext&)
{
    if (!shown_)
        return;
    std::vector<std::pair<uint64_t, const Counter*>> all;
    all.reserve(sites_.size());
    for (const auto& [key, counter] : sites_)
        all.emplace_back(key, &counter);
    size_t keep = std::min(shown_, all.size());
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
        return a.second->faults != b.second->faults ? a.second->faults > b.second->faults : a.first < b.first;
    });
    for (size_t i = 0; i < keep; ++i) {
        // Below 0.1% of the faults a site is not worth naming: symbolizing it can mean reading a
        // library's whole debug info (libc's: ~0.1 s and ~15 MB) for one fault of ld.so's.
        if (all[i].second->faults * 1000 < faults_)
            break;
        uint64_t key = all[i].first;
        CodeLocator::Key where{static_cast<uint32_t>(key >> kUserAddressBits), key & kAddressMask};
        SiteRow row;
        row.location = locator_.name(where, true);
        row.faults = all[i].second->faults;
        row.kernel_mode = all[i].second->kernel_mode;
        row.segment = segments_.at(all[i].second->segment).label;
        r.sites.push_back(std::move(row));
    }
}

}  // namespace memtrace
