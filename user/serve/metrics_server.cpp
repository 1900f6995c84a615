#include "serve/metrics_server.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

namespace memtrace {

namespace {

// ---- listen address -------------------------------------------------------------------------

[[noreturn]] void bad_address(std::string_view text, std::string_view why)
{
    throw std::runtime_error("bad listen address \"" + std::string(text) + "\": " + std::string(why));
}

constexpr std::string_view kExpected = "expected HOST:PORT or [IPv6]:PORT, with a numeric host or localhost";

bool parse_port(std::string_view digits, uint16_t& port)
{
    if (digits.empty() || digits.size() > 5)
        return false;
    unsigned value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    port = static_cast<uint16_t>(value);
    return value <= 65535;
}

// Splits "HOST:PORT" or "[HOST]:PORT"; `bracketed` tells which.
void split_host_port(std::string_view text, std::string_view& host, std::string_view& port, bool& bracketed)
{
    bracketed = !text.empty() && text.front() == '[';
    size_t colon;
    if (bracketed) {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            bad_address(text, kExpected);
        host = text.substr(1, close - 1);
        colon = close + 1;
    } else {
        colon = text.rfind(':');
        if (colon == std::string_view::npos)
            bad_address(text, kExpected);
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos)
            bad_address(text, "an IPv6 address goes in brackets, as in [::1]:9479");
    }
    port = text.substr(colon + 1);
}

ListenAddress ipv4_address(in_addr_t host, uint16_t port)
{
    ListenAddress a;
    auto* in = reinterpret_cast<sockaddr_in*>(&a.address);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = host;
    a.length = sizeof(sockaddr_in);
    a.loopback = (ntohl(host) >> 24) == 127;
    return a;
}

ListenAddress ipv6_address(const in6_addr& host, uint16_t port)
{
    ListenAddress a;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    in6->sin6_addr = host;
    a.length = sizeof(sockaddr_in6);
    a.loopback = IN6_IS_ADDR_LOOPBACK(&host) || (IN6_IS_ADDR_V4MAPPED(&host) && host.s6_addr[12] == 127);
    return a;
}

// "127.0.0.1:9479" or "[::1]:9479", from the socket address itself (so with a bound port).
std::string address_text(const sockaddr_storage& address)
{
    char host[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
}

// ---- listening socket -----------------------------------------------------------------------

[[noreturn]] void cannot_listen(const ListenAddress& where, int err)
{
    uint16_t port = ntohs(reinterpret_cast<const sockaddr_in*>(&where.address)->sin_port);  // same offset in v6
    if (err == EADDRINUSE)
        throw std::runtime_error(where.text + " is in use");
    std::string why = strerror(err);
    if (err == EACCES)
        why = port < 1024 ? "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
                          : "permission denied";
    else if (err == EADDRNOTAVAIL)
        why = "no interface of this machine has that address";
    throw std::runtime_error("cannot listen on " + where.text + ": " + why);
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// Bound and listening; SO_REUSEADDR so that a restart is not refused for the connections of the
// previous run lingering in TIME_WAIT (it does not let two servers share the port).
int open_listening_socket(const ListenAddress& where)
{
    int fd = socket(where.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        cannot_listen(where, errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&where.address), where.length) != 0 || listen(fd, 64) != 0) {
        int err = errno;
        close(fd);
        cannot_listen(where, err);
    }
    return fd;
}

// Whether `fd` still refers to the same open file as `original` (compared by device and inode).
bool same_file(int fd, int original)
{
    struct stat a {}, b {};
    return fstat(fd, &a) == 0 && fstat(original, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// ---- responses ------------------------------------------------------------------------------

constexpr const char* kIndexPage =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>memtrace exporter</title></head>\n"
    "<body><h1>memtrace exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

struct Header {
    const char* name;
    const char* value;
};

// Queues a response whose body is `body`, owned by the response until libmicrohttpd is done.
MHD_Result reply(MHD_Connection* connection, unsigned status, const char* content_type, std::string body,
                 std::initializer_list<Header> headers = {})
{
    auto* owned = new std::string(std::move(body));
    MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
        owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, owned);
    if (!response) {
        delete owned;
        return MHD_NO;  // out of memory: libmicrohttpd closes the connection
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    // Label values come from traced programs: no browser may take the text for HTML.
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    for (const Header& header : headers)
        MHD_add_response_header(response, header.name, header.value);
    MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

MHD_Result reply_text(MHD_Connection* connection, unsigned status, const char* text,
                      std::initializer_list<Header> headers = {})
{
    return reply(connection, status, "text/plain; charset=utf-8", text, headers);
}

const char* header_value(MHD_Connection* connection, const char* name)
{
    return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
}

// Whether the request announces a body (we take none): a non-zero Content-Length or any
// Transfer-Encoding. libmicrohttpd has parsed the headers; this only looks them up.
bool announces_body(MHD_Connection* connection)
{
    const char* length = header_value(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (length && std::string_view(length) != "0") ||
           header_value(connection, MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr;
}

bool is_get_or_head(const char* method)
{
    return std::strcmp(method, MHD_HTTP_METHOD_GET) == 0 || std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

// Marks a request whose headers have been seen (libmicrohttpd's per-request pointer).
char headers_seen;

}  // namespace

// ---- the request handler --------------------------------------------------------------------

struct MetricsRequestHandler {
    // libmicrohttpd calls this first when the headers are in, then again for the body (which ours
    // refuse), then once more at its end. A refusal is queued on the first call, which makes
    // libmicrohttpd skip the body and close the connection after the reply; a request we serve
    // is answered on the second, so that the connection can be kept alive for the next scrape.
    static MHD_Result handle(void* cls, MHD_Connection* connection, const char* url, const char* method,
                             const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                             void** request_state)
    {
        if (*request_state == nullptr) {
            *request_state = &headers_seen;
            if (!is_get_or_head(method))
                return reply_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
                                  {{"Allow", "GET, HEAD"}});
            if (announces_body(connection))
                return reply_text(connection, MHD_HTTP_CONTENT_TOO_LARGE, "A request body is not accepted\n");
            return MHD_YES;
        }
        if (*upload_data_size != 0)
            return MHD_NO;  // a body that no header announced: close the connection
        return route(*static_cast<MetricsServer*>(cls), connection, url);
    }

    static MHD_Result route(MetricsServer& server, MHD_Connection* connection, const char* url)
    {
        std::string_view path = url;
        if (path == "/metrics")
            return metrics(server, connection);
        if (path == "/")
            return reply(connection, MHD_HTTP_OK, "text/html; charset=utf-8", kIndexPage);
        return reply_text(connection, MHD_HTTP_NOT_FOUND, "Not Found\n");
    }

    static MHD_Result metrics(MetricsServer& server, MHD_Connection* connection)
    {
        const char* accept = header_value(connection, MHD_HTTP_HEADER_ACCEPT);
        NegotiatedFormat negotiated = negotiate_format(accept ? accept : "");
        std::string body;
        try {
            body = render(server.source_(), negotiated.format);
        } catch (...) {  // nothing may unwind into libmicrohttpd; nothing about the error is told
            return reply_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error\n");
        }
        // content_type() returns views of string literals: NUL-terminated.
        return reply(connection, MHD_HTTP_OK, negotiated.content_type.data(), std::move(body),
                     {{MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT}});
    }
};

// ---- parse_listen_address -------------------------------------------------------------------

ListenAddress parse_listen_address(std::string_view text)
{
    std::string_view host_text, port_text;
    bool bracketed = false;
    split_host_port(text, host_text, port_text, bracketed);
    uint16_t port = 0;
    if (!parse_port(port_text, port))
        bad_address(text, "the port must be a number from 0 to 65535");
    std::string host(host_text);
    ListenAddress address;
    in_addr v4{};
    in6_addr v6{};
    if (bracketed && inet_pton(AF_INET6, host.c_str(), &v6) == 1)
        address = ipv6_address(v6, port);
    else if (!bracketed && host.empty())
        address = ipv4_address(htonl(INADDR_ANY), port);
    else if (!bracketed && host == "localhost")
        address = ipv4_address(htonl(INADDR_LOOPBACK), port);
    else if (!bracketed && inet_pton(AF_INET, host.c_str(), &v4) == 1)
        address = ipv4_address(v4.s_addr, port);
    else
        bad_address(text, kExpected);
    address.text = address_text(address.address);
    return address;
}

// ---- MetricsServer --------------------------------------------------------------------------

MetricsServer::MetricsServer(const MetricsServerOptions& options, MetricsSource source) : source_(std::move(source))
{
    ListenAddress where = parse_listen_address(options.listen);
    if (!where.loopback && !options.allow_remote)
        throw std::runtime_error("refusing to listen on " + where.text +
                                 ": not a loopback address, so other hosts could read the metrics (process "
                                 "names included); pass " + std::string(kListenRemoteFlag) + " to allow it");
    Socket listening(open_listening_socket(where));
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    getsockname(listening.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    address_ = address_text(bound);
    port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);

    // libmicrohttpd closes the socket it is given on some failure paths and not on others: it gets
    // a duplicate, which after a failure is closed only if it is still that socket.
    int handed = dup(listening.get());
    if (handed < 0)
        cannot_listen(where, errno);
    daemon_ = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, nullptr, nullptr,
        &MetricsRequestHandler::handle, this, MHD_OPTION_LISTEN_SOCKET, handed, MHD_OPTION_CONNECTION_LIMIT,
        options.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, options.connection_timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.connection_memory_bytes, MHD_OPTION_END);
    if (!daemon_) {
        int err = errno;
        if (same_file(handed, listening.get()))
            close(handed);
        throw std::runtime_error("cannot serve on " + address_ + ": libmicrohttpd did not start (" +
                                 strerror(err ? err : EINVAL) + ")");
    }
}

MetricsServer::~MetricsServer() { MHD_stop_daemon(daemon_); }

unsigned MetricsServer::open_connections() const
{
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

}  // namespace memtrace
