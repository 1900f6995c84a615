#include "kernel/preflight.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
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

void preflight_or_throw()
{
    if (!has_tracing_capabilities())
        throw std::runtime_error("tracing needs root (or CAP_BPF and CAP_PERFMON): run it with sudo");
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        throw std::runtime_error(
            "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): memtrace needs a kernel built with "
            "CONFIG_DEBUG_INFO_BTF=y");
}

}  // namespace memtrace
