// The metrics endpoint on a real loopback socket: what it answers, what it refuses, its bounds,
// and that it leaves nothing behind.
#include "serve/metrics_server.h"

#include <atomic>
#include <chrono>
#include <dirent.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http_test_client.h"

using memtrace::Exposition;
using memtrace::ExpositionFormat;
using memtrace::MetricFamily;
using memtrace::MetricsServer;
using memtrace::MetricsServerOptions;
using memtrace::parse_listen_address;
using memtrace_test::fetch;
using memtrace_test::HttpConnection;
using memtrace_test::HttpReply;
using namespace std::chrono_literals;

namespace {

const char* kPrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

Exposition small_exposition()
{
    auto faults = MetricFamily::counter("memtrace_page_faults", "Page faults, by segment.", {"segment"});
    faults.add({"heap"}, 42);
    faults.add({"stack"}, 7);
    Exposition e;
    e.add(std::move(faults));
    return e;
}

MetricsServerOptions on_loopback(unsigned timeout_seconds = 10)
{
    MetricsServerOptions options;
    options.listen = "127.0.0.1:0";
    options.connection_timeout_seconds = timeout_seconds;
    return options;
}

// The error a server with these options fails with, or "" when it starts.
std::string start_error(const MetricsServerOptions& options)
{
    try {
        MetricsServer server(options, small_exposition);
        return "";
    } catch (const std::runtime_error& e) {
        return e.what();
    }
}

size_t thread_count()
{
    size_t n = 0;
    DIR* dir = opendir("/proc/self/task");
    while (dirent* entry = dir ? readdir(dir) : nullptr)
        n += entry->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

bool ipv6_loopback_available()
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

// Waits up to `timeout` for `done`.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = 2000ms)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

class MetricsServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        server = std::make_unique<MetricsServer>(on_loopback(), [this] {
            ++scrapes;
            return small_exposition();
        });
    }
    uint16_t port() const { return server->port(); }

    std::atomic<int> scrapes{0};
    std::unique_ptr<MetricsServer> server;
};

TEST_F(MetricsServerTest, ServesPrometheusTextByDefault)
{
    HttpReply reply = fetch(port(), "GET", "/metrics");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(reply.body, render(small_exposition(), ExpositionFormat::prometheus_text));
    EXPECT_EQ(reply.header("vary"), "Accept");
    EXPECT_FALSE(reply.has("server"));
    EXPECT_EQ(scrapes, 1);
}

TEST_F(MetricsServerTest, ServesOpenMetricsWhenAsked)
{
    HttpReply reply = fetch(port(), "GET", "/metrics", std::string("Accept: ") + kPrometheusAccept + "\r\n");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    EXPECT_EQ(reply.body, render(small_exposition(), ExpositionFormat::openmetrics));
}

TEST_F(MetricsServerTest, IndexPagePointsAtMetrics)
{
    HttpReply reply = fetch(port(), "GET", "/");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(reply.body.find("<a href=\"/metrics\">"), std::string::npos) << reply.body;
    EXPECT_EQ(scrapes, 0);
}

TEST_F(MetricsServerTest, OtherPathsAre404)
{
    for (const char* path : {"/nope", "/metrics/", "/metricsx", "//metrics", "/index.html"}) {
        HttpReply reply = fetch(port(), "GET", path);
        EXPECT_EQ(reply.status, 404) << path;
        EXPECT_EQ(reply.body, "Not Found\n") << path;
    }
    EXPECT_EQ(fetch(port(), "GET", "/metrics?debug=1").status, 200);  // a query string changes nothing
    EXPECT_EQ(scrapes, 1);
}

TEST_F(MetricsServerTest, OtherMethodsAre405WithAllow)
{
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"}) {
        HttpReply reply = fetch(port(), method, "/metrics");
        EXPECT_EQ(reply.status, 405) << method;
        EXPECT_EQ(reply.header("allow"), "GET, HEAD") << method;
    }
    // With a body: the same answer, and the body is not read.
    HttpReply reply = fetch(port(), "POST", "/metrics", "Content-Length: 5\r\n\r\nhello");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(scrapes, 0);
}

