#include "output/render_activity.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "output/format_util.h"
#include "output/render_json.h"

namespace memtrace {
namespace {

nlohmann::json row_json(const ActivityRow& row)
{
    nlohmann::json kinds = nlohmann::json::object();
    for (int k = 0; k < MT_KINDS; ++k)
        if (row.by_kind[k])
            kinds[kind_name(k)] = {{"faults", row.by_kind[k]}, {"interval_faults", row.interval_by_kind[k]}};
    nlohmann::json j = {{"cgroup", json_name(row.cgroup)},
                        {"alive", row.alive},
                        {"faults", row.faults},
                        {"interval_faults", row.interval_faults},
                        {"major", row.major},
                        {"interval_major", row.interval_major},
                        {"kernel_mode", row.kernel_mode},
                        {"kinds", kinds},
                        {"brk_grown", row.brk_grown},
                        {"mmap_bytes", row.mmap_bytes},
                        {"interval_brk_grown", row.interval_brk_grown},
                        {"interval_mmap_bytes", row.interval_mmap_bytes}};
    if (row.pid) {
        j["pid"] = row.pid;
        j["comm"] = json_name(row.comm);
    } else {
        j["processes"] = row.processes;
    }
    if (row.rss_known)
        j["rss_bytes"] = row.rss_bytes;
    return j;
}

}  // namespace

std::string leading_kinds(const ActivityRow& row, size_t n)
{
    const auto& counts = std::accumulate(row.interval_by_kind.begin(), row.interval_by_kind.end(), uint64_t{0})
                             ? row.interval_by_kind
                             : row.by_kind;
    uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
    std::vector<int> order(MT_KINDS);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return counts[a] > counts[b]; });
    std::string out;
    for (size_t i = 0; i < n && i < order.size() && total && counts[order[i]]; ++i)
        out += fmt::format("{}{} {}%", out.empty() ? "" : ", ", kind_name(order[i]), counts[order[i]] * 100 / total);
    return out.empty() ? "-" : out;
}

void render_activity_text(std::ostream& out, const Report& r, bool by_cgroup)
{
    fmt::print(out, "{} at {:.1f}s: {} processes counted ({} alive, {} exited in the last {:.1f}s)\n",
               r.final ? "Summary" : "Interval", r.elapsed_s, r.activity_processes, r.activity_live,
               r.activity_exited_in_interval, r.interval_s);
    if (r.overflow_lost)
        fmt::print(out, "  ({} faults of processes the kernel's tables had no room for were not counted)\n",
                   with_commas(r.overflow_lost));
    const auto& rows = by_cgroup ? r.cgroup_activity : r.activity;
    if (by_cgroup)
        fmt::print(out, "{:<40} {:>6} {:>10} {:>8} {:>12}  {:<26} {:>8} {:>8} {:>8}\n", "CGROUP", "PROCS", "FAULTS/s",
                   "MAJOR/s", "FAULTS", "KINDS", "BRK+", "MMAP+", "RSS");
    else
        fmt::print(out, "{:>8} {:<16} {:<24} {:>10} {:>8} {:>12}  {:<26} {:>8} {:>8} {:>8}\n", "PID", "COMM", "CGROUP",
                   "FAULTS/s", "MAJOR/s", "FAULTS", "KINDS", "BRK+", "MMAP+", "RSS");
    for (const ActivityRow& row : rows) {
        std::string rss = row.rss_known ? human_bytes(row.rss_bytes) : "-";
        std::string rates = fmt::format("{:>10} {:>8} {:>12}", with_commas(per_second(row.interval_faults, r.interval_s)),
                                        with_commas(per_second(row.interval_major, r.interval_s)), with_commas(row.faults));
        // An interval shows what grew in it; the summary, what grew over the whole run.
        const uint64_t brk = r.final ? row.brk_grown : row.interval_brk_grown;
        const uint64_t mmap = r.final ? row.mmap_bytes : row.interval_mmap_bytes;
        std::string tail = fmt::format("  {:<26} {:>8} {:>8} {:>8}", leading_kinds(row), human_bytes(brk),
                                       human_bytes(mmap), rss);
        std::string cgroup = terminal_safe(row.cgroup.empty() ? "-" : row.cgroup);
        if (by_cgroup)
            fmt::print(out, "{} {:>6} {}{}\n", fit(cgroup, 40), row.processes, rates, tail);
        else
            fmt::print(out, "{:>8} {} {} {}{}{}\n", row.pid, fit(terminal_safe(row.comm), 16), fit(cgroup, 24), rates,
                       tail, row.alive ? "" : "  (exited)");
    }
    fmt::print(out, "\n");
}

nlohmann::json activity_to_json(const Report& r)
{
    nlohmann::json processes = nlohmann::json::array(), cgroups = nlohmann::json::array();
    for (const ActivityRow& row : r.activity)
        processes.push_back(row_json(row));
    for (const ActivityRow& row : r.cgroup_activity)
        cgroups.push_back(row_json(row));
    return {{"processes_counted", r.activity_processes},
            {"processes_alive", r.activity_live},
            {"exited_in_interval", r.activity_exited_in_interval},
            {"not_counted_faults", r.overflow_lost},
            {"processes", processes},
            {"cgroups", cgroups}};
}

}  // namespace memtrace
