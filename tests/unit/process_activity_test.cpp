// -a and the exporter without the kernel: MT_REC_PROCESS_COUNTS records (cumulative, as the
// count session sends them) through the real pipeline, into the top-like rows, the cgroup rows and
// the exporter's bounded, never-decreasing series; and those series as Prometheus families, read
// back by promtool when it is installed.
#include "analysis/process_activity.h"

#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "output/format_util.h"
#include "output/prometheus_metrics.h"
#include "output/prometheus_text.h"
#include "output/render_activity.h"
#include "pipeline/pipeline.h"
#include "stream/record_builder.h"
#include "symbols/code_namer.h"

namespace {

using memtrace::ActivityRow;
using memtrace::MetricGroup;
using memtrace::Report;

constexpr uint64_t kStart = 1'000'000'000;

// A counting trace: records in, reports out.
class CountingTrace {
public:
    explicit CountingTrace(size_t max_groups = 100, size_t top = 20)
    {
        memtrace::PipelineOptions o;
        o.max_metric_groups = max_groups;
        o.top_processes = top;
        pipeline_ = std::make_unique<memtrace::Pipeline>(o, namer_);
        pipeline_->set_report_handler([this](const Report& r, uint32_t) { last_ = r; });
        mt_trace_start s{};
        s.hdr = memtrace::header(MT_REC_TRACE_START, 0, kStart);
        s.flags = MT_TRACE_COUNTED;
        EXPECT_TRUE(pipeline_->handle(&s, sizeof(s)));
    }
    void cgroup(uint64_t id, const std::string& path)
    {
        memtrace::RecordBytes r = memtrace::cgroup_record(now_, id, path);
        EXPECT_TRUE(pipeline_->handle(r.data(), r.size()));
    }
    // Process `pid` has counted `heap` heap faults (user mode), `kernel_anon` kernel-mode anon ones,
    // `major_file` major file faults, in all (cumulative).
    void counts(uint32_t pid, const char* comm, uint64_t cgroup, uint64_t heap, uint64_t kernel_anon = 0,
                uint64_t major_file = 0, bool exited = false, uint64_t brk = 0)
    {
        mt_process_counts c{};
        c.hdr = memtrace::header(MT_REC_PROCESS_COUNTS, pid, now_);
        c.hdr.flags = exited ? MT_PROCESS_EXITED : 0;
        c.cgroup_id = cgroup;
        std::strncpy(c.comm, comm, sizeof(c.comm) - 1);  // NUL-terminated, as the kernel's comm
        c.counts.faults[MT_KIND_HEAP][0] = heap;
        c.counts.faults[MT_KIND_ANON][1] = kernel_anon;
        c.counts.faults[MT_KIND_FILE][0] = major_file;
        c.counts.major[MT_KIND_FILE][0] = major_file;
        c.brk_grown = brk;
        EXPECT_TRUE(pipeline_->handle(&c, sizeof(c)));
    }
    void rss(uint32_t pid, int64_t anon_pages)
    {
        mt_rss r{};
        r.hdr = memtrace::header(MT_REC_RSS, pid, now_);
        r.anon = anon_pages;
        EXPECT_TRUE(pipeline_->handle(&r, sizeof(r)));
    }
    Report tick(double seconds, bool final = false)
    {
        now_ = kStart + static_cast<uint64_t>(seconds * 1e9);
        mt_tick t{};
        t.hdr = memtrace::header(MT_REC_TICK, 0, now_);
        t.flags = final ? MT_TICK_FINAL : 0;
        t.end_reason = final ? MT_END_DURATION : 0;
        EXPECT_TRUE(pipeline_->handle(&t, sizeof(t)));
        return last_;
    }

private:
    memtrace::PlainCodeNamer namer_;
    std::unique_ptr<memtrace::Pipeline> pipeline_;
    Report last_;
    uint64_t now_ = kStart;
};

const ActivityRow* row_of(const std::vector<ActivityRow>& rows, uint32_t pid)
{
    for (const ActivityRow& r : rows)
        if (r.pid == pid)
            return &r;
    return nullptr;
}

const MetricGroup* group_of(const Report& r, const std::string& cgroup, const std::string& comm)
{
    for (const MetricGroup& g : r.metric_groups)
        if (g.cgroup == cgroup && g.comm == comm)
            return &g;
    return nullptr;
}

TEST(ProcessActivity, IntervalsAreTheDifferenceOfCumulativeCounts)
{
    CountingTrace t;
    t.cgroup(7, "/system.slice/web.service");
    t.counts(100, "web", 7, 50, 3, 2, false, 8192);
    Report r = t.tick(1);
    ASSERT_TRUE(r.system_wide);
    const ActivityRow* web = row_of(r.activity, 100);
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->comm, "web");
    EXPECT_EQ(web->cgroup, "/system.slice/web.service");
    EXPECT_EQ(web->faults, 55u);
    EXPECT_EQ(web->interval_faults, 55u);
    EXPECT_EQ(web->major, 2u);
    EXPECT_EQ(web->kernel_mode, 3u);
    EXPECT_EQ(web->by_kind[MT_KIND_HEAP], 50u);
    EXPECT_EQ(web->brk_grown, 8192u);

