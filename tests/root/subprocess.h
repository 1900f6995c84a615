// Running memtrace and workloads from the root tests.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

struct RunResult {
    int exit_code = -1;  // -1: killed by a signal
    std::string out, err;
};

// In a forked child: runs argv in its place, or exits 127 when it cannot.
[[noreturn]] void exec_or_exit(const std::vector<std::string>& argv);

// Runs argv to completion with stdout and stderr captured (stdin is /dev/null).
RunResult run(const std::vector<std::string>& argv, int timeout_s = 60);

// A process running in the background with stdout/stderr going to files.
class Background {
public:
    Background(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path,
               int keep_fd = -1);
    ~Background();
    pid_t pid() const { return pid_; }
    // Waits for exit (or kills after timeout_s); returns the exit code, -1 when signalled.
    int wait(int timeout_s = 60);

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
};

std::string read_file(const std::string& path);
// Polls until `path` contains `needle` or timeout; true when it did.
bool wait_for_text(const std::string& path, const std::string& needle, int timeout_s = 20);
// Fails the current test (CI=true) or skips it when memtrace cannot trace here.
bool bpf_tests_can_run(std::string& why);
