// -a's live table: one frame for a terminal size, exactly that size; which columns fit; numbers,
// names and paths cut to their columns; names from the traced side never reach the terminal raw
// and never move the columns after them.
#include "output/render_top.h"

#include <clocale>
#include <cwchar>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "output/format_util.h"

namespace {

using memtrace::ActivityRow;
using memtrace::display_width;
using memtrace::Report;
using memtrace::TopFrame;
using memtrace::TopRows;
using memtrace::TopSelection;
using memtrace::TopTitle;

ActivityRow row(uint32_t pid, const std::string& comm, uint64_t interval_faults)
{
    ActivityRow r;
    r.pid = pid;
    r.comm = comm;
    r.cgroup = "/system.slice/nginx.service";
    r.faults = interval_faults * 3;
    r.interval_faults = interval_faults;
    r.interval_major = interval_faults / 100;
    r.by_kind[MT_KIND_HEAP] = r.faults * 3 / 4;
    r.by_kind[MT_KIND_ANON] = r.faults - r.by_kind[MT_KIND_HEAP];
    r.interval_by_kind[MT_KIND_HEAP] = interval_faults * 3 / 4;
    r.interval_by_kind[MT_KIND_ANON] = interval_faults - r.interval_by_kind[MT_KIND_HEAP];
    r.interval_brk_grown = 132 << 10;
    r.interval_mmap_bytes = 8 << 20;
    r.rss_known = true;
    r.rss_bytes = 300 << 20;
    return r;
}

Report sample()
{
    Report r;
    r.system_wide = true;
    r.elapsed_s = 12.0;
    r.interval_s = 1.0;
    r.kernel_counted_faults = 1234567;
    r.activity_processes = 49;
    r.activity_live = 18;
    r.activity_exited_in_interval = 2;
    r.activity = {row(4242, "postgres", 120000), row(77, "nginx", 3100), row(1, "systemd", 12)};
    r.activity[2].alive = false;
    ActivityRow cg = row(0, "", 123112);
    cg.cgroup = "/system.slice/nginx.service";
    cg.processes = 3;
    r.cgroup_activity = {cg};
    return r;
}

const TopTitle kTitle{"every process", ""};

TopFrame frame(const Report& r, int width = 80, int height = 24, TopRows rows = TopRows::Processes)
{
    TopSelection s(rows);
    s.follow(r);
    return render_top_frame(r, s, kTitle, width, height);
}

void expect_exact_size(const TopFrame& f, int width, int height)
{
    ASSERT_EQ(f.lines.size(), static_cast<size_t>(height));
    for (size_t i = 0; i < f.lines.size(); ++i)
        EXPECT_EQ(display_width(f.lines[i]), static_cast<size_t>(width)) << "line " << i << ": \"" << f.lines[i] << '"';
}

TEST(RenderTop, Exact80x24)
{
    const TopFrame f = frame(sample());
    expect_exact_size(f, 80, 24);
    EXPECT_EQ(f.lines[0],
              memtrace::fit("memtrace every process 12.0s  faults 1,234,567  procs 18 alive, 2 exited in 1.0s", 80));
    // Every column but the run's FAULTS and the CGROUP fits in 80 columns.
    EXPECT_EQ(f.lines[1], "     PID COMM           FAULTS/s MAJOR/s KINDS                BRK+  MMAP+    RSS");
    EXPECT_EQ(f.lines[2], ">   4242 postgres        120,000   1,200 heap 75%, anon 25%   132K     8M   300M");
    EXPECT_EQ(f.lines[3], "      77 nginx             3,100      31 heap 75%, anon 25%   132K     8M   300M");
    EXPECT_EQ(f.lines[4], "       1 systemd              12       0 heap 75%, anon 25%   132K     8M exited");
    EXPECT_EQ(f.selected_line, 2);
    EXPECT_EQ(f.lines[5], std::string(80, ' '));
    EXPECT_EQ(f.lines[23], memtrace::fit("↑↓ select  Enter: its live view  c: [processes] cgroups  q quit", 80));
}

TEST(RenderTop, WideTerminalAddsFaultsAndCgroup)
{
    const TopFrame f = frame(sample(), 132, 10);
    expect_exact_size(f, 132, 10);
    EXPECT_EQ(f.lines[1].substr(0, 109),
              "     PID COMM             FAULTS/s MAJOR/s      FAULTS KINDS                        BRK+  MMAP+    RSS CGROUP");
    EXPECT_NE(f.lines[2].find("    360,000 heap 75%, anon 25%  "), std::string::npos) << f.lines[2];
    EXPECT_NE(f.lines[2].find(" /system.slice/nginx.service"), std::string::npos) << f.lines[2];
    EXPECT_NE(f.lines[0].find(", 49 counted"), std::string::npos) << "room for the total: " << f.lines[0];
}

TEST(RenderTop, NarrowTerminalKeepsTheCoreColumns)
{
    const TopFrame f = frame(sample(), 50, 8);
    expect_exact_size(f, 50, 8);
    EXPECT_EQ(f.lines[1], "     PID COMM             FAULTS/s MAJOR/s    RSS ");
    EXPECT_EQ(f.lines[2], ">   4242 postgres          120,000   1,200   300M ");
    // Narrower still: COMM is squeezed before a core column goes.
    const TopFrame g = frame(sample(), 40, 8);
    expect_exact_size(g, 40, 8);
    EXPECT_EQ(g.lines[1], "     PID COMM    FAULTS/s MAJOR/s    RSS");
    EXPECT_EQ(g.lines[2], ">   4242 postgre  120,000   1,200   300M");
}

TEST(RenderTop, CgroupRows)
{
    const TopFrame f = frame(sample(), 80, 6, TopRows::Cgroups);
    expect_exact_size(f, 80, 6);
    EXPECT_EQ(f.lines[1], " CGROUP           PROCS FAULTS/s MAJOR/s KINDS                BRK+  MMAP+    RSS");
    // The path is cut at its start: its end names it.
    EXPECT_EQ(f.lines[2], ">…e/nginx.service     3  123,112   1,231 heap 75%, anon 25%   132K     8M   300M");
    EXPECT_EQ(f.lines[5], memtrace::fit("↑↓ select  Enter: its processes  c: processes [cgroups]  q quit", 80));
}

TEST(RenderTop, NumbersTooWideForTheirColumn)
{
    Report r = sample();
    r.activity[0].interval_faults = 123456789;
    r.activity[0].interval_major = 98765432;
    const TopFrame f = frame(r);
    EXPECT_EQ(f.lines[2].substr(0, 40), ">   4242 postgres           123M   98.8M");
}

TEST(RenderTop, KindsCutAtAWholeKind)
{
    Report r = sample();
    ActivityRow& a = r.activity[0];
    a.interval_by_kind = {};
    a.interval_by_kind[MT_KIND_RODATA] = 60;
    a.interval_by_kind[MT_KIND_THREAD_STACK] = 40;
    const TopFrame f = frame(r);
    // "rodata 60%, thread_stack 40%" does not fit in 18 columns: the first kind alone.
    EXPECT_EQ(f.lines[2].substr(41, 19), "rodata 60%         ");
}

TEST(RenderTop, KindsUnderOnePercentAreLeftOut)
{
    Report r = sample();
    ActivityRow& a = r.activity[0];
    a.interval_by_kind = {};
    a.interval_by_kind[MT_KIND_ANON] = 995;
    a.interval_by_kind[MT_KIND_HEAP] = 5;
    const TopFrame f = frame(r);
    EXPECT_EQ(f.lines[2].substr(41, 19), "anon 99%           ");
}

TEST(RenderTop, LongCommIsCut)
{
    Report r = sample();
    r.activity[0].comm = "a-very-long-name";
    const TopFrame f = frame(r);
    EXPECT_EQ(f.lines[2].substr(0, 24), ">   4242 a-very-long-na ");
}

TEST(RenderTop, ScrollsToKeepTheSelectionShown)
{
    Report r = sample();
    r.activity.clear();
    for (uint32_t pid = 1; pid <= 40; ++pid)
        r.activity.push_back(row(pid, "w" + std::to_string(pid), 1000 - pid));
    TopSelection s;
    s.follow(r);
    s.move(r, 30);
    TopFrame f = render_top_frame(r, s, kTitle, 80, 10);  // 7 rows shown
    expect_exact_size(f, 80, 10);
    EXPECT_EQ(f.first_row, 24u);
    EXPECT_EQ(f.selected_line, 8);
    EXPECT_EQ(f.lines[8].substr(0, 14), ">     31 w31  ");
    EXPECT_EQ(f.lines[2].substr(0, 14), "      25 w25  ");
}

TEST(RenderTop, NothingYet)
{
    Report r;
    r.system_wide = true;
    const TopFrame f = frame(r, 80, 5);
    expect_exact_size(f, 80, 5);
    EXPECT_EQ(f.lines[2], memtrace::fit("  (no process faulted yet)", 80));
    EXPECT_EQ(f.selected_line, -1);
    // Terminals too small for a table still get exactly their size.
    expect_exact_size(frame(r, 80, 1), 80, 1);
    expect_exact_size(frame(r, 80, 2), 80, 2);
    expect_exact_size(frame(sample(), 10, 3), 10, 3);
    EXPECT_TRUE(frame(r, 80, 0).lines.empty());
}

TEST(RenderTop, StatusLine)
{
    TopSelection s;
    Report r = sample();
    s.follow(r);
    TopFrame f = render_top_frame(r, s, {"every process", "pid 77 (nginx) has exited"}, 80, 24);
    EXPECT_EQ(f.lines[23], memtrace::fit("pid 77 (nginx) has exited   ↑↓ select  Enter: its live view  c: [processes] "
                                         "cgroups  q quit",
                                         80));
}

// Every byte a terminal acts on, and every code point that is not one column wide.
void expect_inert(const std::string& line)
{
    for (size_t i = 0; i < line.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(line[i]);
        EXPECT_FALSE(c < 0x20 || c == 0x7f) << "control byte " << int(c) << " in \"" << line << '"';
    }
    EXPECT_TRUE(memtrace::is_valid_utf8(line)) << line;
}

// The columns a terminal gives a line, as the C library's wcwidth() says (a wide character takes
// two, a combining one none); -1 when it holds a non-printable character.
int terminal_columns(const std::string& line)
{
    const std::string before = std::setlocale(LC_CTYPE, nullptr);  // the other tests' is left as it was
    const bool utf8 = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
    EXPECT_TRUE(utf8) << "no C.UTF-8 locale";
    std::mbstate_t state{};
    const char* src = line.c_str();
    std::wstring wide(line.size() + 1, L'\0');
    const size_t n = std::mbsrtowcs(&wide[0], &src, wide.size(), &state);
    const int columns = n == static_cast<size_t>(-1) ? -1 : wcswidth(wide.c_str(), n);
    std::setlocale(LC_CTYPE, before.c_str());
    return columns;
}

// The columns [from, to) of a line (to: npos for the end).
std::string columns(const std::string& line, size_t from, size_t to)
{
    std::string out;
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        const bool starts = (static_cast<unsigned char>(line[i]) & 0xc0) != 0x80;
        if (starts && i > 0)
            ++col;
        if (col >= from && col < to)
            out += line[i];
    }
    return out;
}