    t.counts(100, "web", 7, 80, 3, 2, false, 8192);
    r = t.tick(2);
    web = row_of(r.activity, 100);
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->faults, 85u);
    EXPECT_EQ(web->interval_faults, 30u);
    EXPECT_EQ(web->interval_by_kind[MT_KIND_HEAP], 30u);
    EXPECT_EQ(web->interval_major, 0u);
    EXPECT_EQ(web->interval_brk_grown, 0u);
    EXPECT_EQ(memtrace::leading_kinds(*web), "heap 100%");

    // Nothing new: the process is still listed, with an empty interval.
    r = t.tick(3);
    web = row_of(r.activity, 100);
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->interval_faults, 0u);
    EXPECT_EQ(memtrace::leading_kinds(*web), "heap 94%, anon 3%") << "all of them, when the interval had none";
}

TEST(ProcessActivity, BusiestOfTheIntervalFirst)
{
    CountingTrace t(100, 2);
    t.counts(1, "old", 0, 1000);
    t.counts(2, "quiet", 0, 10);
    t.counts(3, "new", 0, 5);
    Report r = t.tick(1);
    ASSERT_EQ(r.activity.size(), 2u) << "--top 2";
    EXPECT_EQ(r.activity[0].pid, 1u);
    t.counts(1, "old", 0, 1001);
    t.counts(3, "new", 0, 505);
    r = t.tick(2);
    ASSERT_EQ(r.activity.size(), 2u);
    EXPECT_EQ(r.activity[0].pid, 3u) << "500 in this interval beats 1";
    EXPECT_EQ(r.activity[1].pid, 1u);
    EXPECT_EQ(r.activity_processes, 3u);
    EXPECT_EQ(r.activity_live, 3u);
}

TEST(ProcessActivity, AProcessThatStartedAndExitedBetweenReportsIsCounted)
{
    CountingTrace t;
    t.counts(50, "make", 0, 10);
    t.tick(1);
    t.counts(51, "cc1", 0, 400, 0, 0, true);  // born and gone within the second
    Report r = t.tick(2);
    const ActivityRow* cc1 = row_of(r.activity, 51);
    ASSERT_NE(cc1, nullptr);
    EXPECT_FALSE(cc1->alive);
    EXPECT_EQ(cc1->interval_faults, 400u);
    EXPECT_EQ(r.activity_exited_in_interval, 1u);
    // The next interval no longer lists it; the summary, of the whole trace, does.
    r = t.tick(3);
    EXPECT_EQ(row_of(r.activity, 51), nullptr);
    r = t.tick(4, true);
    cc1 = row_of(r.activity, 51);
    ASSERT_NE(cc1, nullptr) << "the summary lists the busiest processes of the whole trace";
    EXPECT_EQ(cc1->faults, 400u);
    EXPECT_EQ(r.activity[0].pid, 51u) << "by all its faults";
}

TEST(ProcessActivity, AReusedPidIsAnotherProcess)
{
    CountingTrace t;
    t.counts(9, "first", 0, 300);
    t.tick(1);
    t.counts(9, "second", 0, 20);  // counts went down: not the same process
    Report r = t.tick(2);
    const ActivityRow* p = row_of(r.activity, 9);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->comm, "second");
    EXPECT_EQ(p->interval_faults, 20u);
    const MetricGroup* first = group_of(r, "", "first");
    const MetricGroup* second = group_of(r, "", "second");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(first->faults[MT_KIND_HEAP][0], 300u) << "the first one's faults stay counted";
    EXPECT_EQ(second->faults[MT_KIND_HEAP][0], 20u);
}

