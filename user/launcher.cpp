#include "launcher.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace memtrace {

LaunchedCommand::LaunchedCommand(const std::vector<std::string>& argv, const std::string& output)
    : program_(argv.at(0))
{
    int gate[2], error[2];
    if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(error, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0)
        throw std::runtime_error(fmt::format("fork: {}", strerror(errno)));
    if (pid_ == 0) {
        // Child: only async-signal-safe calls from here on. Drop our copy of the gate's write end,
        // or the child would never see EOF when memtrace gives up.
        close(gate[1]);
        close(error[0]);
        char go = 0;
        ssize_t n;
        do
            n = read(gate[0], &go, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(127);  // memtrace gave up before attaching
        if (output == kStderr) {
            dup2(2, 1);
        } else if (!output.empty()) {
            int in = open("/dev/null", O_RDONLY);
            int out = open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
            if (in >= 0)
                dup2(in, 0);
            if (out >= 0) {
                dup2(out, 1);
                dup2(out, 2);
            }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execvp(args[0], args.data());
        int err = errno;
        ssize_t ignored = write(error[1], &err, sizeof(err));
        (void)ignored;
        _exit(127);
    }
    close(gate[0]);
    close(error[1]);
    gate_fd_ = gate[1];
    error_fd_ = error[0];
}

LaunchedCommand::~LaunchedCommand()
{
    if (gate_fd_ >= 0)
        close(gate_fd_);  // an unreleased child reads EOF and exits
    if (error_fd_ >= 0)
        close(error_fd_);
    if (!reaped_ && pid_ > 0)
        reap(false);
}

void LaunchedCommand::release()
{
    char go = 1;
    if (write(gate_fd_, &go, 1) != 1) {
        // EPIPE (SIGPIPE is ignored): the child died while memtrace was loading.
        int err = errno;
        reap(true);
        throw std::runtime_error(err == EPIPE ? fmt::format("{} exited before it started", program_)
                                              : fmt::format("cannot start {}: {}", program_, strerror(err)));
    }
    close(gate_fd_);
    gate_fd_ = -1;
    int err = 0;
    ssize_t n;
    do
        n = read(error_fd_, &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    close(error_fd_);
    error_fd_ = -1;
    if (n == sizeof(err)) {
        reap(true);
        throw std::runtime_error(fmt::format("cannot run {}: {}", program_, strerror(err)));
    }
}

bool LaunchedCommand::reap(bool block)
{
    if (reaped_)
        return true;
    pid_t r = waitpid(pid_, &status_, block ? 0 : WNOHANG);
    reaped_ = r == pid_;
    return reaped_;
}

}  // namespace memtrace
