// Root tests of fault forensics: fault sites named after the functions that fault, folded stacks
// that add up, latency histograms that count every fault, RSS peaks, and one crash per kind,
// explained in the words of the layout.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "root_test.h"
#include "subprocess.h"

namespace {

using nlohmann::json;

const std::string kMemtrace = MEMTRACE_BIN;

class ForensicsTest : public RootTest {};

// The summary object: the last line memtrace --json prints.
json summary_of(const RunResult& r)
{
    std::istringstream in(r.out);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty())
            last = line;
    json j = json::parse(last);
    EXPECT_EQ(j["type"], "summary") << r.out;
    return j;
}

uint64_t site_faults(const json& summary, const std::string& function)
{
    uint64_t n = 0;
    for (const json& s : summary["sites"])
        if (s["location"].get<std::string>().rfind(function, 0) == 0)
            n += s["faults"].get<uint64_t>();
    return n;
}

uint64_t histogram_total(const json& buckets)
{
    uint64_t n = 0;
    for (const json& b : buckets)
        n += b["count"].get<uint64_t>();
    return n;
}

// Lowest bucket bound below which half the entries lie.
uint64_t histogram_median_low(const json& buckets)
{
    uint64_t total = histogram_total(buckets), seen = 0;
    for (const json& b : buckets) {
        seen += b["count"].get<uint64_t>();
        if (seen * 2 >= total)
            return b["low"].get<uint64_t>();
    }
    return 0;
}

void expect_named_sites(const std::string& workload)
{
    RunResult r = run({kMemtrace, "--json", "--sites", "20", "--", workload}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    // Pages each function writes (THP off, one fault a page).
    EXPECT_EQ(site_faults(s, "touch_bss_pages"), 256u) << s["sites"].dump(1);
    EXPECT_EQ(site_faults(s, "touch_heap_pages"), 128u) << s["sites"].dump(1);
    EXPECT_EQ(site_faults(s, "lib_touch_pages"), 64u) << s["sites"].dump(1);
    bool with_line = false;
    for (const json& site : s["sites"])
        with_line |= site["location"].get<std::string>().find("(sites_workload.c:") != std::string::npos;
    EXPECT_TRUE(with_line) << "debug info gives file:line: " << s["sites"].dump(1);
}

TEST_F(ForensicsTest, FaultSitesNameTheFunctionsThatFaultInAPie) { expect_named_sites(SITES_WORKLOAD_PIE_BIN); }

TEST_F(ForensicsTest, FaultSitesNameTheFunctionsThatFaultInAFixedAddressExecutable)
{
    expect_named_sites(SITES_WORKLOAD_NOPIE_BIN);
}

TEST_F(ForensicsTest, StrippedExecutableDegradesToModulePlusOffset)
{
    RunResult r = run({kMemtrace, "--json", "--sites", "20", "--", SITES_WORKLOAD_STRIPPED_BIN}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    EXPECT_EQ(site_faults(s, "touch_bss_pages"), 0u) << "no symbols left to name it";
    // The same 256 .bss faults, now placed at module+offset.
    bool found = false;
    for (const json& site : s["sites"]) {
        std::string location = site["location"];
        if (location.rfind("sites_workload_stripped+0x", 0) == 0 && site["faults"] == 256)
            found = true;
    }
    EXPECT_TRUE(found) << s["sites"].dump(1);
    EXPECT_EQ(site_faults(s, "lib_touch_pages"), 64u) << "the library keeps its symbols";
}

TEST_F(ForensicsTest, FoldedStacksParseAndSumToTheFaultsRecorded)
{
    std::string folded = path("faults.folded");
    RunResult r = run({kMemtrace, "--json", "--stack-sample", "1", "--folded", folded, "--", SITES_WORKLOAD_PIE_BIN}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    ASSERT_EQ(s["dropped"], 0);
    ASSERT_EQ(s["stacks"]["lost"], 0);
    std::ifstream in(folded);
    // Frames may hold spaces ("touch (inlined)"), never ';'; the count ends the line.
    const std::regex line_format(R"(^[^;]+(;[^;]+)* ([0-9]+)$)");
    uint64_t total = 0, lines = 0, heap_stack = 0, bss_stack = 0;
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, line_format)) << "not a folded stack: " << line;
        uint64_t count = std::stoull(m[2]);
        total += count;
        ++lines;
        // The whole chain from main down to the faulting function, frameless leaf included.
        if (line.find(";main;touch_heap_pages ") != std::string::npos)
            heap_stack += count;
        if (line.find(";main;touch_bss_pages ") != std::string::npos)
            bss_stack += count;
    }
    EXPECT_GT(lines, 1u);
    EXPECT_EQ(total, s["faults"].get<uint64_t>()) << "with --stack-sample 1 every fault has exactly one stack";
    EXPECT_EQ(total, s["stacks"]["fault_samples"].get<uint64_t>());
    EXPECT_EQ(heap_stack, 128u);
    EXPECT_EQ(bss_stack, 256u);
}

