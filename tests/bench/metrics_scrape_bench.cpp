// How long a scrape of memtrace's metrics endpoint takes on loopback: 1000 sequential scrapes of a
// 200-sample exposition, over one kept-alive connection (as Prometheus scrapes) and over a new
// connection each, next to the cost of building and rendering the exposition alone. Prints the
// figures; asserts nothing (timings depend on the machine and its load).
//
//   metrics_scrape_bench              the figures
//   metrics_scrape_bench --serve S    then serve every kind of family (and hostile label values) on
//                                     127.0.0.1:9479 for S seconds: for curl, promtool, Prometheus
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "http_test_client.h"
#include "serve/metrics_server.h"

using memtrace::Exposition;
using memtrace::ExpositionFormat;
using memtrace::MetricFamily;
using memtrace::MetricsServer;
using memtrace::MetricsServerOptions;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kScrapes = 1000;
const char* kSegments[] = {"heap", "stack", "anon", "vdso", "libc.so.6 .text", "libc.so.6 .data",
                           "bash .text", "bash .bss", "file /tmp/x", "shm"};

// 20 processes x 10 segments: 200 samples.
Exposition two_hundred_samples()
{
    auto faults = MetricFamily::counter("memtrace_page_faults", "Page faults, by process and segment.",
                                        {"pid", "comm", "segment"});
    for (int process = 0; process < 20; ++process)
        for (int segment = 0; segment < 10; ++segment)
            faults.add({std::to_string(4000 + process), "worker-" + std::to_string(process), kSegments[segment]},
                       uint64_t(process * 1000003 + segment * 7919));
    Exposition e;
    e.add(std::move(faults));
    return e;
}

// For --serve: the same, with a gauge, a histogram and label values a traced program could choose.
Exposition with_every_kind()
{
    Exposition e = two_hundred_samples();
    auto rss = MetricFamily::gauge("memtrace_rss_bytes", "Resident set size.", {"pid", "comm"}, "bytes");
    rss.add({"1", "back\\slash \"quoted\"\nnewline"}, uint64_t{8} << 20);
    rss.add({"2", "bad\xff\xC0utf8 \xE2\x82"}, 1.5e9);
    auto latency = MetricFamily::histogram("memtrace_fault_latency_seconds", "Time to handle a fault.",
                                           {1e-6, 1e-5, 1e-4, 0.001, 1}, {"segment"}, "seconds");
    latency.add({"heap"}, memtrace::HistogramPoint::from_bucket_counts({10, 20, 5, 1, 0, 1}, 0.0625));
    e.add(std::move(rss));
    e.add(std::move(latency));
    return e;
}

double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void report(const char* what, double total_ms)
{
    std::printf("%-44s %5d in %8.1f ms  (%.3f ms each)\n", what, kScrapes, total_ms, total_ms / kScrapes);
}

double time_renders()
{
    auto start = Clock::now();
    size_t bytes = 0;
    for (int i = 0; i < kScrapes; ++i)
        bytes += render(two_hundred_samples(), ExpositionFormat::prometheus_text).size();
    double elapsed = ms_since(start);
    if (bytes == 0)
        std::abort();
    return elapsed;
}

double time_kept_alive(uint16_t port)
{
    memtrace_test::HttpConnection connection(port);
    auto start = Clock::now();
    for (int i = 0; i < kScrapes; ++i) {
        connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        auto reply = connection.read_reply(std::chrono::seconds(5));
        if (!reply || reply->status != 200) {
            std::fprintf(stderr, "scrape %d failed\n", i);
            std::exit(1);
        }
    }
    return ms_since(start);
}

double time_connection_each(uint16_t port)
{
    auto start = Clock::now();
    for (int i = 0; i < kScrapes; ++i)
        if (memtrace_test::fetch(port, "GET", "/metrics").status != 200) {
            std::fprintf(stderr, "scrape %d failed\n", i);
            std::exit(1);
        }
    return ms_since(start);
}

}  // namespace

int main(int argc, char** argv)
{
    Exposition sample = two_hundred_samples();
    std::printf("exposition: %zu series, %zu bytes as text 0.0.4, %zu as OpenMetrics\n",
                sample.families().begin()->second.series().size(),
                render(sample, ExpositionFormat::prometheus_text).size(),
                render(sample, ExpositionFormat::openmetrics).size());

    MetricsServerOptions options;
    options.listen = "127.0.0.1:0";
    MetricsServer server(options, two_hundred_samples);
    report("build + render only (no HTTP)", time_renders());
    report("scrapes over one kept-alive connection", time_kept_alive(server.port()));
    report("scrapes, a new connection each", time_connection_each(server.port()));

    if (argc == 3 && std::strcmp(argv[1], "--serve") == 0) {
        options.listen = "127.0.0.1:9479";
        MetricsServer fixed(options, with_every_kind);
        std::printf("serving on http://%s/metrics for %s s\n", fixed.address().c_str(), argv[2]);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::seconds(std::atoi(argv[2])));
    }
    return 0;
}
