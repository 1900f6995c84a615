// memtrace record and memtrace report: a recorded trace replays through the same pipeline into the
// same output, byte for byte, with the known per-phase counts of the segment workload; a real
// program too; and every way a trace file can be wrong is one line and a non-zero exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json_lines.h"
#include "root_test.h"
#include "segment_phases.h"
#include "subprocess.h"

namespace {

const std::string kMemtrace = MEMTRACE_BIN;
const std::string kWorkload = SEGMENT_WORKLOAD_BIN;

void write_file(const std::string& path, const std::string& bytes)
{
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

class RecordTest : public RootTest {};

TEST_F(RecordTest, ReportJsonIsWhatTheLiveRunPrinted)
{
    const std::string data = path("w.data");
    RunResult live = run({kMemtrace, "record", "-o", data, "--json", "--", kWorkload, path("w.json")}, 120);
    ASSERT_EQ(live.exit_code, 0) << live.err;
    EXPECT_NE(live.err.find("memtrace record: "), std::string::npos) << live.err;
    RunResult replay = run({kMemtrace, "report", data, "--json"});
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    EXPECT_EQ(replay.out, live.out) << "the same records through the same pipeline";
    std::vector<nlohmann::json> lines = json_lines(replay.out);
    ASSERT_FALSE(lines.empty());
    const nlohmann::json& summary = lines.back();
    EXPECT_EQ(summary["type"], "summary");
    EXPECT_EQ(summary["processes"][0]["faults"], summary["processes"][0]["kernel_faults"])
        << "the kernel's count, from the trace alone";
}

TEST_F(RecordTest, ReplayedEventsMatchEveryKnownPage)
{
    const std::string data = path("w.data");
    RunResult live = run({kMemtrace, "record", "-o", data, "--", kWorkload, path("w.json")}, 120);
    ASSERT_EQ(live.exit_code, 0) << live.err;
    EXPECT_TRUE(live.out.empty()) << "record prints no report unless asked";
    RunResult replay = run({kMemtrace, "report", data, "--events"});
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    // The checks of LaunchedCommandFaultsMatchEveryKnownPage, on what the file holds.
    expect_phases_match(parse_events(replay.out), read_workload_report(path("w.json")));
}

TEST_F(RecordTest, ARealProgramReplaysTheSame)
{
    const std::string data = path("py.data");
    RunResult live = run({kMemtrace, "record", "-o", data, "--json", "-i", "0.05", "--", "python3", "-c",
                          "import json; d = [{'k': i, 'v': str(i)} for i in range(100000)]; s = json.dumps(d)"},
                         120);
    ASSERT_EQ(live.exit_code, 0) << live.err;
    RunResult replay = run({kMemtrace, "report", data, "--json"});
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    EXPECT_EQ(replay.out, live.out);
    EXPECT_GT(json_lines(replay.out).size(), 2u) << "intervals (python3 runs for ~0.3 s), then the summary";
    nlohmann::json summary = json_lines(replay.out).back();
    EXPECT_GT(summary["faults"].get<uint64_t>(), 10000u);
    EXPECT_FALSE(summary["sites"].empty()) << "sites are named at report time from the files of the recorded build";
    // The text report runs without root.
    chmod(dir_.c_str(), 0755);
    chmod(data.c_str(), 0644);
    RunResult unprivileged = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kMemtrace, "report", data});
    ASSERT_EQ(unprivileged.exit_code, 0) << unprivileged.err;
    EXPECT_NE(unprivileged.out.find("Summary at"), std::string::npos) << unprivileged.out;
}

TEST_F(RecordTest, ReslicedIntervalsKeepTheTotals)
{
    const std::string data = path("w.data");
    ASSERT_EQ(run({kMemtrace, "record", "-o", data, "--", kWorkload, path("w.json")}, 120).exit_code, 0);
    RunResult recorded = run({kMemtrace, "report", data, "--json"});
    RunResult fine = run({kMemtrace, "report", data, "--json", "-i", "0.001"});
    ASSERT_EQ(fine.exit_code, 0) << fine.err;
    std::vector<nlohmann::json> a = json_lines(recorded.out), b = json_lines(fine.out);
    EXPECT_GT(b.size(), a.size()) << "the workload runs ~10 ms: 1 s intervals are fewer than 1 ms ones";
    EXPECT_EQ(a.back()["faults"], b.back()["faults"]);
    auto per_segment = [](const nlohmann::json& report) {
        std::map<std::string, uint64_t> faults;
        for (const nlohmann::json& s : report["segments"])
            faults[s["segment"].get<std::string>()] = s["faults"].get<uint64_t>();
        return faults;
    };
    EXPECT_EQ(per_segment(a.back()), per_segment(b.back()));
    uint64_t sum = 0;
    for (const nlohmann::json& line : b)
        sum += line["interval_faults"].get<uint64_t>();
    EXPECT_EQ(sum, b.back()["faults"].get<uint64_t>()) << "every fault in exactly one interval";
}

