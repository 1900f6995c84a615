#include "source/proc_status.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace memtrace;

namespace {

// /proc/PID/status of a Python process on Linux 6.18 (trimmed of the lines after VmSwap).
const char* const kPythonStatus =
    "Name:\tpython3\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "Pid:\t4242\n"
    "VmPeak:\t   41212 kB\n"
    "VmSize:\t   41212 kB\n"
    "VmLck:\t       0 kB\n"
    "VmPin:\t       0 kB\n"
    "VmHWM:\t   35184 kB\n"
    "VmRSS:\t   33796 kB\n"
    "RssAnon:\t   24576 kB\n"
    "RssFile:\t    9216 kB\n"
    "RssShmem:\t       4 kB\n"
    "VmData:\t   27804 kB\n"
    "VmStk:\t     132 kB\n"
    "VmSwap:\t     512 kB\n"
    "Threads:\t1\n";

}  // namespace

TEST(ProcStatus, ReadsEachKindAndTheHighWaterMarkInPages)
{
    std::optional<ResidentPages> r = parse_proc_status(kPythonStatus);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->anon, 24576 / 4);
    EXPECT_EQ(r->file, 9216 / 4);
    EXPECT_EQ(r->shmem, 1);
    EXPECT_EQ(r->swap, 128);
    EXPECT_EQ(r->peak, 35184 / 4);
    EXPECT_EQ(r->resident(), 33796 / 4) << "VmRSS is anon + file + shmem";
}

TEST(ProcStatus, AZombieOrKernelThreadHasNoMemoryLines)
{
    EXPECT_FALSE(parse_proc_status("Name:\tkthreadd\nState:\tS (sleeping)\nTgid:\t2\nThreads:\t1\n"));
    EXPECT_FALSE(parse_proc_status(""));
}

TEST(ProcStatus, EveryFieldIsRequiredAndWellFormed)
{
    const std::string good = kPythonStatus;
    for (const char* key : {"VmHWM:", "RssAnon:", "RssFile:", "RssShmem:", "VmSwap:"}) {
        std::string missing = good;
        size_t at = missing.find(key);
        ASSERT_NE(at, std::string::npos);
        missing.erase(at, missing.find('\n', at) - at + 1);
        EXPECT_FALSE(parse_proc_status(missing)) << "without " << key;
    }
    std::vector<std::pair<std::string, std::string>> broken = {
        {"RssAnon:\t   24576 kB", "RssAnon:\t   24576 MB"},
        {"RssAnon:\t   24576 kB", "RssAnon:\t   -24576 kB"},
        {"RssAnon:\t   24576 kB", "RssAnon:\t"},
        {"RssAnon:\t   24576 kB", "RssAnon:\t   99999999999999999999999 kB"},
        {"RssAnon:\t   24576 kB", "RssAnon:\t   9007199254740992 kB"},  // fits int64, not in bytes
        {"RssAnon:\t   24576 kB", "RssAnon:\t   24576 kB\nRssAnon:\t 4 kB"},
        {"VmHWM:\t   35184 kB", "VmHWM:\t   35x84 kB"},
    };
    for (const auto& [from, to] : broken) {
        std::string text = good;
        text.replace(text.find(from), from.size(), to);
        EXPECT_FALSE(parse_proc_status(text)) << to;
    }
}

TEST(ProcStatus, NoTrailingNewlineStillParses)
{
    std::string text = kPythonStatus;
    text += "VmExtra:\t1 kB";  // an unknown last line without '\n' is skipped
    EXPECT_TRUE(parse_proc_status(text));
}

TEST(ProcStatus, ReadsThisProcess)
{
    std::optional<ResidentPages> self = read_resident_pages(getpid());
    ASSERT_TRUE(self);
    EXPECT_GT(self->anon + self->file, 0);
    EXPECT_GE(self->peak, self->resident() - 64) << "VmHWM is never far below the current RSS";
    EXPECT_FALSE(read_resident_pages(0)) << "pid 0 has no /proc entry";
}

TEST(ProcStatus, AKernelThreadHasNoResidentMemory)
{
    // Pid 2 is kthreadd in the initial pid namespace only.
    std::ifstream comm("/proc/2/comm");
    std::string name;
    if (!std::getline(comm, name) || name != "kthreadd")
        GTEST_SKIP() << "pid 2 is not kthreadd here (another pid namespace)";
    EXPECT_FALSE(read_resident_pages(2));
}