TEST(RenderTop, HostileNamesStayInTheirColumns)
{
    const std::vector<std::string> hostile = {
        "\x1b[2J\x1b]0;pwned\x07",     // clear the screen, set the title
        "a\nb\rc\td",                  // lines and tabs
        "\xe2\x80\xae" "evil",         // right-to-left override
        "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97",  // wide CJK: two columns each
        "e\xcc\x81\xcc\x81\xcc\x81",   // combining accents: no column of their own
        "\xf0\x9f\x92\xa3 x",          // an emoji
        "\xff\xfe\xc0\xaf",            // not UTF-8
        "\\x1b",                       // a forged escape
    };
    for (const std::string& name : hostile) {
        Report r = sample();
        r.activity[0].comm = name;
        r.activity[0].cgroup = "/x/" + name;
        r.cgroup_activity[0].cgroup = "/x/" + name;
        for (TopRows rows : {TopRows::Processes, TopRows::Cgroups}) {
            for (int width : {80, 132}) {
                TopSelection s(rows);
                s.follow(r);
                const TopFrame f = render_top_frame(r, s, {"cgroup /x/" + name, "pid 4242 (" + name + ") exited"},
                                                    width, 12);
                expect_exact_size(f, width, 12);
                for (const std::string& line : f.lines) {
                    expect_inert(line);
                    EXPECT_EQ(terminal_columns(line), width) << "on a terminal: \"" << line << '"';
                }
                // The columns after the name are where they are with a plain name.
                Report plain = r;
                plain.activity[0].comm = "x";
                plain.activity[0].cgroup = "/x/x";
                plain.cgroup_activity[0].cgroup = "/x/x";
                const TopFrame p = render_top_frame(plain, s, kTitle, width, 12);
                const std::string& titles = f.lines[1];
                const size_t from = titles.find(rows == TopRows::Processes ? "FAULTS/s" : "PROCS") - 1;
                const size_t to = titles.find("CGROUP", from);
                EXPECT_EQ(columns(f.lines[2], from, to), columns(p.lines[2], from, to))
                    << "name " << memtrace::terminal_safe(name) << ": " << f.lines[2];
            }
        }
    }
}

