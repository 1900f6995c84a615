// What a traced program does that once fooled memtrace (issue "Nothing a traced program does can
// fool memtrace"): each test fails on the code before its fix.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "root_test.h"
#include "subprocess.h"

namespace {

using nlohmann::json;

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kHostile = HOSTILE_WORKLOAD_BIN;

json last_json_line(const std::string& text)
{
    std::istringstream in(text);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty())
            last = line;
    return json::parse(last);
}

// "fault" lines of --events: address -> segment.
std::vector<std::pair<uint64_t, std::string>> fault_lines(const std::string& events)
{
    std::vector<std::pair<uint64_t, std::string>> out;
    std::istringstream in(events);
    for (std::string line; std::getline(in, line);) {
        std::istringstream w(line);
        std::string time, who, kind, addr, access, mode;
        if (!(w >> time >> who >> kind) || kind != "fault" || !(w >> addr >> access >> mode))
            continue;
        std::string segment, word;
        while (w >> word && word.rfind("ip=", 0) != 0)
            segment += (segment.empty() ? "" : " ") + word;
        out.emplace_back(std::stoull(addr, nullptr, 16), segment);
    }
    return out;
}

const json* process_row(const json& summary, uint32_t pid)
{
    for (const json& p : summary["processes"])
        if (p["pid"] == pid)
            return &p;
    return nullptr;
}

class SharedAddressSpace : public RootTest, public ::testing::WithParamInterface<bool> {};

// A mapping made by a clone(CLONE_VM) or vfork child is in the parent's address space: the
// parent's faults on it are its, followed (-f) or not.
TEST_P(SharedAddressSpace, MappingsOfAChildThatSharesItAreThere)
{
    std::vector<std::string> argv = {kMemtrace, "--events"};
    if (GetParam())
        argv.push_back("-f");
    for (const char* a : {"--", HOSTILE_WORKLOAD_BIN, "shared-mm"})
        argv.push_back(a);
    argv.push_back(path("r.json"));
    RunResult r = run(argv, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(path("r.json")));
    auto faults = fault_lines(r.out);
    for (const json& range : report["ranges"]) {
        uint64_t start = range["start"], end = range["end"];
        std::map<std::string, int> segments;
        for (const auto& [addr, segment] : faults)
            if (addr >= start && addr < end)
                ++segments[segment];
        EXPECT_EQ(segments, (std::map<std::string, int>{{"anon", 20}}))
            << range["name"] << ": 20 pages the parent touched, in the shared address space";
    }
}

