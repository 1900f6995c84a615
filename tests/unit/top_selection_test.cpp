// Which row of -a's live table is selected while its rows re-sort at every report: on the top row
// until the user moves, then on the same process (or cgroup) wherever it goes; scrolling; the
// switch between processes and cgroups.
#include "output/top_selection.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using memtrace::ActivityRow;
using memtrace::Report;
using memtrace::TopRows;
using memtrace::TopSelection;

ActivityRow process(uint32_t pid, const std::string& cgroup = "/")
{
    ActivityRow row;
    row.pid = pid;
    row.comm = "p" + std::to_string(pid);
    row.cgroup = cgroup;
    return row;
}

ActivityRow cgroup_row(const std::string& path)
{
    ActivityRow row;
    row.pid = 0;
    row.cgroup = path;
    return row;
}

// A report whose process rows are these pids, in this order (busiest first).
Report report_of(const std::vector<uint32_t>& pids)
{
    Report r;
    r.system_wide = true;
    for (uint32_t pid : pids)
        r.activity.push_back(process(pid));
    return r;
}

uint32_t selected_pid(const TopSelection& s, const Report& r)
{
    const ActivityRow* row = s.selected(r);
    return row ? row->pid : 0;
}

TEST(TopSelection, StaysOnTheTopRowUntilMoved)
{
    TopSelection s;
    Report r = report_of({10, 20, 30});
    s.follow(r);
    EXPECT_EQ(selected_pid(s, r), 10u);
    r = report_of({30, 10, 20});  // re-sorted: the selection is on whatever is busiest now
    s.follow(r);
    EXPECT_EQ(s.index(), 0u);
    EXPECT_EQ(selected_pid(s, r), 30u);
}

TEST(TopSelection, FollowsAPidAcrossReSorts)
{
    TopSelection s;
    Report r = report_of({10, 20, 30, 40});
    s.follow(r);
    s.move(r, 2);
    EXPECT_EQ(selected_pid(s, r), 30u);
    r = report_of({30, 40, 10, 20});
    s.follow(r);
    EXPECT_EQ(s.index(), 0u);
    EXPECT_EQ(selected_pid(s, r), 30u);
    r = report_of({50, 40, 10, 20, 60, 30});
    s.follow(r);
    EXPECT_EQ(s.index(), 5u);
    EXPECT_EQ(selected_pid(s, r), 30u);
    // Moving from there goes by the rows as they are now.
    s.move(r, -1);
    EXPECT_EQ(selected_pid(s, r), 60u);
}

TEST(TopSelection, MovingToTheTopRowStillFollowsThatPid)
{
    TopSelection s;
    Report r = report_of({10, 20});
    s.follow(r);
    s.move(r, 1);
    s.move(r, -1);  // back on the top row, but chosen: pid 10 is followed
    r = report_of({20, 10});
    s.follow(r);
    EXPECT_EQ(selected_pid(s, r), 10u);
}

TEST(TopSelection, HomeGoesBackToFollowingTheTopRow)
{
    TopSelection s;
    Report r = report_of({10, 20, 30});
    s.follow(r);
    s.move(r, 2);
    s.home();
    EXPECT_EQ(selected_pid(s, r), 10u);
    r = report_of({30, 20, 10});
    s.follow(r);
    EXPECT_EQ(selected_pid(s, r), 30u);
}

TEST(TopSelection, GonePidLeavesTheSelectionAtItsPlace)
{
    TopSelection s;
    Report r = report_of({10, 20, 30, 40});
    s.follow(r);
    s.move(r, 2);  // pid 30
    r = report_of({10, 20, 40, 50});
    s.follow(r);
    EXPECT_EQ(s.index(), 2u);
    EXPECT_EQ(selected_pid(s, r), 40u);
    // ... and from then on follows the row that took its place.
    r = report_of({40, 10, 20, 50});
    s.follow(r);
    EXPECT_EQ(selected_pid(s, r), 40u);
    // A table that shrank below the selection: its last row.
    s.move(r, 3);
    r = report_of({10, 20});
    s.follow(r);
    EXPECT_EQ(selected_pid(s, r), 20u);
    r = report_of({});
    s.follow(r);
    EXPECT_EQ(s.selected(r), nullptr);
}

