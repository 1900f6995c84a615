// memtrace exporter with the components a fleet runs: Debian's Prometheus server scrapes it and its
// HTTP API is queried for the segment workload's known faults; promtool checks a scrape; 20
// scrapers at 10 scrapes/s each against a traced fault storm; nothing served beyond the metrics.
#include <arpa/inet.h>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "known_kinds.h"
#include "root_test.h"

namespace {

const char* kMemtrace = MEMTRACE_BIN;
using Clock = std::chrono::steady_clock;

// A port free on loopback now (the kernel's pick, released): for Prometheus, which cannot say
// which port it took.
uint16_t free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
    close(fd);
    return ntohs(a.sin_port);
}

std::string url_encode(const std::string& s)
{
    std::string out;
    for (unsigned char c : s)
        out += std::isalnum(c) || c == '-' || c == '_' || c == '.' ? std::string(1, static_cast<char>(c))
                                                                    : fmt::format("%{:02X}", c);
    return out;
}

// memtrace exporter on a port the kernel picks, counting from the moment it says it serves.
class Exporter {
public:
    Exporter(const std::string& dir, std::vector<std::string> extra = {})
    {
        std::vector<std::string> argv = {kMemtrace, "exporter", "--listen", "127.0.0.1:0", "-i", "0.2"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        err_ = dir + "/exporter.err";
        process_ = std::make_unique<Background>(argv, dir + "/exporter.out", err_);
        if (!wait_for_text(err_, "Ctrl-C to end"))
            return;
        const std::string said = read_file(err_);
        const std::string host = "http://127.0.0.1:";
        port_ = static_cast<uint16_t>(std::stoi(said.substr(said.find(host) + host.size())));
    }
    uint16_t port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    std::string log() const { return read_file(err_); }
    memtrace_test::HttpReply scrape(const std::string& headers = "") const
    {
        return memtrace_test::fetch(port_, "GET", "/metrics", headers);
    }

private:
    std::string err_;
    uint16_t port_ = 0;
    std::unique_ptr<Background> process_;
};

// Debian's Prometheus server, scraping one target every second, its data in `dir`.
class PrometheusServer {
public:
    PrometheusServer(const std::string& dir, uint16_t target_port) : port_(free_port())
    {
        const std::string config = dir + "/prometheus.yml";
        std::ofstream(config) << fmt::format(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: memtrace\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            target_port);
        process_ = std::make_unique<Background>(
            std::vector<std::string>{"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir + "/tsdb",
                                     fmt::format("--web.listen-address=127.0.0.1:{}", port_)},
            dir + "/prometheus.out", dir + "/prometheus.err");
        log_ = dir + "/prometheus.err";
    }
    bool ready(int timeout_s = 30) const
    {
        auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
        while (Clock::now() < deadline) {
            try {
                if (memtrace_test::fetch(port_, "GET", "/-/ready").status == 200)
                    return true;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return false;
    }
    // An instant query through the HTTP API: each result's labels and value.
    std::vector<std::pair<nlohmann::json, double>> query(const std::string& promql) const
    {
        memtrace_test::HttpReply reply = memtrace_test::fetch(port_, "GET", "/api/v1/query?query=" + url_encode(promql));
        std::vector<std::pair<nlohmann::json, double>> results;
        if (reply.status != 200) {
            ADD_FAILURE() << promql << ": HTTP " << reply.status << " " << reply.body;
            return results;
        }
        const nlohmann::json answer = nlohmann::json::parse(reply.body);  // kept: the loop reads into it
        for (const auto& r : answer["data"]["result"])
            results.emplace_back(r["metric"], std::stod(r["value"][1].get<std::string>()));
        return results;
    }
    // The one value `promql` gives, NaN when it gives none.
    double value(const std::string& promql) const
    {
        auto results = query(promql);
        return results.size() == 1 ? results[0].second : std::nan("");
    }
    // Polls until `promql` gives a value of at least `at_least`.
    bool wait_for(const std::string& promql, double at_least, int timeout_s = 30) const
    {
        auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
        while (Clock::now() < deadline) {
            double v = value(promql);
            if (!std::isnan(v) && v >= at_least)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return false;
    }
    std::string log() const { return read_file(log_); }

private:
    uint16_t port_;
    std::string log_;
    std::unique_ptr<Background> process_;
};

std::map<std::string, uint64_t> faults_by_kind(const PrometheusServer& prometheus, const std::string& selector)
{
    std::map<std::string, uint64_t> kinds;
    for (const auto& [labels, v] : prometheus.query("sum by (kind) (memtrace_page_faults_total" + selector + ")"))
        kinds[labels["kind"]] = static_cast<uint64_t>(v);
    return kinds;
}

}  // namespace

// The workload waits while Prometheus scrapes it twice, runs, exits, and is scraped twice more:
// the increase of memtrace_page_faults_total{comm, kind} between is what the workload did.
TEST_F(RootTest, PrometheusScrapesTheKnownFaultsOfAWorkload)
{
    Exporter exporter(dir_);
    ASSERT_NE(exporter.port(), 0) << exporter.log();
    PrometheusServer prometheus(dir_, exporter.port());
    ASSERT_TRUE(prometheus.ready()) << prometheus.log();

    WaitingWorkload workload(path("w.json"), path("w.out"), path("w.err"));
    const std::string selector = "{job=\"memtrace\",comm=\"segment_workloa\"}";
    const std::string scrapes_of_it = "count_over_time(memtrace_processes" + selector + "[1m])";
    ASSERT_TRUE(prometheus.wait_for(scrapes_of_it, 2)) << "Prometheus did not scrape the waiting workload twice\n"
                                                       << prometheus.log();
    const std::map<std::string, uint64_t> before = faults_by_kind(prometheus, selector);
    const double scrapes_before = prometheus.value(scrapes_of_it);

    workload.release();
    ASSERT_EQ(workload.wait(), 0) << read_file(path("w.err"));
    // Two scrapes after the exporter's next refresh (0.2 s): the workload's exit is in both.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(prometheus.wait_for(scrapes_of_it, scrapes_before + 3)) << prometheus.log();
    EXPECT_EQ(prometheus.value("memtrace_processes" + selector), 0) << "the exited workload is still counted live";

    std::map<std::string, uint64_t> increase = faults_by_kind(prometheus, selector);
    for (auto& [kind, faults] : increase)
        faults -= before.count(kind) ? before.at(kind) : 0;
    expect_kinds_match(increase, read_workload_report(path("w.json")));
    // The file phase's pages come from disk: major faults, counted as such.
    EXPECT_GE(prometheus.value("sum(memtrace_page_faults_total{job=\"memtrace\",comm=\"segment_workloa\","
                               "kind=\"file\",severity=\"major\"})"),
              32);
    EXPECT_EQ(prometheus.value("memtrace_dropped_records_total{job=\"memtrace\"}"), 0);
    EXPECT_EQ(prometheus.value("up{job=\"memtrace\"}"), 1);
}

TEST_F(RootTest, PromtoolChecksAScrapeAndOpenMetricsIsServedWhenAsked)
{
    Exporter exporter(dir_, {"--latency"});
    ASSERT_NE(exporter.port(), 0) << exporter.log();
    RunResult busy = run({"/bin/sh", "-c", "ls -R /usr/lib >/dev/null"});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    memtrace_test::HttpReply text = exporter.scrape();
    ASSERT_EQ(text.status, 200);
    EXPECT_NE(text.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
    for (const char* family : {"memtrace_page_faults_total{", "memtrace_fault_latency_seconds_bucket{",
                               "memtrace_mmap_bytes_total{", "memtrace_resident_bytes{", "memtrace_processes{"})
        EXPECT_NE(text.body.find(family), std::string::npos) << family << " not in the scrape";
    std::ofstream(path("scrape.txt")) << text.body;
    RunResult promtool = run({"/bin/sh", "-c", "promtool check metrics < " + path("scrape.txt")});
    EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

    // Every series the shipped alert rules query is one the exporter serves (Prometheus's own `up`
    // aside): a rule on a name nothing exports would never fire.
    std::ifstream rules(MEMTRACE_ALERT_RULES);
    ASSERT_TRUE(rules) << MEMTRACE_ALERT_RULES;
    const std::regex queried("([a-z_:]+)\\{");
    int names = 0;
    for (std::string line; std::getline(rules, line);) {
        if (line.find("{{") != std::string::npos)
            continue;  // an annotation's template, not a query
        for (std::sregex_iterator m(line.begin(), line.end(), queried), end; m != end; ++m) {
            const std::string name = (*m)[1];
            if (name == "up")
                continue;  // Prometheus's own
            ++names;
            const bool served = text.body.find("\n" + name + "{") != std::string::npos ||
                                text.body.find("\n" + name + " ") != std::string::npos;
            EXPECT_TRUE(served) << "the alert rules query " << name << ", which the exporter does not serve";
        }
    }
    EXPECT_GE(names, 5) << "no series found in the alert rules";

    memtrace_test::HttpReply open = exporter.scrape("Accept: application/openmetrics-text; version=1.0.0\r\n");
    ASSERT_EQ(open.status, 200);
    EXPECT_NE(open.header("content-type").find("application/openmetrics-text"), std::string::npos);
    ASSERT_GE(open.body.size(), 6u);
    EXPECT_EQ(open.body.substr(open.body.size() - 6), "# EOF\n");
}

// A process's name is a label (documented); its paths, arguments and environment never are.
TEST_F(RootTest, ExporterServesNoPathsArgumentsOrEnvironment)
{
    Exporter exporter(dir_);
    ASSERT_NE(exporter.port(), 0) << exporter.log();
    const std::string file = path("secret-path-file");
    RunResult r = run({"/usr/bin/env", "MEMTRACE_SECRET=secret-env-value", "/usr/bin/python3", "-c",
                       "import mmap,sys\nf=open(sys.argv[1],'w+b'); f.truncate(65536)\n"
                       "m=mmap.mmap(f.fileno(),65536)\nfor i in range(16): m[i*4096]=1\n",
                       file, "secret-argument"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::string body = exporter.scrape().body;
    EXPECT_NE(body.find("comm=\"python3\""), std::string::npos) << "the process is not in the scrape";
    for (const std::string& secret : {std::string("secret-path"), std::string("secret-env-value"),
                                      std::string("secret-argument"), dir_})
        EXPECT_EQ(body.find(secret), std::string::npos) << secret << " leaked into /metrics";
}

// 20 scrapers at 10 scrapes/s against a traced fault storm: every scrape answered, memtrace's RSS
// flat, no fault left uncounted. Scrape times are printed (exporter_load), never judged here.
TEST_F(RootTest, TwentyScrapersAtTenPerSecondDuringAFaultStorm)
{
    Exporter exporter(dir_);
    ASSERT_NE(exporter.port(), 0) << exporter.log();
    Background storm({FAULT_STORM_BIN, "--rounds", "100000", "--mib", "16"}, path("storm.out"), path("storm.err"));
    RunResult load = run({EXPORTER_LOAD_BIN, "--port", std::to_string(exporter.port()), "--pid",
                          std::to_string(exporter.pid()), "--scrapers", "20", "--rate", "10", "--seconds", "10"},
                         60);
    std::cout << load.out;
    ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
    EXPECT_NE(load.out.find("2000 answered, 0 unanswered"), std::string::npos) << load.out;
    long first = 0, last = 0, max = 0;
    const size_t at = load.out.find("rss KiB first");
    ASSERT_NE(at, std::string::npos);
    ASSERT_EQ(std::sscanf(load.out.c_str() + at, "rss KiB first %ld last %ld max %ld", &first, &last, &max), 3);
    EXPECT_LE(last - first, 2048) << "memtrace's RSS grew under load";
    EXPECT_NE(load.out.find("memtrace_dropped_records_total 0\n"), std::string::npos) << load.out;
    const std::string body = exporter.scrape().body;
    EXPECT_NE(body.find("comm=\"fault_storm\",kind=\"anon\",mode=\"user\""), std::string::npos)
        << "the storm's faults are not in the scrape";
}
