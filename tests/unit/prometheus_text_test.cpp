// The Prometheus text format 0.0.4 and OpenMetrics 1.0.0 writers, byte for byte; the checks on
// names; content negotiation; and the real promtool reading what we write.
#include "output/prometheus_text.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

using memtrace::content_type;
using memtrace::Exposition;
using memtrace::ExpositionFormat;
using memtrace::HistogramPoint;
using memtrace::MetricFamily;
using memtrace::negotiate_format;
using memtrace::render;

namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

std::string text_of(const Exposition& e) { return render(e, ExpositionFormat::prometheus_text); }
std::string openmetrics_of(const Exposition& e) { return render(e, ExpositionFormat::openmetrics); }

Exposition one(MetricFamily family)
{
    Exposition e;
    e.add(std::move(family));
    return e;
}

TEST(PrometheusText, CounterWithLabels)
{
    auto faults = MetricFamily::counter("memtrace_page_faults", "Page faults by segment.", {"comm", "segment"});
    faults.add({"bash", "heap"}, uint64_t{42});
    faults.add({"cc1", "stack"}, std::numeric_limits<uint64_t>::max());
    faults.add({"bash", "anon"}, 7);
    Exposition e = one(std::move(faults));

    EXPECT_EQ(text_of(e),
              "# HELP memtrace_page_faults_total Page faults by segment.\n"
              "# TYPE memtrace_page_faults_total counter\n"
              "memtrace_page_faults_total{comm=\"bash\",segment=\"anon\"} 7\n"
              "memtrace_page_faults_total{comm=\"bash\",segment=\"heap\"} 42\n"
              "memtrace_page_faults_total{comm=\"cc1\",segment=\"stack\"} 18446744073709551615\n");
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE memtrace_page_faults counter\n"
              "# HELP memtrace_page_faults Page faults by segment.\n"
              "memtrace_page_faults_total{comm=\"bash\",segment=\"anon\"} 7\n"
              "memtrace_page_faults_total{comm=\"bash\",segment=\"heap\"} 42\n"
              "memtrace_page_faults_total{comm=\"cc1\",segment=\"stack\"} 18446744073709551615\n"
              "# EOF\n");
}

TEST(PrometheusText, GaugeWithUnit)
{
    auto rss = MetricFamily::gauge("memtrace_rss_bytes", "Resident set size.", {"pid"}, "bytes");
    rss.add({"1"}, 4096);
    rss.add({"2"}, 1.5);
    rss.add({"3"}, -2);
    rss.add({"4"}, 17.0);
    rss.add({"5"}, std::numeric_limits<int64_t>::min());
    Exposition e = one(std::move(rss));

    EXPECT_EQ(text_of(e),
              "# HELP memtrace_rss_bytes Resident set size.\n"
              "# TYPE memtrace_rss_bytes gauge\n"
              "memtrace_rss_bytes{pid=\"1\"} 4096\n"
              "memtrace_rss_bytes{pid=\"2\"} 1.5\n"
              "memtrace_rss_bytes{pid=\"3\"} -2\n"
              "memtrace_rss_bytes{pid=\"4\"} 17\n"
              "memtrace_rss_bytes{pid=\"5\"} -9223372036854775808\n");
    // OpenMetrics: # UNIT, and a float keeps its point (17.0) while an integer has none.
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE memtrace_rss_bytes gauge\n"
              "# UNIT memtrace_rss_bytes bytes\n"
              "# HELP memtrace_rss_bytes Resident set size.\n"
              "memtrace_rss_bytes{pid=\"1\"} 4096\n"
              "memtrace_rss_bytes{pid=\"2\"} 1.5\n"
              "memtrace_rss_bytes{pid=\"3\"} -2\n"
              "memtrace_rss_bytes{pid=\"4\"} 17.0\n"
              "memtrace_rss_bytes{pid=\"5\"} -9223372036854775808\n"
              "# EOF\n");
}

