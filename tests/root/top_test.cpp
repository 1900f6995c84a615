// Root tests for -a's live table on a terminal: memtrace -a on a pty, a workload of a name of its
// own that faults at a known rate, the table showing it, the selection moved to it, Enter opening
// its per-segment live view, q back to the table, q ending memtrace with its summary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "pty_terminal.h"
#include "root_test.h"
#include "subprocess.h"

namespace {

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kWorkload = LIFECYCLE_WORKLOAD_BIN;

class TopTableTest : public RootTest {};

// The table's row of `pid` on the screen: its line index, or -1.
int row_of(const std::vector<std::string>& lines, uint32_t pid)
{
    const std::regex row(fmt::format(R"(^[> ] *{} )", pid));
    for (size_t i = 2; i + 1 < lines.size(); ++i)
        if (std::regex_search(lines[i], row))
            return static_cast<int>(i);
    return -1;
}

int selected_row(const std::vector<std::string>& lines)
{
    for (size_t i = 2; i + 1 < lines.size(); ++i)
        if (!lines[i].empty() && lines[i][0] == '>')
            return static_cast<int>(i);
    return -1;
}

bool is_table(const std::vector<std::string>& lines)
{
    return !lines.empty() && lines[0].rfind("memtrace every process ", 0) == 0 && lines.size() > 1 &&
           lines[1].find("PID COMM") != std::string::npos;
}

// The columns of a table row, split at blanks: PID COMM FAULTS/s MAJOR/s KINDS... BRK+ MMAP+ RSS.
std::vector<std::string> words(const std::string& line)
{
    std::vector<std::string> out;
    std::istringstream in(line.substr(1));
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

TEST_F(TopTableTest, TableShowsAWorkloadAndOpensItsLiveView)
{
    // The workload's name is its own: a link to lifecycle_workload. It maps 1,000 pages, writes
    // each once (no THP: one fault a page), unmaps them and sleeps 100 ms, over and over: just
    // under 10,000 faults a second, all of them anonymous.
    const std::string link = path("mt-top-wl");
    std::filesystem::create_symlink(kWorkload, link);
    Background workload({link, "spin", "0", "1000", "100"}, path("wl.out"), path("wl.err"));
    ASSERT_TRUE(wait_for_text(path("wl.out"), "tick 1")) << read_file(path("wl.err"));
    uint32_t pid = 0;
    ASSERT_EQ(std::sscanf(read_file(path("wl.out")).c_str(), "id %u", &pid), 1);
    ASSERT_EQ(static_cast<pid_t>(pid), workload.pid());

    PtyTerminal term({kMemtrace, "-a"}, 80, 30);
    ASSERT_TRUE(term.wait_for([&](const auto& l) { return is_table(l) && row_of(l, pid) >= 0; }, 20000))
        << "the table never showed pid " << pid << ":\n" << term.text();

    // Every line of the table fits the 80 columns (the screen model would wrap a longer one).
    for (const std::string& line : term.lines())
        EXPECT_LE(line.size(), 80u + 2 * 2) << line;  // the key line's two arrows are 3 bytes each

    // Move the selection onto the workload's row: Down or Up as far as it is, again if the rows
    // re-sorted in between. The selection is drawn '>' and in reverse video.
    bool on_it = false;
    for (int attempt = 0; attempt < 40 && !on_it; ++attempt) {
        const std::vector<std::string> l = term.lines();
        const int want = row_of(l, pid), at = selected_row(l);
        if (want >= 0 && want == at) {
            on_it = true;
            break;
        }
        if (at < 0 || want < 0)
            term.type("\x1b[6~");  // PgDn: it is further down
        else
            for (int i = 0; i < std::abs(want - at); ++i)
                term.type(want > at ? "\x1b[B" : "\x1b[A");
        term.pump(300);
    }
    ASSERT_TRUE(on_it) << "could not select pid " << pid << ":\n" << term.text();
    const int sel = selected_row(term.lines());
    EXPECT_EQ(term.reverse_rows(), std::vector<int>{sel}) << term.text();

    // The row at a whole interval's rate: PID, COMM, FAULTS/s, MAJOR/s, KINDS, BRK+, MMAP+, RSS.
    std::vector<std::string> w;
    ASSERT_TRUE(term.wait_for(
        [&](const auto& l) {
            const int r = row_of(l, pid);
            if (r < 0)
                return false;
            w = words(l[static_cast<size_t>(r)]);
            return w.size() >= 8 && plain(w[2]) >= 3000;
        },
        10000))
        << term.text();
    EXPECT_EQ(w[1], "mt-top-wl");
    const uint64_t rate = plain(w[2]);
    EXPECT_GE(rate, 3000u) << "1,000 faults every 100 ms and a bit: " << term.text();
    EXPECT_LE(rate, 11000u) << "never more than 1,000 faults in 100 ms: " << term.text();
    EXPECT_EQ(w[3], "0") << "no major faults";
    EXPECT_EQ(w[4], "anon") << "every fault is in its anonymous mappings: " << term.text();
    EXPECT_EQ(w.back().back(), 'M') << "resident memory";

    // Enter: the workload's per-segment live view, titled with its pid.
    term.type("\r");
    const std::string title = fmt::format("memtrace pid {} (mt-top-wl) ", pid);
    ASSERT_TRUE(term.wait_for([&](const auto& l) { return l[0].rfind(title, 0) == 0; }, 20000))
        << "no live view of pid " << pid << ":\n" << term.text();
    // Its one segment, anon, at the same rate.
    std::vector<std::string> seg;
    ASSERT_TRUE(term.wait_for(
        [&](const auto& l) {
            for (const std::string& s : l)
                if (s.rfind("anon ", 0) == 0) {
                    std::istringstream in(s);
                    seg.clear();
                    for (std::string x; in >> x;)
                        seg.push_back(x);
                    return seg.size() >= 4 && plain(seg[2]) >= 3000;
                }
            return false;
        },
        10000))
        << "its anonymous mappings' segment row:\n" << term.text();
    EXPECT_LE(plain(seg[2]), 11000u) << term.text();
    EXPECT_NE(term.text().find("SEGMENT"), std::string::npos) << term.text();
    EXPECT_NE(term.text().find("q back to the table"), std::string::npos) << term.text();

    // What the view counted: the -a session went on counting meanwhile, so the summary has more.
    uint64_t view_faults = 0;
    {
        const std::string t = term.lines()[0];
        const std::smatch m = [&] {
            std::smatch r;
            std::regex_search(t, r, std::regex(R"(faults ([\d,]+))"));
            return r;
        }();
        ASSERT_FALSE(m.empty()) << t;
        view_faults = plain(m[1].str());
        EXPECT_GT(view_faults, 0u) << t;
    }

    // q: the table again.
    term.type("q");
    ASSERT_TRUE(term.wait_for([&](const auto& l) { return is_table(l); }, 20000))
        << "q in the live view did not go back to the table:\n" << term.text();
    EXPECT_NE(term.text().find(fmt::format("back from pid {}", pid)), std::string::npos) << term.text();
    ASSERT_TRUE(term.wait_for([&](const auto& l) { return row_of(l, pid) >= 0; }, 20000))
        << "the new session counts the workload again:\n" << term.text();

    // q in the table: memtrace ends, with the summary on the normal screen.
    term.type("q");
    EXPECT_EQ(term.wait(20000), 0) << term.text();
    const std::string& raw = term.raw();
    const size_t restored = raw.rfind("\x1b[?1049l");
    ASSERT_NE(restored, std::string::npos) << "the terminal is given back";
    const std::string after = raw.substr(restored);
    EXPECT_NE(after.find("Summary at "), std::string::npos) << after;
    // Its summary row: PID COMM CGROUP FAULTS/s MAJOR/s FAULTS KINDS...
    std::smatch m;
    const std::regex summary_row(fmt::format(R"(\n *{} mt-top-wl +\S+ +([\d,]+) +([\d,]+) +([\d,]+) +anon)", pid));
    ASSERT_TRUE(std::regex_search(after, m, summary_row)) << "the workload is in the summary: " << after;
    EXPECT_GT(plain(m[3].str()), view_faults) << "the whole run's faults, the view's and more: " << after;
    EXPECT_NE(after.find("memtrace: quit"), std::string::npos) << after;
    EXPECT_FALSE(term.lines().empty());
}

}  // namespace