TEST(ProcessActivity, SeriesAreBoundedAndNeverDecrease)
{
    CountingTrace t(2);  // two (cgroup, comm) groups, then "other"
    t.counts(1, "a", 0, 10);
    t.counts(2, "b", 0, 20);
    t.counts(3, "c", 0, 30);
    t.counts(4, "d", 0, 40);
    Report r = t.tick(1);
    ASSERT_EQ(r.metric_groups.size(), 3u);
    EXPECT_NE(group_of(r, "", "a"), nullptr);
    EXPECT_NE(group_of(r, "", "b"), nullptr);
    const MetricGroup* other = group_of(r, "other", "other");
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->faults[MT_KIND_HEAP][0], 70u);
    EXPECT_EQ(r.metric_groups_folded, 2u);
    // "a" exits: its series keeps its count; "c" grows under "other".
    t.counts(1, "a", 0, 15, 0, 0, true);
    t.counts(3, "c", 0, 33);
    Report later = t.tick(2);
    EXPECT_EQ(group_of(later, "", "a")->faults[MT_KIND_HEAP][0], 15u);
    EXPECT_EQ(group_of(later, "", "a")->live_processes, 0u);
    EXPECT_EQ(group_of(later, "other", "other")->faults[MT_KIND_HEAP][0], 73u);
    for (const MetricGroup& before : r.metric_groups) {
        const MetricGroup* after = group_of(later, before.cgroup, before.comm);
        ASSERT_NE(after, nullptr);
        for (int k = 0; k < MT_KINDS; ++k)
            EXPECT_GE(after->faults[k][0], before.faults[k][0]);
    }
}

TEST(ProcessActivity, CgroupRowsSumTheirProcesses)
{
    CountingTrace t;
    t.cgroup(7, "/a.service");
    t.cgroup(8, "/b.service");
    t.counts(1, "x", 7, 10);
    t.counts(2, "y", 7, 20);
    t.counts(3, "z", 8, 5);
    t.rss(1, 100);
    t.rss(2, 50);
    Report r = t.tick(1);
    ASSERT_EQ(r.cgroup_activity.size(), 2u);
    EXPECT_EQ(r.cgroup_activity[0].cgroup, "/a.service");
    EXPECT_EQ(r.cgroup_activity[0].processes, 2u);
    EXPECT_EQ(r.cgroup_activity[0].faults, 30u);
    EXPECT_EQ(r.cgroup_activity[0].pid, 0u);
    EXPECT_EQ(r.cgroup_activity[0].rss_bytes, 150 * 4096);
    EXPECT_EQ(r.cgroup_activity[1].faults, 5u);
    EXPECT_FALSE(r.cgroup_activity[1].rss_known);
}

TEST(ProcessActivity, MalformedCountRecordsAreRejected)
{
    memtrace::PlainCodeNamer namer;
    memtrace::Pipeline p({}, namer);
    mt_process_counts c{};
    c.hdr = memtrace::header(MT_REC_PROCESS_COUNTS, 1, kStart);
    EXPECT_FALSE(p.handle(&c, sizeof(c) - 1));
    memtrace::RecordBytes g = memtrace::cgroup_record(kStart, 3, "/x");
    g.pop_back();
    EXPECT_FALSE(p.handle(g.data(), g.size())) << "a path longer than the record";
    EXPECT_EQ(p.malformed(), 2u);
}

TEST(RenderActivity, TextTableEscapesNamesAndFitsColumns)
{
    Report r;
    r.system_wide = true;
    r.elapsed_s = 2;
    r.interval_s = 1;
    r.activity_processes = 1;
    r.activity_live = 1;
    ActivityRow row;
    row.pid = 42;
    row.comm = "evil\x1b]0;owned\x07";
    row.cgroup = "/x";
    row.faults = 2000;
    row.interval_faults = 1500;
    row.by_kind[MT_KIND_ANON] = 1500;
    row.interval_by_kind[MT_KIND_ANON] = 1500;
    r.activity.push_back(row);
    std::ostringstream out;
    memtrace::render_activity_text(out, r, false);
    const std::string text = out.str();
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos);
    EXPECT_NE(text.find("evil\\x1b]0;owned"), std::string::npos) << text;
    EXPECT_NE(text.find("1,500"), std::string::npos);
    EXPECT_NE(text.find("anon 100%"), std::string::npos);
    nlohmann::json j = memtrace::activity_to_json(r);
    EXPECT_EQ(j["processes"][0]["pid"], 42);
    EXPECT_EQ(j["processes"][0]["kinds"]["anon"]["interval_faults"], 1500);
}

