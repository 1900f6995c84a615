// Starts the traced command stopped at a gate: the child is forked, waits until the BPF programs
// are attached, then execs, so nothing it does escapes the trace.
#pragma once

#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace memtrace {

// Who the command runs as (-u USER): resolved before the fork, applied in the child before exec.
struct Credentials {
    std::string user;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

// Looks USER (a name or a numeric uid) up in the password database; throws std::runtime_error.
Credentials credentials_of(const std::string& user);

class LaunchedCommand {
public:
    static constexpr const char* kStderr = "<stderr>";  // `output`: send the command's stdout to stderr

    // Forks; the child blocks until release(). `output` (if not empty) becomes the child's stdout and
    // stderr, and its stdin is /dev/null; kStderr sends its stdout to memtrace's stderr instead.
    // With `as`, the child takes those credentials before exec. Throws std::runtime_error when the
    // output file cannot be opened (see open_output_file) or fork fails.
    LaunchedCommand(const std::vector<std::string>& argv, const std::string& output,
                    const Credentials* as = nullptr);
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