TEST(PrometheusText, FloatsAsGoWritesThem)
{
    auto g = MetricFamily::gauge("x", "", {"v"});
    g.add({"a"}, std::numeric_limits<double>::quiet_NaN());
    g.add({"b"}, std::numeric_limits<double>::infinity());
    g.add({"c"}, -std::numeric_limits<double>::infinity());
    g.add({"d"}, 1e6);
    g.add({"e"}, 1e-5);
    g.add({"f"}, 100000.0);
    g.add({"g"}, 0.0001);
    g.add({"h"}, 123456.7);
    g.add({"i"}, 0.1 + 0.2);
    g.add({"j"}, 0.0);
    g.add({"k"}, 1.7976931348623157e308);
    Exposition e = one(std::move(g));

    EXPECT_EQ(text_of(e),
              "# TYPE x gauge\n"
              "x{v=\"a\"} NaN\n"
              "x{v=\"b\"} +Inf\n"
              "x{v=\"c\"} -Inf\n"
              "x{v=\"d\"} 1e+06\n"
              "x{v=\"e\"} 1e-05\n"
              "x{v=\"f\"} 100000\n"
              "x{v=\"g\"} 0.0001\n"
              "x{v=\"h\"} 123456.7\n"
              "x{v=\"i\"} 0.30000000000000004\n"
              "x{v=\"j\"} 0\n"
              "x{v=\"k\"} 1.7976931348623157e+308\n");
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE x gauge\n"
              "x{v=\"a\"} NaN\n"
              "x{v=\"b\"} +Inf\n"
              "x{v=\"c\"} -Inf\n"
              "x{v=\"d\"} 1e+06\n"
              "x{v=\"e\"} 1e-05\n"
              "x{v=\"f\"} 100000.0\n"
              "x{v=\"g\"} 0.0001\n"
              "x{v=\"h\"} 123456.7\n"
              "x{v=\"i\"} 0.30000000000000004\n"
              "x{v=\"j\"} 0.0\n"
              "x{v=\"k\"} 1.7976931348623157e+308\n"
              "# EOF\n");
}

TEST(PrometheusText, HistogramWithBuckets)
{
    auto latency = MetricFamily::histogram("memtrace_fault_latency_seconds", "Time to handle a fault.",
                                           {1e-06, 0.001, 1, 100000}, {"segment"}, "seconds");
    latency.add({"heap"}, HistogramPoint::from_bucket_counts({3, 5, 0, 1, 2}, 0.25));
    latency.add({"anon"}, HistogramPoint{{0, 0, 0, 0}, 0, 0});
    Exposition e = one(std::move(latency));

    EXPECT_EQ(text_of(e),
              "# HELP memtrace_fault_latency_seconds Time to handle a fault.\n"
              "# TYPE memtrace_fault_latency_seconds histogram\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"1e-06\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"0.001\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"1\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"100000\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"+Inf\"} 0\n"
              "memtrace_fault_latency_seconds_sum{segment=\"anon\"} 0\n"
              "memtrace_fault_latency_seconds_count{segment=\"anon\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"1e-06\"} 3\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"0.001\"} 8\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"1\"} 8\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"100000\"} 9\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"+Inf\"} 11\n"
              "memtrace_fault_latency_seconds_sum{segment=\"heap\"} 0.25\n"
              "memtrace_fault_latency_seconds_count{segment=\"heap\"} 11\n");
    // OpenMetrics: canonical "le" values (1.0, 100000.0).
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE memtrace_fault_latency_seconds histogram\n"
              "# UNIT memtrace_fault_latency_seconds seconds\n"
              "# HELP memtrace_fault_latency_seconds Time to handle a fault.\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"1e-06\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"0.001\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"1.0\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"100000.0\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"anon\",le=\"+Inf\"} 0\n"
              "memtrace_fault_latency_seconds_sum{segment=\"anon\"} 0\n"
              "memtrace_fault_latency_seconds_count{segment=\"anon\"} 0\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"1e-06\"} 3\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"0.001\"} 8\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"1.0\"} 8\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"100000.0\"} 9\n"
              "memtrace_fault_latency_seconds_bucket{segment=\"heap\",le=\"+Inf\"} 11\n"
              "memtrace_fault_latency_seconds_sum{segment=\"heap\"} 0.25\n"
              "memtrace_fault_latency_seconds_count{segment=\"heap\"} 11\n"
              "# EOF\n");
}