INSTANTIATE_TEST_SUITE_P(FollowedOrNot, SharedAddressSpace, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Followed" : "NotFollowed"; });

// mprotect over a range with a hole fails with ENOMEM after changing the mapped part: the model
// takes the kernel's word for the range, so the crash that follows is explained as it happened.
TEST_F(RootTest, AFailedCallThatPartlyAppliedIsResynced)
{
    RunResult r = run({kMemtrace, "--json", "--", kHostile, "partial-mprotect", path("r.json")}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(path("r.json")));
    ASSERT_EQ(report["mprotect"], -1);
    ASSERT_EQ(report["errno"], ENOMEM);
    json summary = last_json_line(r.out);
    ASSERT_EQ(summary["crashes"].size(), 1u) << summary.dump();
    const json& crash = summary["crashes"][0];
    EXPECT_EQ(crash["addr"], report["start"]);
    EXPECT_EQ(crash["kind"], "write-read-only") << crash.dump();
    std::string why = crash["explanation"];
    EXPECT_NE(why.find("(r--)"), std::string::npos) << why;
    EXPECT_EQ(why.find("(rw-)"), std::string::npos) << "the model must not contradict the kernel: " << why;
}

// Every cause of a difference from the kernel's count that memtrace can see is counted and named.
TEST_F(RootTest, DifferencesFromTheKernelAreNamed)
{
    std::string not_executable = path("not-a-program");
    std::ofstream(not_executable) << "neither ELF nor #!\n";
    chmod(not_executable.c_str(), 0755);
    RunResult r = run({kMemtrace, "--json", "--", kHostile, "untraced", path("r.json"), not_executable}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(path("r.json")));
    ASSERT_EQ(report["signals"], 1000);
    ASSERT_EQ(report["populate"], 0);
    ASSERT_EQ(report["mlock"], 0);
    ASSERT_EQ(report["exec_errno"], ENOEXEC);
    json summary = last_json_line(r.out);
    ASSERT_EQ(summary["processes"].size(), 1u);
    const json& p = summary["processes"][0];
    EXPECT_EQ(p["signal_faults"], 1000) << p.dump();
    EXPECT_EQ(p["untraced"]["populate"], 100) << p.dump();
    EXPECT_EQ(p["untraced"]["mmap_populate"], 50) << p.dump();
    EXPECT_EQ(p["untraced"]["mlock"], 20) << p.dump();
    EXPECT_GE(p["untraced"]["failed_exec"].get<uint64_t>(), 1u) << p.dump();
    EXPECT_EQ(p["faults"].get<int64_t>() + p["untraced_faults"].get<int64_t>() - p["signal_faults"].get<int64_t>(),
              p["kernel_faults"].get<int64_t>())
        << "nothing left unexplained: " << p.dump();

    RunResult text = run({kMemtrace, "--text", "--", kHostile, "untraced", path("r2.json"), not_executable}, 60);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("1,000 of memtrace's faults ended in SIGSEGV/SIGBUS, which the kernel does not count"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("100 by MADV_POPULATE_READ/WRITE"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("50 by mmap with MAP_POPULATE"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("20 by mlock"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("in a failed execve"), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find("unexplained"), std::string::npos) << text.out;
}

// Files at paths far deeper than a page of components, mapped for a moment: named in full, and two
// that end alike are two segments.
TEST_F(RootTest, LongPathsAreKeptWholeAndApart)
{
    RunResult r = run({kMemtrace, "--json", "--", kHostile, "long-path", path("r.json"), dir_}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(path("r.json")));
    json summary = last_json_line(r.out);
    ASSERT_EQ(report["files"].size(), 2u);
    for (const json& f : report["files"]) {
        std::string file = f;
        ASSERT_GT(file.size(), 1400u);
        uint64_t faults = 0;
        for (const json& s : summary["segments"])
            if (s["segment"] == "file " + file)
                faults = s["faults"];
        EXPECT_EQ(faults, 4u) << file << " in " << summary["segments"].dump();
    }
}

// A .bss that is a PT_LOAD of its own, mapped a gap away from the file: still the object's .bss.
TEST_F(RootTest, ABssOfItsOwnIsTheObjectsBss)
{
    RunResult r = run({kMemtrace, "--json", "--", BSS_LOAD_WORKLOAD_BIN}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json summary = last_json_line(r.out);
    uint64_t bss = 0, anon = 0;
    for (const json& s : summary["segments"]) {
        if (s["segment"] == "bss_load_workload .bss")
            bss = s["faults"];
        if (s["segment"] == "anon")
            anon = s["faults"];
    }
    EXPECT_GE(bss, 64u) << summary["segments"].dump();
    EXPECT_LT(anon, 64u) << "the .bss pages are not anonymous memory: " << summary["segments"].dump();
}

// A 32-bit program's mmap2/brk/mremap/munmap are modelled: none of its faults is "unmapped".
TEST_F(RootTest, Ia32ProgramsMappingsAreModelled)
{
    RunResult r = run({kMemtrace, "--events", "--", IA32_WORKLOAD_BIN, path("r.json")}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(path("r.json")));
    auto faults = fault_lines(r.out);
    std::map<std::string, int> in_mmap, in_heap, in_moved;
    uint64_t m = report["mmap"], heap = report["heap"], moved = report["moved"];
    for (const auto& [addr, segment] : faults) {
        EXPECT_NE(segment, "unmapped") << std::hex << addr;
        if (addr >= m && addr < m + 16 * 4096)
            ++in_mmap[segment];
        if (addr >= heap + 4096 && addr < heap + 15 * 4096)
            ++in_heap[segment];
        if (addr >= moved + 16 * 4096 && addr < moved + 32 * 4096)
            ++in_moved[segment];
    }
    EXPECT_EQ(in_mmap, (std::map<std::string, int>{{"anon", 16}}));
    EXPECT_EQ(in_heap, (std::map<std::string, int>{{"heap", 14}}));
    EXPECT_EQ(in_moved, (std::map<std::string, int>{{"anon", 16}}));
}

// A target in another mount namespace maps a file whose path names another file in memtrace's:
// sections come from the file the process mapped (the kernel's link to it), never from the
// namesake, and code is not named from the namesake's symbols.
TEST_F(RootTest, ATargetInAnotherMountNamespaceIsReadThroughItsOwnView)
{
    const std::string app = path("app");
    ASSERT_EQ(run({"cp", "/bin/true", app}).exit_code, 0);  // what the path names out here
    std::string script = fmt::format("mount --bind {} {} && exec {}", SITES_WORKLOAD_PIE_BIN, app, app);
    RunResult r = run({kMemtrace, "--json", "--", "unshare", "-m", "/bin/sh", "-c", script}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json summary = last_json_line(r.out);
    uint64_t bss = 0;
    for (const json& s : summary["segments"])
        if (s["segment"] == "app .bss")
            bss = s["faults"];
    EXPECT_GE(bss, 256u) << "touch_bss_pages' 256 pages, in the .bss of the binary that ran: "
                         << summary["segments"].dump();
    for (const json& site : summary["sites"]) {
        std::string where = site["location"];
        EXPECT_EQ(where.find("[true]"), std::string::npos) << "named from the namesake: " << where;
    }
    EXPECT_NE(r.err.find("no file of the recorded build of " + app), std::string::npos)
        << "it says why app's code is named by offset: " << r.err;
}

// A target that exits while memtrace attaches (after memtrace checked it, before it read its
// layout) is said to have exited, and the summary of what was seen follows; never "no process".
TEST_F(RootTest, ATargetThatExitsWhileAttachingIsSaidToHaveExited)
{
    // memtrace checks the pid at once, then spends ~0.1 s loading its programs: targets that live
    // a few tens of milliseconds more die in between, in most runs of at least one of these.
    int exited_while_attaching = 0;
    for (int round = 0; round < 4 && !exited_while_attaching; ++round) {
        for (int ms : {20, 40, 60, 80}) {
            // Reaped the moment it exits, as a shell or init would: a zombie is refused at the check.
            Background target({"/bin/sleep", fmt::format("0.{:03d}", ms)}, path("t.out"), path("t.err"));
            std::thread reaper([&] { target.wait(10); });
            RunResult r = run({kMemtrace, "--text", "-p", std::to_string(target.pid())}, 20);
            reaper.join();
            const bool said = r.err.find("exited while memtrace attached") != std::string::npos;
            if (said) {
                ++exited_while_attaching;
                EXPECT_EQ(r.exit_code, 0) << r.err;
                EXPECT_NE(r.out.find("Summary at"), std::string::npos) << "what was seen: " << r.out;
            } else if (r.exit_code != 0) {
                // Gone before memtrace even checked it: the one-line error for a dead pid.
                EXPECT_NE(r.err.find("no process with pid"), std::string::npos) << r.err;
            }
        }
    }
    EXPECT_GT(exited_while_attaching, 0) << "no run hit the window between the check and the attach";
}

// Every output ends memtrace with an error when it cannot be written.
TEST_F(RootTest, AFullDiskEndsEveryOutputWithAnError)
{
    for (const char* mode : {"--text", "--json", "--events"}) {
        std::string cmd = fmt::format("{} {} -- /bin/true >/dev/full", kMemtrace, mode);
        RunResult r = run({"/bin/sh", "-c", cmd}, 30);
        EXPECT_EQ(r.exit_code, 1) << mode << ": " << r.err;
        EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << mode << ": " << r.err;
    }
    // Every fault sampled: a sampled run of /bin/true may take no stack at all, and write nothing.
    RunResult folded = run({kMemtrace, "--text", "--stack-sample", "1", "--folded", "/dev/full", "--", "/bin/true"}, 30);
    EXPECT_EQ(folded.exit_code, 1) << folded.err;
    EXPECT_NE(folded.err.find("No space left on device"), std::string::npos) << folded.err;
}

// memtrace --json -p PID | head -1 ends: the closed pipe is an error, not an endless trace.
TEST_F(RootTest, AClosedPipeEndsTheTrace)
{
    Background sleeper({"/bin/sleep", "30"}, path("s.out"), path("s.err"));
    for (const char* mode : {"--json", "--text"}) {
        std::string cmd = fmt::format("{} {} -i 0.1 -p {} | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
                                      kMemtrace, mode, sleeper.pid());
        RunResult r = run({"/bin/bash", "-c", cmd}, 20);
        ASSERT_NE(r.exit_code, -1) << mode << ": memtrace went on after its reader was gone";
        EXPECT_EQ(r.out, "1\n") << mode << ": " << r.err;
        EXPECT_NE(r.err.find("Broken pipe"), std::string::npos) << mode << ": " << r.err;
    }
}

// With stdout closed, the report does not land in the first file memtrace opens.
TEST_F(RootTest, AClosedStdoutNeverBecomesAnOutputFile)
{
    std::string folded = path("folded.txt");
    std::string cmd = fmt::format("{} --text --folded {} -- /bin/true >&-", kMemtrace, folded);
    RunResult r = run({"/bin/sh", "-c", cmd}, 30);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("cannot write the report"), std::string::npos) << r.err;
    std::string written = read_file(folded);
    EXPECT_EQ(written.find("Summary"), std::string::npos) << "the report went into the folded file:\n" << written;
}

}  // namespace
