// A plain-socket HTTP/1.1 client for the metrics server's tests and its benchmark. It sends the
// bytes it is given, so a test can also send what no real client would (a 64 KiB request line, a
// body nobody asked for), and reads replies with a deadline, so a server that hangs fails a test
// instead of blocking it.
#pragma once

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace memtrace_test {

struct HttpReply {
    int status = 0;                              // 0: no status line came
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;

    bool has(const std::string& name) const { return headers.count(name) != 0; }
    std::string header(const std::string& name) const
    {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

inline std::string lowercase(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// The status line and headers of `head` (everything before the blank line).
inline HttpReply parse_reply_head(std::string_view head)
{
    HttpReply reply;
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    size_t space = status_line.find(' ');
    if (status_line.substr(0, 5) == "HTTP/" && space != std::string_view::npos)
        reply.status = std::atoi(std::string(status_line.substr(space + 1, 3)).c_str());
    while (line_end != std::string_view::npos) {
        size_t start = line_end + 2;
        line_end = head.find("\r\n", start);
        std::string_view line = head.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
        reply.headers[lowercase(std::string(line.substr(0, colon)))] = std::string(value);
    }
    return reply;
}

// A whole reply read up to the server's close: head, then the rest as the body.
inline HttpReply parse_reply(const std::string& raw)
{
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos)
        return parse_reply_head(raw);
    HttpReply reply = parse_reply_head(std::string_view(raw).substr(0, end));
    reply.body = raw.substr(end + 4);
    return reply;
}

class HttpConnection {
public:
    using Clock = std::chrono::steady_clock;

    // Connects to 127.0.0.1:port (blocking: the kernel completes it even while the server's
    // accept queue waits).
    explicit HttpConnection(uint16_t port)
    {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            throw std::runtime_error("socket failed");
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
            close(fd_);
            throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
        }
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~HttpConnection() { close(fd_); }
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // False when the server has closed or reset the connection.
    bool send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // Everything the server sends until it closes, or until `timeout`; closed() tells which.
    std::string read_until_closed(std::chrono::milliseconds timeout)
    {
        auto deadline = Clock::now() + timeout;
        while (fill(deadline)) {
        }
        std::string all = std::move(buffer_);
        buffer_.clear();
        return all;
    }

    // One reply: its head, then Content-Length bytes of body (none for a HEAD request). Nothing
    // when the head or the body does not arrive by `timeout`.
    std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout, bool head_request = false)
    {
        auto deadline = Clock::now() + timeout;
        size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline))
                return std::nullopt;
        HttpReply reply = parse_reply_head(std::string_view(buffer_).substr(0, end));
        size_t length = head_request ? 0 : std::stoul(reply.has("content-length") ? reply.header("content-length") : "0");
        while (buffer_.size() < end + 4 + length)
            if (!fill(deadline))
                return std::nullopt;
        reply.body = buffer_.substr(end + 4, length);
        buffer_.erase(0, end + 4 + length);
        return reply;
    }

    // Whether the server closes the connection within `timeout` (without sending anything more).
    bool closed_within(std::chrono::milliseconds timeout)
    {
        read_until_closed(timeout);
        return closed_;
    }
    bool closed() const { return closed_; }

private:
    // Reads what has arrived into buffer_; false on close, reset or the deadline.
    bool fill(Clock::time_point deadline)
    {
        if (closed_)
            return false;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{fd_, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0)
            return false;
        char chunk[16384];
        ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            closed_ = true;  // EOF, or ECONNRESET when the server closed with our bytes unread
            return false;
        }
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
    bool closed_ = false;
};

// One request on a connection of its own, the reply read to the server's close.
inline HttpReply fetch(uint16_t port, const std::string& method, const std::string& path,
                       const std::string& extra_headers = "")
{
    HttpConnection connection(port);
    connection.send(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
                    "\r\n");
    return parse_reply(connection.read_until_closed(std::chrono::seconds(5)));
}

}  // namespace memtrace_test
