#include "source/launcher.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "output/output_file.h"

namespace memtrace {

Credentials credentials_of(const std::string& user)
{
    errno = 0;
    passwd* pw = getpwnam(user.c_str());
    if (!pw && !user.empty() && user.size() <= 10 && user.find_first_not_of("0123456789") == std::string::npos) {
        unsigned long long uid = std::strtoull(user.c_str(), nullptr, 10);
        if (uid < 0xffffffffULL)  // (uid_t)-1 means "no change" to setuid: never a user
            pw = getpwuid(static_cast<uid_t>(uid));
    }
    if (!pw)
        throw std::runtime_error(fmt::format("-u {}: no such user", user));
    Credentials c;
    c.user = pw->pw_name;
    c.uid = pw->pw_uid;
    c.gid = pw->pw_gid;
    int n = 64;
    c.groups.resize(n);
    while (getgrouplist(pw->pw_name, pw->pw_gid, c.groups.data(), &n) < 0)
        c.groups.resize(n);
    c.groups.resize(n);
    return c;
}

LaunchedCommand::LaunchedCommand(const std::vector<std::string>& argv, const std::string& output,
                                 const Credentials* as)
    : program_(argv.at(0))
{
    // Opened here, not in the child: a refused path is memtrace's one-line error, not a silent
    // loss of the command's output.
    int out = -1;
    if (!output.empty() && output != kStderr)
        out = open_output_file(output);
    int gate[2], error[2];
    if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(error, O_CLOEXEC) != 0)
        throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_ = fork();
    if (pid_ < 0) {
        int err = errno;
        if (out >= 0)
            close(out);
        throw std::runtime_error(fmt::format("fork: {}", strerror(err)));
    }
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
        } else if (out >= 0) {
            int in = open("/dev/null", O_RDONLY);
            if (in >= 0)
                dup2(in, 0);
            dup2(out, 1);
            dup2(out, 2);
        }
        // Groups first, then the group, then the user: each step needs the privilege the next drops.
        if (as && (setgroups(as->groups.size(), as->groups.data()) != 0 || setgid(as->gid) != 0 ||
                   setuid(as->uid) != 0)) {
            int err = errno;
            ssize_t ignored = write(error[1], &err, sizeof(err));
            (void)ignored;
            _exit(127);
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
    if (out >= 0)
        close(out);
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
