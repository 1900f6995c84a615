// Root tests: memtrace against workloads whose faults are known page by page.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "root_test.h"
#include "segment_phases.h"
#include "subprocess.h"

namespace {

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kWorkload = SEGMENT_WORKLOAD_BIN;

void expect_one_line_error(const RunResult& r, int code, const std::string& text);

std::smatch summary_line(const std::string& text, std::smatch& m)
{
    static const std::regex re(R"(pid (\d+) \(([^)]*)\) exited: ([\d,]+) faults; kernel counted ([\d,]+)([^\n]*))");
    std::regex_search(text, m, re);
    return m;
}

TEST_F(RootTest, LaunchedCommandFaultsMatchEveryKnownPage)
{
    RunResult r = run({kMemtrace, "--events", "--", kWorkload, path("w.json")}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    WorkloadReport w = read_workload_report(path("w.json"));
    std::vector<Event> events = parse_events(r.out);
    expect_phases_match(events, w);
    for (const Event& e : events)
        EXPECT_NE(e.segment, "unmapped") << "fault at 0x" << std::hex << e.addr;

    // The process total equals the kernel's minflt+majflt from exec to exit.
    std::smatch m;
    ASSERT_FALSE(summary_line(r.err, m).empty()) << r.err;
    EXPECT_EQ(std::stoul(m[1]), w.pid);
    EXPECT_EQ(plain(m[3]), plain(m[4])) << "one exec, so no get_user_pages faults to add: " << r.err;
    EXPECT_EQ(m[5].str().find("of which"), std::string::npos) << "no get_user_pages faults to explain: " << r.err;
    EXPECT_NE(r.err.find(" 0 records dropped"), std::string::npos) << r.err;
}

TEST_F(RootTest, JsonSummaryTotalsEqualTheKernelsCount)
{
    RunResult r = run({kMemtrace, "--json", "-i", "0.2", "--", kWorkload, path("w.json")}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream lines(r.out);
    std::vector<nlohmann::json> objects;
    for (std::string line; std::getline(lines, line);)
        objects.push_back(nlohmann::json::parse(line));
    ASSERT_FALSE(objects.empty());
    const auto& summary = objects.back();
    EXPECT_EQ(summary["type"], "summary");
    for (size_t i = 0; i + 1 < objects.size(); ++i)
        EXPECT_EQ(objects[i]["type"], "interval");
    EXPECT_EQ(summary["dropped"], 0);
    EXPECT_EQ(summary["malformed"], 0);
    ASSERT_EQ(summary["processes"].size(), 1u);
    const auto& proc = summary["processes"][0];
    EXPECT_EQ(proc["faults"], proc["kernel_faults"]);
    EXPECT_EQ(proc["kernel_baseline"], "exec");
    EXPECT_EQ(summary["faults"], proc["faults"]) << "a launched command counts from its exec";
    EXPECT_EQ(summary["kernel_counted_faults"], summary["faults"]) << "the in-kernel counter agrees";
    WorkloadReport w = read_workload_report(path("w.json"));
    std::map<std::string, uint64_t> by_segment;
    for (const auto& s : summary["segments"])
        by_segment[s["segment"]] = s["faults"];
    for (const Phase& p : w.phases) {
        // A segment that only its phase touches (shared memory, the mapped file) holds exactly the
        // phase's faults; the others also hold the runtime's (a thread's stack its own frames').
        const bool only_this_phase = p.segment.rfind("shm ", 0) == 0 || p.segment.rfind("file ", 0) == 0;
        if (only_this_phase)
            EXPECT_EQ(by_segment[p.segment], static_cast<uint64_t>(p.kernel_faults)) << p.segment;
        else
            EXPECT_GE(by_segment[p.segment], static_cast<uint64_t>(p.kernel_faults)) << p.segment;
    }
    EXPECT_EQ(proc["untraced_faults"], 0) << "one exec: no get_user_pages faults to add";
    EXPECT_EQ(by_segment.count("unmapped"), 0u);
    EXPECT_GE(summary["heap"]["brk_calls"].get<uint64_t>(), 1u);
}

TEST_F(RootTest, ExitWithLiveThreadsCountsEveryThread)
{
    RunResult r = run({kMemtrace, "--json", "--", THREADS_EXIT_BIN}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto summary = nlohmann::json::parse(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1));
    ASSERT_EQ(summary["processes"].size(), 1u);
    const auto& p = summary["processes"][0];
    ASSERT_FALSE(p["kernel_faults"].is_null()) << p.dump();
    EXPECT_GE(p["kernel_faults"].get<uint64_t>(), 4u * 64) << "four threads touched 64 pages each";
    EXPECT_EQ(p["faults"].get<uint64_t>() + p["untraced_faults"].get<uint64_t>(), p["kernel_faults"].get<uint64_t>())
        << p.dump();
}

TEST_F(RootTest, BadPidsAreRejectedBeforeLoading)
{
    expect_one_line_error(run({kMemtrace, "-p", "2"}), 1, "kernel thread");
    // A thread id that is not a process id: a thread of this very test binary.
    std::thread helper([] { std::this_thread::sleep_for(std::chrono::seconds(2)); });
    std::string tid;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
        if (entry.path().filename() != std::to_string(getpid()))
            tid = entry.path().filename();
    ASSERT_FALSE(tid.empty());
    expect_one_line_error(run({kMemtrace, "-p", tid}), 1, "is a thread of process");
    helper.join();
}

TEST_F(RootTest, AttachToRunningProcessByPid)
{
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    Background workload({kWorkload, path("w.json"), "--wait-fd", std::to_string(gate[0])}, path("wl.out"),
                        path("wl.err"), gate[0]);
    close(gate[0]);
    Background tracer({kMemtrace, "--events", "-p", std::to_string(workload.pid())}, path("mt.out"), path("mt.err"));
    ASSERT_TRUE(wait_for_text(path("mt.err"), "tracing pid")) << read_file(path("mt.err"));
    ASSERT_EQ(write(gate[1], "g", 1), 1);
    close(gate[1]);
    EXPECT_EQ(workload.wait(60), 0) << read_file(path("wl.err"));
    ASSERT_EQ(tracer.wait(60), 0) << read_file(path("mt.err"));
    WorkloadReport w = read_workload_report(path("w.json"));
    expect_phases_match(parse_events(read_file(path("mt.out"))), w);
    std::smatch m;
    std::string err = read_file(path("mt.err"));
    ASSERT_FALSE(summary_line(err, m).empty()) << err;
    EXPECT_NE(err.find("since attach"), std::string::npos) << err;
    EXPECT_NE(err.find(" 0 records dropped"), std::string::npos) << err;
}

TEST_F(RootTest, FollowsForkedChildren)
{
    RunResult r = run({kMemtrace, "-f", "--json", "--", "/bin/sh", "-c",
                       fmt::format("/bin/true; {} {}; /bin/true", kWorkload, path("w.json"))},
                      120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
    auto summary = nlohmann::json::parse(last);
    WorkloadReport w = read_workload_report(path("w.json"));
    bool found = false;
    for (const auto& p : summary["processes"]) {
        EXPECT_EQ(p["faults"].get<uint64_t>() + p["untraced_faults"].get<uint64_t>(), p["kernel_faults"].get<uint64_t>())
            << p.dump();
        if (p["pid"] == w.pid) {
            found = true;
            EXPECT_EQ(p["untraced_faults"], 1) << "exec copied the arguments with get_user_pages: " << p.dump();
            EXPECT_EQ(p["alive"], false);
        }
    }
    EXPECT_TRUE(found) << "the forked workload is traced: " << last;
    EXPECT_GE(summary["processes"].size(), 4u) << "sh and its three children";
}

bool bpf_programs_loaded()
{
    RunResult r = run({"bpftool", "prog", "show"});
    EXPECT_EQ(r.exit_code, 0) << "bpftool must answer, or its silence would read as unloaded: " << r.err;
    return r.out.find("handle_exec") != std::string::npos;  // loaded whatever the fault source
}

// The kernel frees programs after their last descriptor closes, a little after memtrace exits.
bool bpf_programs_unloaded_soon()
{
    for (int i = 0; i < 50; ++i) {
        if (!bpf_programs_loaded())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// SIGINT, SIGTERM and SIGKILL to memtrace: lifecycle_test.cpp checks, by program and link id,
// that nothing stays attached and that the target runs on.

TEST_F(RootTest, DurationEndsTheTrace)
{
    Background sleeper({"sleep", "30"}, path("s.out"), path("s.err"));
    RunResult r = run({kMemtrace, "--text", "-d", "0.5", "-p", std::to_string(sleeper.pid())}, 20);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("duration elapsed"), std::string::npos) << r.out;
}

// Bad input: one line on stderr, a non-zero exit, nothing left behind.
void expect_one_line_error(const RunResult& r, int code, const std::string& text)
{
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("memtrace: ", 0), 0u) << r.err;
}

TEST_F(RootTest, DeadPidIsAClearError)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, nullptr, 0);
    expect_one_line_error(run({kMemtrace, "-p", std::to_string(pid)}), 1, "no process with pid");
}

TEST_F(RootTest, MissingCommandIsAClearError)
{
    expect_one_line_error(run({kMemtrace, "--text", "--", "/nonexistent/program"}), 1, "cannot run /nonexistent/program");
    EXPECT_TRUE(bpf_programs_unloaded_soon());
}

TEST_F(RootTest, BadOptionsAreClearErrors)
{
    expect_one_line_error(run({kMemtrace, "--bogus"}), 2, "--bogus");
    expect_one_line_error(run({kMemtrace}), 1, "nothing to trace");
    expect_one_line_error(run({kMemtrace, "-p", "1", "--", "true"}), 1, "not both");
    expect_one_line_error(run({kMemtrace, "-i", "0", "-p", "1"}), 2, "interval");
    expect_one_line_error(run({kMemtrace, "maps", "-p", "999999999"}), 1, "no process with pid");
}

TEST_F(RootTest, NonRootIsAClearError)
{
    RunResult r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kMemtrace, "-p", "1"});
    expect_one_line_error(r, 1, "needs root");
}

TEST_F(RootTest, MapsShowsSectionsOfTheExecutable)
{
    RunResult r = run({kMemtrace, "maps", "-p", std::to_string(getpid())});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* seg : {"memtrace_root_tests .text", "memtrace_root_tests .rodata", "memtrace_root_tests .data",
                            "memtrace_root_tests .bss", "libc.so.6 .text", "stack", "[vdso]"})
        EXPECT_NE(r.out.find(seg), std::string::npos) << seg << "\n" << r.out;
}

}  // namespace