TEST(TopSelection, MovesStopAtTheEnds)
{
    TopSelection s;
    Report r = report_of({10, 20, 30, 40, 50});
    s.follow(r);
    s.move(r, -1);
    EXPECT_EQ(s.index(), 0u);
    s.move(r, 3);  // a page of 3
    EXPECT_EQ(s.index(), 3u);
    s.move(r, 3);
    EXPECT_EQ(s.index(), 4u);
    s.move(r, 1L << 30);  // End
    EXPECT_EQ(selected_pid(s, r), 50u);
    s.move(r, -3);
    EXPECT_EQ(s.index(), 1u);
    s.move(r, -3);
    EXPECT_EQ(s.index(), 0u);
    Report empty = report_of({});
    TopSelection t;
    t.move(empty, 1);
    EXPECT_EQ(t.index(), 0u);
    EXPECT_EQ(t.selected(empty), nullptr);
}

TEST(TopSelection, ScrollsOnlyWhenTheSelectionWouldLeaveTheView)
{
    TopSelection s;
    std::vector<uint32_t> pids;
    for (uint32_t p = 1; p <= 50; ++p)
        pids.push_back(p);
    Report r = report_of(pids);
    s.follow(r);
    const size_t visible = 10;
    EXPECT_EQ(s.first_shown(50, visible), 0u);
    s.move(r, 9);  // the last row shown: no scrolling yet
    EXPECT_EQ(s.first_shown(50, visible), 0u);
    s.move(r, 1);  // one past it: the table scrolls by one
    s.set_first_shown(s.first_shown(50, visible));
    EXPECT_EQ(s.first_shown(50, visible), 1u);
    s.move(r, -5);  // up inside the view: it stays
    s.set_first_shown(s.first_shown(50, visible));
    EXPECT_EQ(s.first_shown(50, visible), 1u);
    s.move(r, -5);  // above it: the selection is the first row shown
    s.set_first_shown(s.first_shown(50, visible));
    EXPECT_EQ(s.index(), 0u);
    EXPECT_EQ(s.first_shown(50, visible), 0u);
    s.move(r, 1L << 30);
    s.set_first_shown(s.first_shown(50, visible));
    EXPECT_EQ(s.first_shown(50, visible), 40u) << "the last row at the bottom";
    // The table shrinks: no blank rows at the bottom while rows above could be shown instead.
    EXPECT_EQ(s.first_shown(45, visible), 35u);
    EXPECT_EQ(s.first_shown(5, visible), 0u);
    s.home();
    EXPECT_EQ(s.first_shown(50, visible), 0u);
}

Report with_cgroups()
{
    Report r;
    r.system_wide = true;
    r.activity = {process(10, "/a"), process(20, "/b"), process(30, "/b"), process(40, "/a")};
    r.cgroup_activity = {cgroup_row("/b"), cgroup_row("/a")};
    return r;
}

TEST(TopSelection, ToggleSelectsTheProcessesCgroup)
{
    TopSelection s;
    Report r = with_cgroups();
    s.follow(r);
    s.move(r, 3);  // pid 40, in /a
    s.toggle(r);
    EXPECT_EQ(s.rows(), TopRows::Cgroups);
    EXPECT_EQ(&s.shown(r), &r.cgroup_activity);
    ASSERT_NE(s.selected(r), nullptr);
    EXPECT_EQ(s.selected(r)->cgroup, "/a");
    // It follows that cgroup as the cgroups re-sort.
    std::swap(r.cgroup_activity[0], r.cgroup_activity[1]);
    s.follow(r);
    EXPECT_EQ(s.selected(r)->cgroup, "/a");
    EXPECT_EQ(s.index(), 0u);
}

TEST(TopSelection, ToggleBackSelectsTheCgroupsBusiestProcess)
{
    TopSelection s(TopRows::Cgroups);
    Report r = with_cgroups();
    s.follow(r);
    s.move(r, 1);  // /a
    s.toggle(r);
    EXPECT_EQ(s.rows(), TopRows::Processes);
    EXPECT_EQ(selected_pid(s, r), 10u) << "the first row of /a: its busiest";
    s.toggle(r);
    s.move(r, -1);  // /b
    s.toggle(r);
    EXPECT_EQ(selected_pid(s, r), 20u);
}

TEST(TopSelection, ToggleUnmovedStaysOnTheTopRow)
{
    TopSelection s;
    Report r = with_cgroups();
    s.follow(r);
    s.toggle(r);
    EXPECT_EQ(s.index(), 0u);
    EXPECT_EQ(s.selected(r)->cgroup, "/b");
    std::swap(r.cgroup_activity[0], r.cgroup_activity[1]);
    s.follow(r);
    EXPECT_EQ(s.selected(r)->cgroup, "/a") << "not moved: still the top row";
    s.toggle(r);
    EXPECT_EQ(selected_pid(s, r), 10u);
}

}  // namespace
