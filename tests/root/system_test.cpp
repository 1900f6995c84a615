// memtrace -a, --cgroup, --comm: every process counted by segment kind in the kernel. Held to the
// segment workload's known faults, kind by kind; processes that live between two refreshes are
// counted; a cgroup counts its processes only; bad input gets one line and a non-zero exit.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "json_lines.h"
#include "known_kinds.h"
#include "root_test.h"

namespace {

const char* kMemtrace = MEMTRACE_BIN;
constexpr const char* kWorkloadComm = "segment_workloa";  // comm keeps 15 bytes

// The last line memtrace --json wrote: the summary object.
nlohmann::json summary_of(const std::string& path)
{
    return json_lines(read_file(path)).back();
}

// The summary's row of `pid`, or null.
const nlohmann::json* process_row(const nlohmann::json& summary, pid_t pid)
{
    for (const auto& row : summary["activity"]["processes"])
        if (row["pid"] == pid)
            return &row;
    return nullptr;
}

std::map<std::string, uint64_t> kinds_of(const nlohmann::json& row)
{
    std::map<std::string, uint64_t> kinds;
    for (const auto& [kind, counts] : row["kinds"].items())
        kinds[kind] = counts["faults"];
    return kinds;
}

// memtrace in the background, counting from the moment it says so.
class CountingMemtrace {
public:
    CountingMemtrace(std::vector<std::string> args, const std::string& out, const std::string& err) : err_(err)
    {
        args.insert(args.begin(), kMemtrace);
        process_ = std::make_unique<Background>(args, out, err);
        attached_ = wait_for_text(err, "Ctrl-C to end");
    }
    bool attached() const { return attached_; }
    // SIGINT, as Ctrl-C: memtrace prints its summary and exits 0.
    int stop()
    {
        kill(process_->pid(), SIGINT);
        return process_->wait(30);
    }

private:
    std::string err_;
    std::unique_ptr<Background> process_;
    bool attached_ = false;
};

// The cgroup v2 mount, from /proc/mounts (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid
// machine such as this one).
std::string cgroup2_mount()
{
    std::ifstream mounts("/proc/mounts");
    std::string device, dir, type, rest;
    while (mounts >> device >> dir >> type && std::getline(mounts, rest))
        if (type == "cgroup2")
            return dir;
    return "";
}

}  // namespace

TEST_F(RootTest, SystemWideCountsEveryKindOfAKnownWorkload)
{
    WaitingWorkload workload(path("w.json"), path("w.out"), path("w.err"));
    CountingMemtrace memtrace({"-a", "--json", "-i", "0.5", "--top", "100000"}, path("m.json"), path("m.err"));
    ASSERT_TRUE(memtrace.attached()) << read_file(path("m.err"));
    workload.release();
    ASSERT_EQ(workload.wait(), 0) << read_file(path("w.err"));
    ASSERT_EQ(memtrace.stop(), 0) << read_file(path("m.err"));

    const WorkloadReport w = read_workload_report(path("w.json"));
    const nlohmann::json summary = summary_of(path("m.json"));
    const nlohmann::json* row = process_row(summary, workload.pid());
    ASSERT_NE(row, nullptr) << "the workload is not in -a's summary";
    EXPECT_EQ((*row)["comm"], kWorkloadComm);
    EXPECT_EQ((*row)["alive"], false);
    expect_kinds_match(kinds_of(*row), w);
    uint64_t sum = 0;
    for (const auto& [kind, faults] : kinds_of(*row))
        sum += faults;
    EXPECT_EQ((*row)["faults"], sum) << "the kinds do not add up to the process's faults";
    EXPECT_GE((*row)["kernel_mode"].get<uint64_t>(), 8u) << "the workload's read() into fresh pages";
    EXPECT_GE((*row)["major"].get<uint64_t>(), 32u) << "the file phase reads every page from disk";
    EXPECT_EQ(summary["activity"]["not_counted_faults"], 0);
}

TEST_F(RootTest, ProcessesThatLiveBetweenRefreshesAreCounted)
{
    // A 10 s interval: all 50 start and exit before the first refresh.
    CountingMemtrace memtrace({"--comm", "true", "--json", "-i", "10", "--top", "1000"}, path("m.json"),
                              path("m.err"));
    ASSERT_TRUE(memtrace.attached()) << read_file(path("m.err"));
    RunResult burst = run({"/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done"});
    ASSERT_EQ(burst.exit_code, 0);
    ASSERT_EQ(memtrace.stop(), 0) << read_file(path("m.err"));

    const nlohmann::json summary = summary_of(path("m.json"));
    std::set<uint32_t> pids;
    for (const auto& row : summary["activity"]["processes"]) {
        EXPECT_EQ(row["comm"], "true");
        EXPECT_GT(row["faults"].get<uint64_t>(), 20u) << "a /bin/true whose faults were missed: pid " << row["pid"];
        pids.insert(row["pid"].get<uint32_t>());
    }
    EXPECT_EQ(pids.size(), 50u);
    uint64_t in_cgroups = 0;
    for (const auto& row : summary["activity"]["cgroups"])
        in_cgroups += row["processes"].get<uint64_t>();
    EXPECT_EQ(in_cgroups, 50u);
}