TEST_F(RecordTest, PidAndTimeFilters)
{
    const std::string data = path("w.data");
    ASSERT_EQ(run({kMemtrace, "record", "-o", data, "--", kWorkload, path("w.json")}, 120).exit_code, 0);
    WorkloadReport w = read_workload_report(path("w.json"));
    nlohmann::json all = json_lines(run({kMemtrace, "report", data, "--json"}).out).back();
    nlohmann::json mine =
        json_lines(run({kMemtrace, "report", data, "--json", "--pid", std::to_string(w.pid)}).out).back();
    EXPECT_EQ(mine["faults"], all["faults"]) << "one process: all of it is its own";
    nlohmann::json other = json_lines(run({kMemtrace, "report", data, "--json", "--pid", "1"}).out).back();
    EXPECT_EQ(other["faults"], 0);
    nlohmann::json early = json_lines(run({kMemtrace, "report", data, "--json", "--time", "0,0.000001"}).out).back();
    EXPECT_LT(early["faults"].get<uint64_t>(), all["faults"].get<uint64_t>());
    RunResult bad = run({kMemtrace, "report", data, "--time", "5,1"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("--time 5,1"), std::string::npos) << bad.err;
}

TEST_F(RecordTest, DiffShowsTheChange)
{
    const std::string a = path("a.data"), b = path("b.data");
    auto record_touching = [&](const std::string& file, int pages) {
        return run({kMemtrace, "record", "-o", file, "--", "python3", "-c",
                    fmt::format("import mmap; m = mmap.mmap(-1, {0} * 4096)\nfor i in range({0}): m[i * 4096] = 1",
                                pages)},
                   120);
    };
    ASSERT_EQ(record_touching(a, 100).exit_code, 0);
    ASSERT_EQ(record_touching(b, 1100).exit_code, 0);
    RunResult diff = run({kMemtrace, "report", "--diff", a, b, "--json"});
    ASSERT_EQ(diff.exit_code, 0) << diff.err;
    nlohmann::json d = nlohmann::json::parse(diff.out);
    EXPECT_EQ(d["type"], "diff");
    int64_t shm = 0;
    for (const nlohmann::json& row : d["segments"])
        if (row["name"] == "shm anonymous")
            shm = row["delta"].get<int64_t>();
    EXPECT_EQ(shm, 1000) << "1000 more pages of the shared mapping touched: " << diff.out;
    RunResult text = run({kMemtrace, "report", "--diff", a, b});
    EXPECT_NE(text.out.find("faults per segment"), std::string::npos) << text.out;
}

TEST_F(RecordTest, NeverOverwritesWithoutForce)
{
    const std::string data = path("x.data");
    write_file(data, "precious");
    RunResult r = run({kMemtrace, "record", "-o", data, "--", "/bin/true"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("exists (--force overwrites it)"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(data), "precious");
    EXPECT_EQ(run({kMemtrace, "record", "-o", data, "--force", "--", "/bin/true"}).exit_code, 0);
    EXPECT_NE(read_file(data), "precious");
}

TEST_F(RecordTest, AFullDiskIsAnErrorNotAShortFile)
{
    RunResult r = run({kMemtrace, "record", "-o", "/dev/full", "--force", "--", kWorkload, path("w.json")}, 120);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

TEST_F(RecordTest, BadTraceFilesAreOneLineErrors)
{
    const std::string data = path("w.data");
    ASSERT_EQ(run({kMemtrace, "record", "-o", data, "--", kWorkload, path("w.json")}, 120).exit_code, 0);
    const std::string whole = read_file(data);

    // Cut short, as when memtrace record is killed: what it holds is reported, and it says so.
    write_file(path("cut.data"), whole.substr(0, whole.size() * 2 / 3));
    RunResult cut = run({kMemtrace, "report", path("cut.data")});
    EXPECT_EQ(cut.exit_code, 1);
    EXPECT_NE(cut.out.find("Summary at"), std::string::npos) << cut.out;
    EXPECT_NE(cut.out.find("the recording was cut short"), std::string::npos) << cut.out;
    EXPECT_NE(cut.err.find("ends in the middle of a block"), std::string::npos) << cut.err;

    std::string damaged = whole;
    damaged[damaged.size() / 2] ^= 1;
    write_file(path("damaged.data"), damaged);
    RunResult bad = run({kMemtrace, "report", path("damaged.data")});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("checksum mismatch"), std::string::npos) << bad.err;

    struct Case {
        std::string name, bytes, error;
    } cases[] = {
        {"empty.data", "", "is empty: not a memtrace trace"},
        {"garbage.data", std::string(4096, '\x5a'), "is not a memtrace trace"},
        {"future.data", whole.substr(0, 8) + std::string("\x09\x00\x00\x00", 4) + whole.substr(12), "format version 9"},
    };
    for (const Case& c : cases) {
        write_file(path(c.name), c.bytes);
        RunResult r = run({kMemtrace, "report", path(c.name)});
        EXPECT_EQ(r.exit_code, 1) << c.name;
        EXPECT_NE(r.err.find(c.error), std::string::npos) << c.name << ": " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": one line: " << r.err;
        EXPECT_TRUE(r.out.empty()) << c.name;
    }
    RunResult missing = run({kMemtrace, "report", path("nothing.data")});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
}

TEST_F(RecordTest, AskingForWhatWasNotRecordedIsAnError)
{
    const std::string data = path("t.data");
    ASSERT_EQ(run({kMemtrace, "record", "-o", data, "--", "/bin/true"}).exit_code, 0);
    RunResult r = run({kMemtrace, "report", data, "--latency"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("recorded without --latency"), std::string::npos) << r.err;
    r = run({kMemtrace, "report", data, "--folded", path("f.txt")});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("recorded without --stacks"), std::string::npos) << r.err;
}

}  // namespace
