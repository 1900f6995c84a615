// Scrapers against a running `memtrace exporter`: N of them in parallel, each on a kept-alive
// connection (as Prometheus scrapes), each sending GET /metrics R times a second for S seconds.
// Prints how many scrapes were answered, the scrape times (p50, p99, max), the exporter's resident
// memory each second (VmRSS of --pid), and memtrace_dropped_records_total of the last scrape.
// Exits 1 when a scrape went unanswered (no 200 within 5 s); the timings are printed, never judged.
//
//   exporter_load --port P --pid MEMTRACE_PID [--scrapers 20] [--rate 10] [--seconds 60]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_test_client.h"

using memtrace_test::HttpConnection;
using memtrace_test::HttpReply;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    uint16_t port = 0;
    int pid = 0;
    int scrapers = 20;
    int rate = 10;
    int seconds = 60;
};

struct Results {
    std::mutex mutex;
    std::vector<double> scrape_ms;
    long answered = 0, unanswered = 0;
    std::string last_body;
};

long rss_kib(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            return std::atol(line.c_str() + 6);
    return -1;
}

// One scraper: a scrape every 1/rate s on its schedule (a slow scrape delays the next, as
// Prometheus's does not overlap scrapes of one target); reconnects when the server closed.
void scrape_loop(const Options& o, Clock::time_point end, Results& results)
{
    const auto period = std::chrono::microseconds(1000000 / o.rate);
    std::unique_ptr<HttpConnection> connection;
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (auto next = Clock::now(); next < end; next += period) {
        std::this_thread::sleep_until(next);
        const auto start = Clock::now();
        std::optional<HttpReply> reply;
        try {
            if (!connection || connection->closed())
                connection = std::make_unique<HttpConnection>(o.port);
            if (connection->send(request))
                reply = connection->read_reply(std::chrono::seconds(5));
        } catch (const std::exception&) {
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard<std::mutex> lock(results.mutex);
        if (reply && reply->status == 200) {
            ++results.answered;
            results.scrape_ms.push_back(ms);
            results.last_body = std::move(reply->body);
        } else {
            ++results.unanswered;
            connection.reset();
        }
    }
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string sample_value(const std::string& body, const std::string& name)
{
    size_t at = body.find("\n" + name + " ");
    if (at == std::string::npos)
        return "absent";
    size_t start = at + name.size() + 2;
    return body.substr(start, body.find('\n', start) - start);
}

bool parse(int argc, char** argv, Options& o)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--port")
            o.port = static_cast<uint16_t>(value);
        else if (flag == "--pid")
            o.pid = value;
        else if (flag == "--scrapers")
            o.scrapers = value;
        else if (flag == "--rate")
            o.rate = value;
        else if (flag == "--seconds")
            o.seconds = value;
        else
            return false;
    }
    return o.port && o.pid > 0 && o.scrapers > 0 && o.rate > 0 && o.seconds > 0 && argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: exporter_load --port P --pid MEMTRACE_PID [--scrapers N] [--rate R] [--seconds S]\n");
        return 2;
    }
    Results results;
    const auto end = Clock::now() + std::chrono::seconds(o.seconds);
    std::vector<std::thread> scrapers;
    for (int i = 0; i < o.scrapers; ++i)
        scrapers.emplace_back(scrape_loop, std::cref(o), end, std::ref(results));
    std::vector<long> rss;
    for (int s = 0; s < o.seconds; ++s) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        rss.push_back(rss_kib(o.pid));
    }
    for (std::thread& t : scrapers)
        t.join();

    std::printf("scrapers %d x %d/s for %d s: %ld answered, %ld unanswered\n", o.scrapers, o.rate, o.seconds,
                results.answered, results.unanswered);
    std::printf("scrape ms: p50 %.2f p99 %.2f max %.2f\n", percentile(results.scrape_ms, 0.50),
                percentile(results.scrape_ms, 0.99), percentile(results.scrape_ms, 1.0));
    std::printf("exporter rss KiB each second:");
    for (long r : rss)
        std::printf(" %ld", r);
    std::printf("\nrss KiB first %ld last %ld max %ld\n", rss.front(), rss.back(), *std::max_element(rss.begin(), rss.end()));
    std::printf("memtrace_dropped_records_total %s\n",
                sample_value(results.last_body, "memtrace_dropped_records_total").c_str());
    return results.unanswered == 0 && results.answered > 0 ? 0 : 1;
}