TEST_F(ForensicsTest, LatencyHistogramsCountEveryFaultAndMajorFaultsAreSlower)
{
    // segment_workload's file phase drops the file from the page cache first: 32 major faults.
    RunResult r = run({kMemtrace, "--json", "--latency", "--", SEGMENT_WORKLOAD_BIN, path("w.json")}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    const json& latency = s["latency"];
    uint64_t minor = histogram_total(latency["minor_us"]), major = histogram_total(latency["major_us"]);
    EXPECT_EQ(minor + major, s["faults"].get<uint64_t>()) << latency.dump();
    EXPECT_EQ(latency["paired"].get<uint64_t>(), minor + major);
    EXPECT_EQ(latency["unmatched_completions"], 0);
    EXPECT_EQ(major, s["major"].get<uint64_t>());
    ASSERT_GE(major, 32u);
    // The count held to the kernel's, not to memtrace's own histograms.
    ASSERT_EQ(s["processes"].size(), 1u);
    EXPECT_EQ(s["processes"][0]["faults"], s["processes"][0]["kernel_faults"]) << s["processes"].dump();
    EXPECT_EQ(s["faults"], s["processes"][0]["kernel_faults"]);
    EXPECT_GT(histogram_median_low(latency["major_us"]), histogram_median_low(latency["minor_us"]))
        << latency.dump();
    // Per segment, the histograms add up to the segment's faults.
    for (const json& seg : s["segments"])
        EXPECT_EQ(histogram_total(seg["latency_minor_us"]) + histogram_total(seg["latency_major_us"]),
                  seg["faults"].get<uint64_t>())
            << seg.dump();
}

TEST_F(ForensicsTest, ResidentPeakSeesTheHeldAnonymousMemory)
{
    RunResult r = run({kMemtrace, "--json", "-i", "0.1", "--", SITES_WORKLOAD_PIE_BIN}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    ASSERT_TRUE(s.contains("rss")) << s.dump();
    EXPECT_GE(s["rss"]["peak"].get<int64_t>(), 32 << 20);
    EXPECT_LT(s["rss"]["peak"].get<int64_t>(), 64 << 20);
    // An interval while the 32 MiB were held shows them as anonymous memory.
    int64_t anon_max = 0;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        json j = json::parse(line);
        if (j["type"] == "interval" && j.contains("rss"))
            anon_max = std::max(anon_max, j["rss"]["anon"].get<int64_t>());
    }
    EXPECT_GE(anon_max, 32 << 20);
}

TEST_F(ForensicsTest, ResidentPeakCountsAChildThatExitedWithinAnInterval)
{
    // With -f the 32 MiB child comes and goes between two samples; the kernel-side peak keeps it.
    RunResult r = run({kMemtrace, "--json", "-f", "--", "/bin/sh", "-c",
                       fmt::format("{}; sleep 1.5", SITES_WORKLOAD_PIE_BIN)},
                      60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    ASSERT_TRUE(s.contains("rss")) << s.dump();
    EXPECT_GE(s["rss"]["peak"].get<int64_t>(), 32 << 20) << s["rss"].dump();
}

struct CrashCase {
    const char* kind;       // crash_workload's argument
    const char* expected;   // crash_kind_name()
    const char* function;   // in the faulting instruction's location; nullptr when it is data
    const char* words;      // in the explanation
    int signo;
};

const CrashCase kCrashes[] = {
    {"null", "null-page", "crash_null", "NULL pointer", SIGSEGV},
    {"stack-overflow", "stack-overflow", "crash_stack_overflow", "below the top of the main stack", SIGSEGV},
    {"thread-stack-overflow", "thread-stack-overflow", "crash_stack_overflow", "guard page below stack:", SIGSEGV},
    {"write-rodata", "write-read-only", "crash_write_rodata", ".rodata, which is read-only", SIGSEGV},
    {"write-text", "write-read-only", "crash_write_text", ".text, which is read-only", SIGSEGV},
    {"exec-heap", "exec-non-exec", nullptr, "in heap, which is not executable", SIGSEGV},
    {"exec-stack", "exec-non-exec", nullptr, "in stack, which is not executable", SIGSEGV},
    {"use-after-unmap", "use-after-unmap", "crash_use_after_unmap", "unmapped at", SIGSEGV},
    {"never-mapped", "never-mapped", "crash_never_mapped", "nothing is mapped", SIGSEGV},
    {"sigbus", "bus-error", "crash_sigbus", "past the end of the file", SIGBUS},
};

class CrashTest : public ForensicsTest, public ::testing::WithParamInterface<CrashCase> {};

TEST_P(CrashTest, LaunchedCommandCrashIsExplained)
{
    const CrashCase& c = GetParam();
    RunResult r = run({kMemtrace, "--json", "--", CRASH_WORKLOAD_BIN, c.kind}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    ASSERT_EQ(s["crashes"].size(), 1u) << s["crashes"].dump(1);
    const json& crash = s["crashes"][0];
    EXPECT_EQ(crash["kind"], c.expected) << crash.dump(1);
    EXPECT_EQ(crash["signal"], c.signo == SIGBUS ? "SIGBUS" : "SIGSEGV");
    EXPECT_NE(crash["explanation"].get<std::string>().find(c.words), std::string::npos) << crash.dump(1);
    if (c.function)
        EXPECT_EQ(crash["location"].get<std::string>().rfind(c.function, 0), 0u) << crash.dump(1);
}

INSTANTIATE_TEST_SUITE_P(EveryKind, CrashTest, ::testing::ValuesIn(kCrashes),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                             std::string name = info.param.kind;
                             for (char& ch : name)
                                 if (ch == '-')
                                     ch = '_';
                             return name;
                         });

TEST_F(ForensicsTest, AttachedCrashIsExplainedAndTheSignalKeepsItsEffect)
{
    std::string go = path("go");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        execl(CRASH_WORKLOAD_BIN, CRASH_WORKLOAD_BIN, "null", go.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    Background tracer({kMemtrace, "--json", "-p", std::to_string(pid)}, path("out"), path("err"));
    bool attached = wait_for_text(path("err"), "tracing pid", 20);
    std::ofstream(go) << "go";
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    // memtrace only looks: the process dies of the signal as it would untraced.
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << "status " << status;
    ASSERT_TRUE(attached) << read_file(path("err"));
    EXPECT_EQ(tracer.wait(30), 0) << read_file(path("err"));
    RunResult r;
    r.out = read_file(path("out"));
    json s = summary_of(r);
    ASSERT_EQ(s["crashes"].size(), 1u) << r.out;
    EXPECT_EQ(s["crashes"][0]["kind"], "null-page");
    EXPECT_EQ(s["crashes"][0]["location"].get<std::string>().rfind("crash_null", 0), 0u);
}

TEST_F(ForensicsTest, KillWithSigsegvIsNotAMemoryAccess)
{
    RunResult r = run({kMemtrace, "--json", "--", "/bin/sh", "-c", "kill -SEGV $$"}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json s = summary_of(r);
    ASSERT_EQ(s["crashes"].size(), 1u) << r.out;
    EXPECT_EQ(s["crashes"][0]["kind"], "sent-by-process");
}

TEST_F(ForensicsTest, FoldedRefusesASymlinkPlantedAtItsPath)
{
    std::string target = path("victim"), link = path("planted");
    std::ofstream(target) << "precious\n";
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
    RunResult r = run({kMemtrace, "--folded", link, "--", "/bin/true"}, 30);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(read_file(target), "precious\n");
}

}  // namespace