TEST(RenderTop, HostileNameIsEscapedNotDropped)
{
    Report r = sample();
    r.activity[0].comm = "\x1b[31mred";
    const TopFrame f = frame(r);
    EXPECT_EQ(f.lines[2].substr(0, 23), ">   4242 \\x1b[31mred   ");
    r.activity[0].comm = "\xe6\xbc\xa2x";
    EXPECT_EQ(frame(r).lines[2].substr(0, 24), ">   4242 \\u6f22x        ");
}

}  // namespace

namespace {

TEST(RenderTop, EveryTerminalSize)
{
    Report r = sample();
    r.activity[0].comm = "\xe6\xbc\xa2\x1b[31m";
    for (TopRows rows : {TopRows::Processes, TopRows::Cgroups})
        for (int width = 0; width <= 200; ++width)
            for (int height = 0; height <= 8; ++height) {
                TopSelection s(rows);
                s.follow(r);
                s.move(r, 2);
                const TopFrame f = render_top_frame(r, s, kTitle, width, height);
                ASSERT_EQ(f.lines.size(), static_cast<size_t>(height)) << width << "x" << height;
                for (const std::string& line : f.lines)
                    ASSERT_EQ(display_width(line), static_cast<size_t>(width)) << width << "x" << height << ": " << line;
            }
}

}  // namespace