TEST(PrometheusText, HistogramWithoutLabels)
{
    auto sizes = MetricFamily::histogram("memtrace_mmap_size_bytes", "Sizes of mmap calls.", {4096}, {}, "bytes");
    sizes.add({}, HistogramPoint::from_bucket_counts({2, 1}, uint64_t{12288}));
    Exposition e = one(std::move(sizes));

    EXPECT_EQ(text_of(e),
              "# HELP memtrace_mmap_size_bytes Sizes of mmap calls.\n"
              "# TYPE memtrace_mmap_size_bytes histogram\n"
              "memtrace_mmap_size_bytes_bucket{le=\"4096\"} 2\n"
              "memtrace_mmap_size_bytes_bucket{le=\"+Inf\"} 3\n"
              "memtrace_mmap_size_bytes_sum 12288\n"
              "memtrace_mmap_size_bytes_count 3\n");
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE memtrace_mmap_size_bytes histogram\n"
              "# UNIT memtrace_mmap_size_bytes bytes\n"
              "# HELP memtrace_mmap_size_bytes Sizes of mmap calls.\n"
              "memtrace_mmap_size_bytes_bucket{le=\"4096.0\"} 2\n"
              "memtrace_mmap_size_bytes_bucket{le=\"+Inf\"} 3\n"
              "memtrace_mmap_size_bytes_sum 12288\n"
              "memtrace_mmap_size_bytes_count 3\n"
              "# EOF\n");
}

TEST(PrometheusText, EscapesBackslashQuoteNewline)
{
    auto g = MetricFamily::gauge("memtrace_up", "Backslash \\ quote \" newline\nend.", {"comm"});
    g.add({"a\\b\"c\nd"}, 1);
    Exposition e = one(std::move(g));

    // 0.0.4 escapes no quote in HELP: its parser rejects \" there.
    EXPECT_EQ(text_of(e),
              "# HELP memtrace_up Backslash \\\\ quote \" newline\\nend.\n"
              "# TYPE memtrace_up gauge\n"
              "memtrace_up{comm=\"a\\\\b\\\"c\\nd\"} 1\n");
    EXPECT_EQ(openmetrics_of(e),
              "# TYPE memtrace_up gauge\n"
              "# HELP memtrace_up Backslash \\\\ quote \\\" newline\\nend.\n"
              "memtrace_up{comm=\"a\\\\b\\\"c\\nd\"} 1\n"
              "# EOF\n");
}

TEST(PrometheusText, InvalidUtf8IsReplaced)
{
    auto g = MetricFamily::gauge("memtrace_up", "", {"comm"});
    g.add({"a\xff"}, 1);                       // a byte that is never UTF-8
    g.add({"b\xC3"}, 2);                       // a sequence cut off by the end
    g.add({"c\xE2\x82x"}, 3);                  // cut off by an ASCII byte: one U+FFFD for both bytes
    g.add({"d\xC0\xAF"}, 4);                   // overlong '/': two
    g.add({"e\xED\xA0\x80"}, 5);               // a UTF-16 surrogate: three
    g.add({"f\xF4\x90\x80\x80"}, 6);           // past U+10FFFF: four
    g.add({"g\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"}, 7);  // é€😀 stay
    Exposition e = one(std::move(g));

    const std::string& r = kReplacement;
    const std::string samples = "memtrace_up{comm=\"a" + r + "\"} 1\n"
                                "memtrace_up{comm=\"b" + r + "\"} 2\n"
                                "memtrace_up{comm=\"c" + r + "x\"} 3\n"
                                "memtrace_up{comm=\"d" + r + r + "\"} 4\n"
                                "memtrace_up{comm=\"e" + r + r + r + "\"} 5\n"
                                "memtrace_up{comm=\"f" + r + r + r + r + "\"} 6\n"
                                "memtrace_up{comm=\"g\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"} 7\n";
    EXPECT_EQ(text_of(e), "# TYPE memtrace_up gauge\n" + samples);
    EXPECT_EQ(openmetrics_of(e), "# TYPE memtrace_up gauge\n" + samples + "# EOF\n");
}

