// Which row of -a's table is selected, and which rows are shown (by process or by cgroup). The
// rows re-sort at every report: once the user has moved the selection it stays on the same pid
// (the same cgroup), wherever that row goes; until then it stays on the top row. A selected process
// that is gone from the table leaves the selection at its place, on the row that took it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/report.h"

namespace memtrace {

enum class TopRows { Processes, Cgroups };

class TopSelection {
public:
    explicit TopSelection(TopRows rows = TopRows::Processes) : rows_(rows) {}

    TopRows rows() const { return rows_; }
    // The report's rows this selection is on.
    const std::vector<ActivityRow>& shown(const Report& report) const;
    // The selected row of `report`, or null when it has none.
    const ActivityRow* selected(const Report& report) const;
    size_t index() const { return index_; }
    // The first row shown when the table has room for `visible` rows: the selection stays in
    // view and the table scrolls only when it would leave it.
    size_t first_shown(size_t count, size_t visible) const;
    void set_first_shown(size_t first) { first_ = first; }

    // A new report: finds the selected row again.
    void follow(const Report& report);
    // Up (-1), Down (+1), a page (+-visible rows); stops at the ends.
    void move(const Report& report, long rows);
    // Home: back to the top row, which the selection then keeps.
    void home();
    // c: the other rows. The selected process's cgroup gets selected, or the selected cgroup's
    // busiest process.
    void toggle(const Report& report);

private:
    void take(const ActivityRow& row);

    TopRows rows_;
    bool chosen_ = false;  // the user moved the selection: it follows pid_ (cgroup_)
    uint32_t pid_ = 0;
    std::string cgroup_;
    size_t index_ = 0, first_ = 0;
};

}  // namespace memtrace