TEST_F(RootTest, CgroupCountsOnlyItsOwnProcesses)
{
    const std::string mount = cgroup2_mount();
    ASSERT_FALSE(mount.empty()) << "no cgroup v2 mount";
    const std::string name = fmt::format("/memtrace-test-{}", getpid());
    ASSERT_EQ(mkdir((mount + name).c_str(), 0755), 0) << mount + name;
    struct RemoveCgroup {
        std::string dir;
        ~RemoveCgroup() { rmdir(dir.c_str()); }
    } remove{mount + name};

    WaitingWorkload inside(path("in.json"), path("in.out"), path("in.err"));
    WaitingWorkload outside(path("out.json"), path("out.out"), path("out.err"));
    std::ofstream(mount + name + "/cgroup.procs") << inside.pid() << "\n";
    CountingMemtrace memtrace({"--cgroup", name, "--json", "-i", "0.5", "--top", "1000"}, path("m.json"),
                              path("m.err"));
    ASSERT_TRUE(memtrace.attached()) << read_file(path("m.err"));
    inside.release();
    outside.release();
    ASSERT_EQ(inside.wait(), 0);
    ASSERT_EQ(outside.wait(), 0);
    ASSERT_EQ(memtrace.stop(), 0) << read_file(path("m.err"));

    const nlohmann::json summary = summary_of(path("m.json"));
    const nlohmann::json* row = process_row(summary, inside.pid());
    ASSERT_NE(row, nullptr) << "the process in the cgroup was not counted";
    EXPECT_EQ((*row)["cgroup"], name);
    expect_kinds_match(kinds_of(*row), read_workload_report(path("in.json")));
    EXPECT_EQ(process_row(summary, outside.pid()), nullptr) << "a process outside the cgroup was counted";
    for (const auto& r : summary["activity"]["processes"])
        EXPECT_EQ(r["cgroup"], name) << "pid " << r["pid"];
}

// Each mistake: exit 1 and one line that says what is wrong.
TEST_F(RootTest, SystemWideAndExporterBadInputGetOneLine)
{
    const pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, nullptr, 0);
    const std::string busy = path("port");
    // A port in use: the first exporter's, found from its message.
    Background first({kMemtrace, "exporter", "--listen", "127.0.0.1:0", "-d", "30"}, path("e.out"), busy);
    ASSERT_TRUE(wait_for_text(busy, "/metrics")) << read_file(busy);
    const std::string served = read_file(busy);
    const size_t at = served.find("http://") + 7;
    const std::string address = served.substr(at, served.find("/metrics") - at);

    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-a", "--cgroup", "/memtrace-no-such-cgroup"}, "no such cgroup"},
        {{"exporter", "--cgroup", "/memtrace-no-such-cgroup"}, "no such cgroup"},
        {{"exporter", "--listen", "0.0.0.0:0"}, "--listen-remote"},
        {{"exporter", "--listen", address}, "is in use"},
        {{"exporter", "--listen", "nonsense"}, "bad listen address"},
        {{"exporter", "-p", std::to_string(dead)}, "no process with pid"},
        {{"-a", "-p", "1"}, "without -p"},
        {{"exporter", "-a", "--cgroup", "/"}, "give one of"},
    };
    for (const auto& [args, says] : cases) {
        std::vector<std::string> argv = {kMemtrace};
        argv.insert(argv.end(), args.begin(), args.end());
        RunResult r = run(argv, 20);
        const std::string what = fmt::format("memtrace {}", fmt::join(args, " "));
        EXPECT_EQ(r.exit_code, 1) << what << ": " << r.err;
        EXPECT_NE(r.err.find(says), std::string::npos) << what << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
        EXPECT_EQ(r.err.rfind("memtrace", 0), 0u) << what << ": " << r.err;
    }
    RunResult unprivileged = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kMemtrace, "-a"});
    EXPECT_EQ(unprivileged.exit_code, 1) << unprivileged.err;
    EXPECT_NE(unprivileged.err.find("needs root"), std::string::npos) << unprivileged.err;
}

// A full disk or a closed pipe ends -a with an error, as it ends every other mode.
TEST_F(RootTest, SystemWideOutputErrorsEndIt)
{
    for (const char* mode : {"--text", "--json"}) {
        RunResult full = run({"/bin/sh", "-c", fmt::format("{} -a {} -i 0.2 -d 5 >/dev/full", kMemtrace, mode)}, 20);
        EXPECT_EQ(full.exit_code, 1) << mode << ": " << full.err;
        EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << mode << ": " << full.err;
        RunResult pipe = run({"/bin/bash", "-c",
                              fmt::format("{} -a {} -i 0.2 | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
                                          kMemtrace, mode)},
                             20);
        ASSERT_NE(pipe.exit_code, -1) << mode << ": memtrace -a went on after its reader was gone";
        EXPECT_EQ(pipe.out, "1\n") << mode << ": " << pipe.err;
        EXPECT_NE(pipe.err.find("Broken pipe"), std::string::npos) << mode << ": " << pipe.err;
    }
}
