// The signals a tracing session ends or redraws on (SIGINT, SIGTERM, SIGWINCH), taken through a
// descriptor so that they arrive between records, never inside a libbpf callback.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace memtrace {

class SessionSignals {
public:
    SessionSignals();  // blocks them and opens the descriptor
    ~SessionSignals();
    SessionSignals(const SessionSignals&) = delete;
    SessionSignals& operator=(const SessionSignals&) = delete;

    int fd() const { return fd_; }
    // Reads what came: the enum mt_end_reason to stop with (SIGINT: interrupted, SIGTERM:
    // terminated), or nothing; SIGWINCH calls `resized`.
    std::optional<uint32_t> read(const std::function<void()>& resized);

private:
    int fd_ = -1;
};

}  // namespace memtrace
