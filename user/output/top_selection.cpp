#include "output/top_selection.h"

#include <algorithm>

namespace memtrace {

const std::vector<ActivityRow>& TopSelection::shown(const Report& report) const
{
    return rows_ == TopRows::Cgroups ? report.cgroup_activity : report.activity;
}

const ActivityRow* TopSelection::selected(const Report& report) const
{
    const std::vector<ActivityRow>& rows = shown(report);
    return index_ < rows.size() ? &rows[index_] : nullptr;
}

size_t TopSelection::first_shown(size_t count, size_t visible) const
{
    if (visible == 0)
        return 0;
    size_t first = first_;
    if (index_ < first)
        first = index_;
    else if (index_ >= first + visible)
        first = index_ + 1 - visible;
    // No blank rows at the bottom while there are rows above to show instead.
    return std::min(first, count > visible ? count - visible : 0);
}

void TopSelection::take(const ActivityRow& row)
{
    pid_ = row.pid;
    cgroup_ = row.cgroup;
}

void TopSelection::follow(const Report& report)
{
    const std::vector<ActivityRow>& rows = shown(report);
    if (!chosen_) {
        index_ = 0;
        return;
    }
    auto same = [&](const ActivityRow& row) {
        return rows_ == TopRows::Cgroups ? row.cgroup == cgroup_ : row.pid == pid_;
    };
    auto it = std::find_if(rows.begin(), rows.end(), same);
    if (it != rows.end()) {
        index_ = static_cast<size_t>(it - rows.begin());
        return;
    }
    if (rows.empty()) {
        index_ = 0;
        return;
    }
    index_ = std::min(index_, rows.size() - 1);
    take(rows[index_]);
}

void TopSelection::move(const Report& report, long rows)
{
    const std::vector<ActivityRow>& shown_rows = shown(report);
    if (shown_rows.empty())
        return;
    const long last = static_cast<long>(shown_rows.size()) - 1;
    index_ = static_cast<size_t>(std::clamp(static_cast<long>(index_) + rows, 0L, last));
    chosen_ = true;
    take(shown_rows[index_]);
}

void TopSelection::home()
{
    chosen_ = false;
    index_ = first_ = 0;
}

void TopSelection::toggle(const Report& report)
{
    const ActivityRow* from = chosen_ ? selected(report) : nullptr;
    const std::string cgroup = from ? from->cgroup : std::string();
    rows_ = rows_ == TopRows::Processes ? TopRows::Cgroups : TopRows::Processes;
    first_ = 0;
    if (!from) {
        index_ = 0;
        return;
    }
    if (rows_ == TopRows::Cgroups) {
        cgroup_ = cgroup;
    } else {
        // The cgroup's busiest process: the first of its rows (they are busiest first).
        const std::vector<ActivityRow>& rows = report.activity;
        auto it = std::find_if(rows.begin(), rows.end(), [&](const ActivityRow& r) { return r.cgroup == cgroup; });
        if (it == rows.end()) {
            home();
            return;
        }
        take(*it);
    }
    follow(report);
}

}  // namespace memtrace