TEST_F(MetricsServerTest, RequestBodiesAre413)
{
    EXPECT_EQ(fetch(port(), "GET", "/metrics", "Content-Length: 5\r\n\r\nhello").status, 413);
    EXPECT_EQ(fetch(port(), "GET", "/metrics", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n").status, 413);
    EXPECT_EQ(fetch(port(), "GET", "/metrics", "Content-Length: 0\r\n").status, 200);
    EXPECT_EQ(scrapes, 1);
}

TEST_F(MetricsServerTest, HeadHasHeadersButNoBody)
{
    size_t full = fetch(port(), "GET", "/metrics").body.size();
    for (const char* path : {"/metrics", "/"}) {
        HttpConnection connection(port());
        connection.send(std::string("HEAD ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        HttpReply reply = memtrace_test::parse_reply(connection.read_until_closed(5s));
        EXPECT_EQ(reply.status, 200) << path;
        EXPECT_EQ(reply.body, "") << path;
        EXPECT_TRUE(reply.has("content-type")) << path;
        if (std::string(path) == "/metrics") {
            EXPECT_EQ(reply.header("content-length"), std::to_string(full));
        }
    }
}

TEST_F(MetricsServerTest, KeepsTheConnectionAliveBetweenScrapes)
{
    HttpConnection connection(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        auto reply = connection.read_reply(5s);
        ASSERT_TRUE(reply) << "scrape " << i;
        EXPECT_EQ(reply->status, 200);
    }
    EXPECT_EQ(scrapes, 3);
}

TEST_F(MetricsServerTest, ServesHttp10)
{
    HttpConnection connection(port());
    connection.send("GET /metrics HTTP/1.0\r\n\r\n");
    HttpReply reply = memtrace_test::parse_reply(connection.read_until_closed(5s));
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, render(small_exposition(), ExpositionFormat::prometheus_text));
}

// The response body is sent from its own buffer: the per-connection memory limit bounds requests only.
TEST(MetricsServer, ServesAnExpositionFarLargerThanItsConnectionMemory)
{
    auto many = [] {
        auto faults = MetricFamily::counter("memtrace_page_faults", "Page faults.", {"pid"});
        for (int pid = 0; pid < 20000; ++pid)
            faults.add({std::to_string(pid)}, pid);
        Exposition e;
        e.add(std::move(faults));
        return e;
    };
    MetricsServer server(on_loopback(), many);
    HttpReply reply = fetch(server.port(), "GET", "/metrics");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, render(many(), ExpositionFormat::prometheus_text));
    EXPECT_GT(reply.body.size(), 500u * 1024);
}

TEST_F(MetricsServerTest, LongRequestLineIsRejectedQuickly)
{
    auto start = std::chrono::steady_clock::now();
    HttpConnection connection(port());
    connection.send("GET /" + std::string(64 * 1024, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    HttpReply reply = memtrace_test::parse_reply(connection.read_until_closed(5s));
    auto elapsed = std::chrono::steady_clock::now() - start;
    // 414 URI Too Long, unless the reset for our unread bytes overtook it: either way, closed.
    EXPECT_TRUE(reply.status == 414 || reply.status == 0) << reply.status;
    EXPECT_TRUE(connection.closed());
    EXPECT_LT(elapsed, 2s);
    EXPECT_EQ(scrapes, 0);
    EXPECT_EQ(fetch(port(), "GET", "/metrics").status, 200);
}

TEST_F(MetricsServerTest, HugeHeaderIsRejected)
{
    HttpConnection connection(port());
    connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: " + std::string(64 * 1024, 'j') + "\r\n\r\n");
    HttpReply reply = memtrace_test::parse_reply(connection.read_until_closed(5s));
    EXPECT_TRUE(reply.status == 431 || reply.status == 0) << reply.status;
    EXPECT_TRUE(connection.closed());
    EXPECT_EQ(scrapes, 0);
}

TEST_F(MetricsServerTest, GarbageIsRejected)
{
    HttpConnection connection(port());
    connection.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n");  // a TLS hello
    HttpReply reply = memtrace_test::parse_reply(connection.read_until_closed(5s));
    EXPECT_TRUE(connection.closed());
    EXPECT_NE(reply.status, 200);
    EXPECT_EQ(fetch(port(), "GET", "/metrics").status, 200);
}

TEST(MetricsServer, IdleConnectionsTimeOut)
{
    MetricsServer server(on_loopback(1), small_exposition);
    HttpConnection idle(server.port());
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(idle.closed_within(5s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(MetricsServerTest, ConnectionsPastTheLimitWait)
{
    // 32 connections that send nothing take every slot.
    std::vector<std::unique_ptr<HttpConnection>> idle;
    for (int i = 0; i < 32; ++i)
        idle.push_back(std::make_unique<HttpConnection>(port()));
    ASSERT_TRUE(eventually([&] { return server->open_connections() == 32; })) << server->open_connections();

    // 8 more are connected by the kernel but not served while the slots are taken.
    std::vector<std::unique_ptr<HttpConnection>> waiting;
    for (int i = 0; i < 8; ++i) {
        waiting.push_back(std::make_unique<HttpConnection>(port()));
        waiting.back()->send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    }
    EXPECT_FALSE(waiting[0]->read_reply(300ms));
    EXPECT_EQ(server->open_connections(), 32u);
    EXPECT_EQ(scrapes, 0);

    // Slots freed: every waiting one is served.
    idle.clear();
    for (auto& connection : waiting) {
        auto reply = connection->read_reply(3s);
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 200);
    }
    EXPECT_EQ(scrapes, 8);
}

TEST_F(MetricsServerTest, FortyParallelScrapes)
{
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 40; ++i)
        clients.emplace_back([&] {
            if (fetch(port(), "GET", "/metrics").status == 200)
                ++ok;
        });
    for (auto& client : clients)
        client.join();
    EXPECT_EQ(ok, 40);
    EXPECT_EQ(scrapes, 40);
    EXPECT_EQ(fetch(port(), "GET", "/metrics").status, 200);
}

TEST_F(MetricsServerTest, SourceThatThrowsGives500WithoutDetail)
{
    server.reset();
    server = std::make_unique<MetricsServer>(on_loopback(), []() -> Exposition {
        throw std::runtime_error("secret detail /etc/passwd");
    });
    HttpReply reply = fetch(port(), "GET", "/metrics");
    EXPECT_EQ(reply.status, 500);
    EXPECT_EQ(reply.body, "Internal Server Error\n");
    EXPECT_EQ(fetch(port(), "GET", "/").status, 200);
}

TEST(MetricsServer, StopsCleanlyInItsDestructor)
{
    size_t threads_before = thread_count();
    uint16_t port;
    {
        MetricsServer server(on_loopback(), small_exposition);
        port = server.port();
        EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(port));
        EXPECT_GT(thread_count(), threads_before);
        EXPECT_EQ(fetch(port, "GET", "/metrics").status, 200);
        HttpConnection left_open(port);  // a connection still open does not hold the stop up
        left_open.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_TRUE(left_open.read_reply(5s));
    }
    EXPECT_EQ(thread_count(), threads_before);
    EXPECT_THROW(HttpConnection{port}, std::runtime_error);  // nobody listens there now
    MetricsServerOptions again = on_loopback();
    again.listen = "127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(start_error(again), "");  // the port is free again
}

TEST(MetricsServer, PortInUse)
{
    MetricsServer first(on_loopback(), small_exposition);
    MetricsServerOptions second = on_loopback();
    second.listen = "127.0.0.1:" + std::to_string(first.port());
    EXPECT_EQ(start_error(second), "127.0.0.1:" + std::to_string(first.port()) + " is in use");
}

TEST(MetricsServer, RefusesNonLoopbackWithoutAllowRemote)
{
    for (const char* address : {"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9479"}) {
        MetricsServerOptions options;
        options.listen = address;
        std::string error = start_error(options);
        EXPECT_NE(error.find("refusing to listen on"), std::string::npos) << address << ": " << error;
        EXPECT_NE(error.find("--listen-remote"), std::string::npos) << error;
    }
    MetricsServerOptions remote;
    remote.listen = "0.0.0.0:0";
    remote.allow_remote = true;
    MetricsServer server(remote, small_exposition);
    EXPECT_EQ(fetch(server.port(), "GET", "/metrics").status, 200);

    remote.listen = "192.0.2.1:9479";  // TEST-NET-1: allowed, but not an address of this machine
    EXPECT_EQ(start_error(remote), "cannot listen on 192.0.2.1:9479: no interface of this machine has that address");
}

TEST(MetricsServer, LoopbackSpellings)
{
    MetricsServerOptions options;
    options.listen = "localhost:0";
    MetricsServer v4(options, small_exposition);
    EXPECT_EQ(v4.address(), "127.0.0.1:" + std::to_string(v4.port()));
    options.listen = "127.1.2.3:0";
    EXPECT_EQ(start_error(options), "");
    if (!ipv6_loopback_available())
        GTEST_SKIP() << "no IPv6 loopback here";
    options.listen = "[::1]:0";
    MetricsServer v6(options, small_exposition);
    EXPECT_EQ(v6.address(), "[::1]:" + std::to_string(v6.port()));
}

TEST(MetricsServer, ParsesListenAddresses)
{
    EXPECT_EQ(parse_listen_address("127.0.0.1:9479").text, "127.0.0.1:9479");
    EXPECT_TRUE(parse_listen_address("127.0.0.1:9479").loopback);
    EXPECT_TRUE(parse_listen_address("[::1]:9479").loopback);
    EXPECT_TRUE(parse_listen_address("[::ffff:127.0.0.1]:9479").loopback);
    EXPECT_FALSE(parse_listen_address("[::ffff:10.0.0.1]:9479").loopback);
    EXPECT_FALSE(parse_listen_address("10.0.0.1:80").loopback);
    EXPECT_EQ(parse_listen_address(":9479").text, "0.0.0.0:9479");
    EXPECT_EQ(parse_listen_address("[::]:65535").text, "[::]:65535");
    for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:12a", "127.0.0.1:-1",
                            "::1:9479", "[::1]9479", "[::1", "[127.0.0.1]:80", "example.com:80", "999.1.1.1:80",
                            "1.2.3:80", "[fe80::1%eth0]:80", "127.0.0.1:9479 "}) {
        try {
            parse_listen_address(bad);
            ADD_FAILURE() << "accepted \"" << bad << "\"";
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()).rfind("bad listen address \"" + std::string(bad) + "\": ", 0), 0u)
                << e.what();
        }
    }
}

TEST(MetricsServer, PrivilegedPortWithoutPrivilege)
{
    // A child without root's capabilities tries port 1; it reports what it got through a pipe.
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(out[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        MetricsServerOptions options;
        options.listen = "127.0.0.1:1";
        std::string error = start_error(options);
        ssize_t written = write(out[1], error.data(), error.size());
        _exit(written == static_cast<ssize_t>(error.size()) ? 0 : 3);
    }
    close(out[1]);
    std::string error;
    char buf[512];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
        error.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    if (error.empty())
        GTEST_SKIP() << "unprivileged processes may bind port 1 here (net.ipv4.ip_unprivileged_port_start)";
    EXPECT_EQ(error, "cannot listen on 127.0.0.1:1: permission denied (a port below 1024 needs root or "
                     "CAP_NET_BIND_SERVICE)");
}

}  // namespace
