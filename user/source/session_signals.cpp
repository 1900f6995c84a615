#include "source/session_signals.h"

#include <csignal>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/types.h>

#include "memtrace/events.h"

namespace memtrace {

SessionSignals::SessionSignals()
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

SessionSignals::~SessionSignals()
{
    if (fd_ >= 0)
        close(fd_);
}

std::optional<uint32_t> SessionSignals::read(const std::function<void()>& resized)
{
    std::optional<uint32_t> end;
    signalfd_siginfo si;
    while (::read(fd_, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGWINCH) {
            if (resized)
                resized();
        } else {
            end = si.ssi_signo == SIGINT ? MT_END_INTERRUPTED : MT_END_TERMINATED;
        }
    }
    return end;
}

}  // namespace memtrace