TEST(PrometheusText, SeriesThatDifferOnlyInInvalidBytesCollide)
{
    auto g = MetricFamily::gauge("memtrace_up", "", {"comm"});
    g.add({"x\xff"}, 1);
    EXPECT_THROW(g.add({"x\xfe"}, 2), std::invalid_argument);
}

TEST(PrometheusText, EmptyFamilyIsItsMetadata)
{
    Exposition e = one(MetricFamily::gauge("memtrace_targets", "Traced processes.", {"comm"}));
    EXPECT_EQ(text_of(e), "# HELP memtrace_targets Traced processes.\n"
                          "# TYPE memtrace_targets gauge\n");
    EXPECT_EQ(openmetrics_of(e), "# TYPE memtrace_targets gauge\n"
                                 "# HELP memtrace_targets Traced processes.\n"
                                 "# EOF\n");
}

TEST(PrometheusText, EmptyExposition)
{
    EXPECT_EQ(text_of(Exposition()), "");
    EXPECT_EQ(openmetrics_of(Exposition()), "# EOF\n");
}

TEST(PrometheusText, OrderDoesNotDependOnInsertion)
{
    auto b = MetricFamily::gauge("b", "", {"k"});
    b.add({"2"}, 2);
    b.add({"1"}, 1);
    Exposition e;
    e.add(std::move(b));
    e.add(MetricFamily::gauge("a", ""));
    EXPECT_EQ(text_of(e), "# TYPE a gauge\n"
                          "# TYPE b gauge\n"
                          "b{k=\"1\"} 1\n"
                          "b{k=\"2\"} 2\n");
}

