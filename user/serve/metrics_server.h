// The HTTP endpoint Prometheus scrapes: GET /metrics, on libmicrohttpd.
//
// One internal polling thread (MHD_USE_INTERNAL_POLLING_THREAD with epoll) serves every connection.
// Chosen over a select loop that the caller drives because memtrace's own loop blocks in the ring
// buffer's poll with its own timing, and a slow or hostile HTTP client must not delay the draining
// of kernel events (nor the other way round); and over a thread per connection because one thread
// keeps the cost bounded whatever the clients do. Scrapes are therefore served one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "output/prometheus_text.h"

struct MHD_Daemon;

namespace memtrace {

// The command-line flag that allows a non-loopback listen address: named in the refusal.
inline constexpr std::string_view kListenRemoteFlag = "--listen-remote";

// A listen address, parsed from HOST:PORT or [IPv6]:PORT. HOST is a numeric IPv4 address, a
// bracketed numeric IPv6 address, "localhost" (127.0.0.1) or empty (0.0.0.0, every interface);
// no name is looked up. PORT is 0 to 65535, 0 for one the kernel picks.
struct ListenAddress {
    sockaddr_storage address{};
    socklen_t length = 0;
    bool loopback = false;  // 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104
    std::string text;       // "127.0.0.1:9479", "[::1]:9479"
};

// Throws std::runtime_error: bad listen address "TEXT": expected HOST:PORT or [IPv6]:PORT ...
ListenAddress parse_listen_address(std::string_view text);

struct MetricsServerOptions {
    std::string listen;         // HOST:PORT or [IPv6]:PORT, as parse_listen_address reads it
    bool allow_remote = false;  // serve a non-loopback address (kListenRemoteFlag)
    // Bounds, so that a malformed, slow or huge request costs bounded work and memory. Connections
    // past the limit wait in the kernel's listen backlog until one ends (they are not refused).
    unsigned max_connections = 32;
    unsigned connection_timeout_seconds = 10;  // idle time after which a connection is closed
    // libmicrohttpd's memory per connection: the request line and headers must fit in it (a longer
    // one gets 414 or 431); the response body is sent from its own buffer.
    size_t connection_memory_bytes = 16 * 1024;
};

// Called once per GET or HEAD of /metrics, on the server's thread, never concurrently with itself
// (there is one serving thread), and never after the server's destructor has returned. It runs
// concurrently with every other thread of the program, so what it reads must be synchronised by
// the caller. While it runs no other request is served: it should copy a snapshot and return. If
// it throws, the scrape gets a 500 with no detail.
using MetricsSource = std::function<Exposition()>;

// Serves, on the address in the options:
//   GET /metrics   the source's exposition, in the format the Accept header asks for (Prometheus
//                  text 0.0.4 or OpenMetrics 1.0.0, see negotiate_format), with its Content-Type
//   GET /          a small HTML page that links to /metrics
//   HEAD of both   the same headers, no body
//   other paths    404; other methods 405 with "Allow: GET, HEAD"; a request with a body 413
// Responses carry no Server header and nothing about the host, the program or its environment.
class MetricsServer {
public:
    // Listens and starts serving. Throws std::runtime_error with one line: "bad listen address
    // ...", "refusing to listen on ADDR: ... --listen-remote ...", "ADDR is in use", "cannot listen
    // on ADDR: permission denied ...", "cannot listen on ADDR: ...".
    MetricsServer(const MetricsServerOptions& options, MetricsSource source);
    // Stops: closes the listening socket and every connection, waits for the serving thread
    // (and so for a scrape in progress) to end.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    uint16_t port() const { return port_; }                 // the bound port (the kernel's, for port 0)
    const std::string& address() const { return address_; }  // "127.0.0.1:43121": with the bound port
    // How many connections libmicrohttpd holds open now (read without its lock: a snapshot).
    unsigned open_connections() const;

private:
    MetricsSource source_;
    uint16_t port_ = 0;
    std::string address_;
    MHD_Daemon* daemon_ = nullptr;

    friend struct MetricsRequestHandler;
};

}  // namespace memtrace
