#include "output/timeline_series.h"

#include <fmt/format.h>

namespace memtrace {

GaugeSeries carried(const std::vector<int64_t>& samples)
{
    GaugeSeries out(samples.size());
    std::optional<int64_t> known;
    for (size_t b = 0; b < samples.size(); ++b) {
        if (samples[b] >= 0)
            known = samples[b];
        out[b] = known;
    }
    return out;
}

const Timeline::Process* pictured_series(const Timeline& timeline)
{
    for (const Timeline::Process& p : timeline.processes)
        if (p.pid == timeline.pid)
            return &p;
    return nullptr;
}

namespace {

// A process's resident memory counts up to the bucket it exited in.
GaugeSeries summed(const Timeline& timeline, std::vector<int64_t> Timeline::Process::*member)
{
    GaugeSeries sum(timeline.buckets);
    for (const Timeline::Process& p : timeline.processes) {
        GaugeSeries one = carried(p.*member);
        const size_t end = p.exited && timeline.bucket_ns ? p.exit_ns / timeline.bucket_ns + 1 : one.size();
        for (size_t b = 0; b < sum.size() && b < one.size() && b < end; ++b)
            if (one[b])
                sum[b] = sum[b].value_or(0) + *one[b];
        for (size_t b = end; b < sum.size(); ++b)
            sum[b] = sum[b].value_or(0);  // known: nothing
    }
    return sum;
}

}  // namespace

MemorySeries memory_series(const Timeline& timeline)
{
    MemorySeries m;
    const Timeline::Process* p = pictured_series(timeline);
    m.heap = p ? carried(p->heap) : GaugeSeries(timeline.buckets);
    m.anon = summed(timeline, &Timeline::Process::rss_anon);
    m.file = summed(timeline, &Timeline::Process::rss_file);
    m.shmem = summed(timeline, &Timeline::Process::rss_shmem);
    return m;
}

std::string hex_address(uint64_t addr) { return fmt::format("{:#x}", addr); }

}  // namespace memtrace