TEST(PrometheusText, NamesAreChecked)
{
    for (const char* name : {"", "1abc", "_x", "a:b", "a-b", "a b", "caf\xC3\xA9"})
        EXPECT_THROW(MetricFamily::gauge(name, ""), std::invalid_argument) << name;
    EXPECT_THROW(MetricFamily::counter("requests_total", ""), std::invalid_argument);
    EXPECT_THROW(MetricFamily::gauge("g", "", {"__name__"}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::gauge("g", "", {"a-b"}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::gauge("g", "", {"a", "a"}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::histogram("h", "", {1}, {"le"}), std::invalid_argument);
    EXPECT_NO_THROW(MetricFamily::gauge("g", "", {"le"}));  // only a histogram's own
    EXPECT_THROW(MetricFamily::gauge("size", "", {}, "bytes"), std::invalid_argument);
    EXPECT_THROW(MetricFamily::gauge("sizebytes", "", {}, "bytes"), std::invalid_argument);
    EXPECT_NO_THROW(MetricFamily::gauge("size_bytes", "", {}, "bytes"));
}

TEST(PrometheusText, HistogramBoundsAreChecked)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_THROW(MetricFamily::histogram("h", "", {2, 1}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::histogram("h", "", {1, 1}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::histogram("h", "", {nan}), std::invalid_argument);
    EXPECT_THROW(MetricFamily::histogram("h", "", {1, inf}), std::invalid_argument);
}

TEST(PrometheusText, SeriesAreChecked)
{
    auto c = MetricFamily::counter("c", "", {"k"});
    EXPECT_THROW(c.add({}, 1), std::invalid_argument);
    EXPECT_THROW(c.add({"a", "b"}, 1), std::invalid_argument);
    EXPECT_THROW(c.add({"a"}, -1), std::invalid_argument);
    EXPECT_THROW(c.add({"a"}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    EXPECT_THROW(c.add({"a"}, HistogramPoint{}), std::invalid_argument);
    c.add({"a"}, 1);
    EXPECT_THROW(c.add({"a"}, 2), std::invalid_argument);

    auto h = MetricFamily::histogram("h", "", {1, 2});
    EXPECT_THROW(h.add({}, 1), std::invalid_argument);
    EXPECT_THROW(h.add({}, HistogramPoint{{1}, 1, 0}), std::invalid_argument);     // one count short
    EXPECT_THROW(h.add({}, HistogramPoint{{2, 1}, 2, 0}), std::invalid_argument);  // decreasing
    EXPECT_THROW(h.add({}, HistogramPoint{{1, 3}, 2, 0}), std::invalid_argument);  // above the total
    EXPECT_THROW(h.add({}, HistogramPoint{{1, 2}, 2, -1.0}), std::invalid_argument);
    EXPECT_NO_THROW(h.add({}, HistogramPoint{{1, 2}, 2, 1.5}));
}

TEST(PrometheusText, NamesWrittenDoNotClash)
{
    Exposition e;
    e.add(MetricFamily::counter("c", ""));
    e.add(MetricFamily::histogram("h", "", {1}));
    EXPECT_THROW(e.add(MetricFamily::gauge("c", "")), std::invalid_argument);
    EXPECT_THROW(e.add(MetricFamily::gauge("c_created", "")), std::invalid_argument);
    EXPECT_THROW(e.add(MetricFamily::gauge("h_count", "")), std::invalid_argument);
    EXPECT_THROW(e.add(MetricFamily::counter("h_bucket", "")), std::invalid_argument);
    EXPECT_NO_THROW(e.add(MetricFamily::gauge("c_info", "")));
    EXPECT_EQ(e.families().size(), 3u);
}

TEST(ContentNegotiation, ContentTypes)
{
    EXPECT_EQ(content_type(ExpositionFormat::prometheus_text), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(content_type(ExpositionFormat::openmetrics),
              "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(ContentNegotiation, PicksTheFormat)
{
    const auto format_for = [](const char* accept) { return negotiate_format(accept).format; };
    const auto text = ExpositionFormat::prometheus_text;
    const auto openmetrics = ExpositionFormat::openmetrics;
    // What Prometheus 2.42 sends.
    EXPECT_EQ(format_for("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                         "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
              openmetrics);
    EXPECT_EQ(format_for(""), text);
    EXPECT_EQ(format_for("*/*"), text);
    EXPECT_EQ(format_for("text/plain"), text);
    EXPECT_EQ(format_for("text/plain;version=0.0.4"), text);
    EXPECT_EQ(format_for("application/openmetrics-text"), openmetrics);
    EXPECT_EQ(format_for("APPLICATION/OpenMetrics-Text; Version=\"1.0.0\"; charset=utf-8"), openmetrics);
    EXPECT_EQ(format_for("application/openmetrics-text; version=0.0.1"), openmetrics);
    EXPECT_EQ(format_for("application/openmetrics-text; version=2.0.0"), text);  // not ours: the default
    EXPECT_EQ(format_for("application/openmetrics-text;q=0.2, text/plain;q=0.8"), text);
    EXPECT_EQ(format_for("text/plain;q=0, application/openmetrics-text;q=0.1"), openmetrics);
    EXPECT_EQ(format_for("text/plain;q=0.5, application/openmetrics-text;q=0.5"), text);  // the first of equals
    EXPECT_EQ(format_for("application/openmetrics-text;q=1.5, text/plain;q=0.1"), text);  // bad q: ignored
    EXPECT_EQ(format_for("application/json, text/html"), text);
    EXPECT_EQ(format_for("application/openmetrics-text;q=0"), text);
    EXPECT_EQ(negotiate_format("application/openmetrics-text").content_type,
              content_type(ExpositionFormat::openmetrics));
    EXPECT_EQ(negotiate_format("").content_type, content_type(ExpositionFormat::prometheus_text));
}

// ---- promtool -------------------------------------------------------------------------------

std::string find_promtool()
{
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    for (size_t start = 0; start <= dirs.size();) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos)
            end = dirs.size();
        std::string candidate = dirs.substr(start, end - start) + "/promtool";
        if (end > start && access(candidate.c_str(), X_OK) == 0)
            return candidate;
        start = end + 1;
    }
    return "";
}

// Runs `promtool check metrics` on `exposition`; returns its exit status, `output` what it printed.
int promtool_check(const std::string& promtool, const std::string& exposition, std::string& output)
{
    char path[] = "/tmp/memtrace-exposition-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        throw std::runtime_error("mkstemp failed");
    bool written = write(fd, exposition.data(), exposition.size()) == static_cast<ssize_t>(exposition.size());
    close(fd);
    if (!written)
        throw std::runtime_error("cannot write the exposition");
    FILE* pipe = popen((promtool + " check metrics < " + path + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while (pipe && (n = fread(buf, 1, sizeof buf, pipe)) > 0)
        output.append(buf, n);
    int status = pipe ? pclose(pipe) : -1;
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Exposition realistic_exposition()
{
    auto faults = MetricFamily::counter("memtrace_page_faults", "Page faults, by process and segment.",
                                        {"pid", "comm", "segment"});
    faults.add({"4242", "bash", "heap"}, uint64_t{1234567});
    faults.add({"4242", "bash", "libc.so.6 .text"}, 17);
    faults.add({"4243", "we\\ird \"name\"\nhere", "stack"}, 3);
    faults.add({"4244", "bad\xff\xC0utf8", "anon"}, 0);
    auto rss = MetricFamily::gauge("memtrace_rss_bytes", "Resident set size.", {"pid"}, "bytes");
    rss.add({"4242"}, uint64_t{8 << 20});
    rss.add({"4243"}, 1.5e9);
    auto latency = MetricFamily::histogram("memtrace_fault_latency_seconds", "Time to handle a fault.",
                                           {1e-6, 1e-5, 1e-4, 0.001, 0.01}, {"segment"}, "seconds");
    latency.add({"heap"}, HistogramPoint::from_bucket_counts({10, 20, 5, 1, 0, 1}, 0.0625));
    latency.add({"anon"}, HistogramPoint::from_bucket_counts({0, 0, 0, 0, 0, 0}, 0.0));
    auto up = MetricFamily::gauge("memtrace_targets", "Processes being traced.");
    Exposition e;
    e.add(std::move(faults));
    e.add(std::move(rss));
    e.add(std::move(latency));
    e.add(std::move(up));
    return e;
}

// promtool is Debian's package prometheus: without it these tests skip, except in CI (CI=true),
// where they fail.
class Promtool : public ::testing::Test {
protected:
    void SetUp() override
    {
        promtool = find_promtool();
        if (!promtool.empty())
            return;
        const char* ci = std::getenv("CI");
        if (ci && std::string(ci) == "true")
            FAIL() << "promtool not found (Debian package prometheus; scripts/setup.sh installs it)";
        else
            GTEST_SKIP() << "promtool not found (Debian package prometheus)";
    }
    std::string promtool;
};

TEST_F(Promtool, ChecksOurTextFormatClean)
{
    std::string output;
    int status = promtool_check(promtool, text_of(realistic_exposition()), output);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(output, "");  // no lint complaints either
}

// The harness itself: what promtool rejects or lints is seen as a failure.
TEST_F(Promtool, ComplaintsAreSeen)
{
    std::string output;
    EXPECT_NE(promtool_check(promtool, "# TYPE requests counter\nrequests 1\n", output), 0);
    EXPECT_NE(output.find("_total"), std::string::npos) << output;
    output.clear();
    EXPECT_NE(promtool_check(promtool, "# HELP g G.\n# TYPE g gauge\ng{a=\"\xff\"} 1\n", output), 0);
}

}  // namespace
