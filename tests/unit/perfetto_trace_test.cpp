// The Perfetto trace: every event held to the rules of the Chrome JSON trace-event format (its
// fields and their types, by phase), and its counters to the report's values.
#include "output/perfetto_trace.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "pictures_fixture.h"

using memtrace::Report;
using memtrace_test::kPicturesPid;
using memtrace_test::kPicturesThread;
using memtrace_test::pictures_report;
using Json = nlohmann::json;

namespace {

bool is_id(const Json& v) { return v.is_number_integer() && v.get<int64_t>() >= 0; }

// The format's rules for the phases memtrace writes: metadata (M), counters (C), instants (i).
void expect_valid_event(const Json& e)
{
    SCOPED_TRACE(e.dump());
    ASSERT_TRUE(e.is_object());
    ASSERT_TRUE(e.contains("ph") && e["ph"].is_string());
    ASSERT_TRUE(e.contains("name") && e["name"].is_string());
    EXPECT_FALSE(e["name"].get<std::string>().empty());
    EXPECT_TRUE(e.contains("pid") && is_id(e["pid"]));
    EXPECT_TRUE(e.contains("tid") && is_id(e["tid"]));
    const std::string ph = e["ph"];
    if (ph == "M") {
        EXPECT_TRUE(e["name"] == "process_name" || e["name"] == "thread_name");
        ASSERT_TRUE(e.contains("args") && e["args"].is_object());
        EXPECT_TRUE(e["args"].contains("name") && e["args"]["name"].is_string());
        return;
    }
    ASSERT_TRUE(e.contains("ts") && e["ts"].is_number());
    EXPECT_GE(e["ts"].get<double>(), 0);
    ASSERT_TRUE(e.contains("args") && e["args"].is_object());
    if (ph == "C") {
        EXPECT_FALSE(e["args"].empty());
        for (const auto& [key, value] : e["args"].items())
            EXPECT_TRUE(value.is_number()) << key;  // a counter's series hold numbers only
    } else if (ph == "i") {
        ASSERT_TRUE(e.contains("s") && e["s"].is_string());
        EXPECT_TRUE(e["s"] == "g" || e["s"] == "p" || e["s"] == "t");
        EXPECT_TRUE(e.contains("cat") && e["cat"].is_string());
    } else {
        ADD_FAILURE() << "a phase memtrace does not write: " << ph;
    }
}

class PerfettoTraceTest : public ::testing::Test {
protected:
    Report report = pictures_report();
    // Through text, as a file holds it: what the dump writes must parse back.
    Json trace = Json::parse(memtrace::perfetto_trace(report).dump());
    const Json& events() const { return trace["traceEvents"]; }
};

TEST_F(PerfettoTraceTest, EveryEventFollowsTheFormat)
{
    ASSERT_TRUE(trace.is_object());
    ASSERT_TRUE(trace.contains("traceEvents") && trace["traceEvents"].is_array());
    EXPECT_EQ(trace["displayTimeUnit"], "ms");
    EXPECT_TRUE(trace["otherData"].is_object());
    ASSERT_FALSE(events().empty());
    for (const Json& e : events())
        expect_valid_event(e);
}

TEST_F(PerfettoTraceTest, ProcessAndThreadNames)
{
    std::map<std::string, std::set<uint32_t>> named;
    for (const Json& e : events())
        if (e["ph"] == "M") {
            named[e["name"]].insert(e["tid"].get<uint32_t>());
            EXPECT_EQ(e["args"]["name"], "<b>app</b>\xEF\xBF\xBD") << "made valid UTF-8";
        }
    EXPECT_EQ(named["process_name"], (std::set<uint32_t>{kPicturesPid}));
    EXPECT_EQ(named["thread_name"], (std::set<uint32_t>{kPicturesPid, kPicturesThread}));
}

TEST_F(PerfettoTraceTest, CountersMatchTheReport)
{
    // Faults per second per kind, one value per 1 ms bucket: back to counts, the report's per kind.
    std::map<std::string, double> faults_by_kind;
    double heap = -1, heap_ts = -1;
    std::map<std::string, double> rss;
    for (const Json& e : events()) {
        if (e["ph"] != "C")
            continue;
        EXPECT_EQ(e["pid"], kPicturesPid);
        if (e["name"] == "faults/s") {
            for (const auto& [kind, rate] : e["args"].items())
                faults_by_kind[kind] += rate.get<double>() * 0.001;
        } else if (e["name"] == "heap" && e["ts"].get<double>() >= heap_ts) {
            heap = e["args"]["bytes"].get<double>();
            heap_ts = e["ts"].get<double>();
        } else if (e["name"] == "rss") {
            for (const auto& [member, bytes] : e["args"].items())
                rss[member] = std::max(rss[member], bytes.get<double>());
        }
    }
    std::map<std::string, double> expected;
    for (const memtrace::SegmentRow& s : report.segments)
        expected[memtrace::kind_name(s.kind)] += s.faults;
    for (auto& [kind, n] : faults_by_kind)
        n = std::round(n * 1e6) / 1e6;
    for (const auto& [kind, n] : expected)
        EXPECT_EQ(faults_by_kind[kind], n) << kind;
    EXPECT_EQ(heap, static_cast<double>(report.heap_size));
    EXPECT_EQ(rss["anon"], 100 * 4096);
    EXPECT_EQ(rss["file"], 50 * 4096);
    EXPECT_EQ(rss["shmem"], 10 * 4096);
}

TEST_F(PerfettoTraceTest, InstantEventsForCallsAndCrashes)
{
    std::map<std::string, int> count;
    for (const Json& e : events())
        if (e["ph"] == "i") {
            ++count[e["name"]];
            if (e["name"] == "mmap") {
                EXPECT_EQ(e["tid"], kPicturesThread) << "on the thread that made the call";
                EXPECT_EQ(e["ts"], 4200.0) << "microseconds since the start";
                EXPECT_EQ(e["args"]["addr"], "0x7f1000000000");
                EXPECT_EQ(e["args"]["len"], 0x4000);
            }
            if (e["name"] == "crash") {
                EXPECT_EQ(e["args"]["signal"], "SIGSEGV SEGV_MAPERR");
            }
        }
    EXPECT_EQ(count["mmap"], static_cast<int>(report.mmap_calls));
    EXPECT_EQ(count["munmap"], static_cast<int>(report.munmap_calls));
    EXPECT_EQ(count["brk"], static_cast<int>(report.brk_calls));
    EXPECT_EQ(count["crash"], 1);
}

}  // namespace
