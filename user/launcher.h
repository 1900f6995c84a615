// Starts the traced command stopped at a gate: the child is forked, waits until the BPF programs
// are attached, then execs, so nothing it does escapes the trace.
#pragma once

#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace memtrace {

class LaunchedCommand {
public:
    static constexpr const char* kStderr = "<stderr>";  // `output`: send the command's stdout to stderr

    // Forks; the child blocks until release(). `output` (if not empty) becomes the child's stdout and
    // stderr, and its stdin is /dev/null; kStderr sends its stdout to memtrace's stderr instead.
    // Throws std::runtime_error when fork fails.
    LaunchedCommand(const std::vector<std::string>& argv, const std::string& output);
    ~LaunchedCommand();
    LaunchedCommand(const LaunchedCommand&) = delete;
    LaunchedCommand& operator=(const LaunchedCommand&) = delete;

    pid_t pid() const { return pid_; }
    // Lets the child exec; throws std::runtime_error when the exec failed ("cannot run X: ...").
    void release();
    // Reaps the child if it has exited; true when it did.
    bool reap(bool block);
    int exit_status() const { return status_; }

private:
    pid_t pid_ = -1;
    int gate_fd_ = -1;   // write end: one byte opens the gate; closing it unreleased kills the child
    int error_fd_ = -1;  // read end: the child's errno when exec fails, EOF when exec succeeded
    bool reaped_ = false;
    int status_ = 0;
    std::string program_;
};

}  // namespace memtrace