TEST(PrometheusMetrics, MinorAndMajorSplitByKindAndMode)
{
    CountingTrace t;
    t.cgroup(7, "/web");
    t.counts(1, "nginx", 7, 50, 3, 4);
    t.rss(1, 10);
    Report r = t.tick(1);
    memtrace::ExporterStatus s;
    s.version = "1";
    s.commit = "abc";
    std::string text = memtrace::render(memtrace::metrics_exposition(r, s), memtrace::ExpositionFormat::prometheus_text);
    EXPECT_NE(text.find("memtrace_page_faults_total{cgroup=\"/web\",comm=\"nginx\",kind=\"heap\",mode=\"user\",severity=\"minor\"} 50\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kind=\"anon\",mode=\"kernel\",severity=\"minor\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("kind=\"file\",mode=\"user\",severity=\"major\"} 4\n"), std::string::npos);
    EXPECT_EQ(text.find("kind=\"file\",mode=\"user\",severity=\"minor\"}"), std::string::npos)
        << "all 4 file faults were major";
    EXPECT_NE(text.find("memtrace_resident_bytes{cgroup=\"/web\",comm=\"nginx\",type=\"anon\"} 40960\n"), std::string::npos);
    EXPECT_NE(text.find("memtrace_processes{cgroup=\"/web\",comm=\"nginx\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("memtrace_build_info{version=\"1\",commit=\"abc\"} 1\n"), std::string::npos);
    EXPECT_EQ(text.find("memtrace_fault_latency_seconds"), std::string::npos) << "only with --latency";
}

TEST(PrometheusMetrics, LatencyBucketsFromTheKernelsLog2Nanoseconds)
{
    Report r;
    r.kernel_latency = true;
    r.latency_ns_buckets[0][11] = 5;  // [2 µs, 4 µs): under the 4.096 µs bound
    r.latency_ns_buckets[0][2] = 1;   // [4 ns, 8 ns): under the first bound, 1.024 µs
    r.latency_ns_buckets[1][39] = 2;  // [2^39 ns, ...): above every bound
    r.latency_ns_sum[0] = 5 * 3000 + 5;
    memtrace::ExporterStatus s;
    std::string text = memtrace::render(memtrace::metrics_exposition(r, s), memtrace::ExpositionFormat::prometheus_text);
    EXPECT_NE(text.find("memtrace_fault_latency_seconds_bucket{severity=\"minor\",le=\"1.024e-06\"} 1\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("memtrace_fault_latency_seconds_bucket{severity=\"minor\",le=\"4.096e-06\"} 6\n"), std::string::npos);
    EXPECT_NE(text.find("memtrace_fault_latency_seconds_count{severity=\"minor\"} 6\n"), std::string::npos);
    EXPECT_NE(text.find("memtrace_fault_latency_seconds_bucket{severity=\"major\",le=\"+Inf\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("memtrace_fault_latency_seconds_bucket{severity=\"major\",le=\"8.589934592\"} 0\n"), std::string::npos);
}

TEST(PrometheusMetrics, HostileNamesStayInsideTheirLabel)
{
    CountingTrace t;
    t.cgroup(7, "/a\"b\\c\nd");
    t.counts(1, "x\"}\nevil 1", 7, 5);
    Report r = t.tick(1);
    std::string text = memtrace::render(memtrace::metrics_exposition(r, {}), memtrace::ExpositionFormat::prometheus_text);
    EXPECT_EQ(text.find("\nevil 1"), std::string::npos) << text;
    EXPECT_NE(text.find("cgroup=\"/a\\\"b\\\\c\\nd\",comm=\"x\\\"}\\nevil 1\""), std::string::npos) << text;
}

}  // namespace

// An interval's BRK+ and MMAP+ are what grew in it; the summary's, what grew over the whole run
// (a process that grew its heap early and exited must not show 0 there).
TEST(ActivityText, SummaryShowsTheWholeRunsGrowth)
{
    Report r;
    r.system_wide = true;
    r.elapsed_s = 5;
    r.interval_s = 1;
    ActivityRow row;
    row.pid = 7;
    row.comm = "python3";
    row.faults = 100;
    row.by_kind[MT_KIND_HEAP] = 100;
    row.brk_grown = 3 << 20;
    row.mmap_bytes = 5 << 20;
    r.activity.push_back(row);
    std::ostringstream interval;
    memtrace::render_activity_text(interval, r, false);
    EXPECT_EQ(interval.str().find(" 3M "), std::string::npos) << interval.str();
    r.final = true;
    std::ostringstream summary;
    memtrace::render_activity_text(summary, r, false);
    EXPECT_NE(summary.str().find(" 3M "), std::string::npos) << summary.str();
    EXPECT_NE(summary.str().find(" 5M "), std::string::npos) << summary.str();
}
