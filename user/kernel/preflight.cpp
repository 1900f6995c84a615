#include "kernel/preflight.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <fmt/format.h>

namespace memtrace {

bool has_tracing_capabilities()
{
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0)
        return geteuid() == 0;
    auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
    return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

namespace {

// The initial pid namespace's inode number (PROC_PID_INIT_INO, fixed in the kernel's ABI).
constexpr ino_t kInitialPidNamespace = 0xEFFFFFFCU;

// memtrace's own pid in each pid namespace /proc knows, outermost first (NSpid of /proc/self/status).
std::vector<long> own_namespace_pids()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("NSpid:", 0) != 0)
            continue;
        std::istringstream fields(line.substr(6));
        std::vector<long> pids;
        for (long p; fields >> p;)
            pids.push_back(p);
        return pids;
    }
    return {};
}

}  // namespace

void preflight_or_throw()
{
    if (!has_tracing_capabilities())
        throw std::runtime_error("tracing needs root (or CAP_BPF and CAP_PERFMON): run it with sudo");
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        throw std::runtime_error(
            "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): memtrace needs a kernel built with "
            "CONFIG_DEBUG_INFO_BTF=y");
    // The BPF programs see the initial namespace's pids; /proc here would show other ones.
    struct stat ns {};
    if (::stat("/proc/self/ns/pid", &ns) == 0 && ns.st_ino != kInitialPidNamespace) {
        std::vector<long> pids = own_namespace_pids();
        throw std::runtime_error(fmt::format(
            "memtrace runs in a PID namespace{}: the kernel reports the initial namespace's pids, /proc here others; "
            "run it in the host's PID namespace",
            pids.size() > 1 ? fmt::format(" (pid {} here, {} outside)", pids.back(), pids.front()) : std::string()));
    }
}

}  // namespace memtrace
