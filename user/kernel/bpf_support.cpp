#include "kernel/bpf_support.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include <bpf/libbpf.h>
#include <fmt/format.h>

namespace memtrace {
namespace {

bool g_libbpf_verbose = false;

int print_libbpf(enum libbpf_print_level level, const char* format, va_list args)
{
    // Warnings too: the caller turns each failure into one line of its own.
    (void)level;
    if (!g_libbpf_verbose)
        return 0;
    return vfprintf(stderr, format, args);
}

}  // namespace

void route_libbpf_log(bool verbose)
{
    g_libbpf_verbose = verbose;
    libbpf_set_print(print_libbpf);
}

std::runtime_error libbpf_error(const char* what, int err)
{
    return std::runtime_error(fmt::format("{}: {}{}", what, strerror(err < 0 ? -err : err),
                                          g_libbpf_verbose ? "" : " (run with -v to see libbpf's log)"));
}

void LinkDeleter::operator()(bpf_link* link) const { bpf_link__destroy(link); }

void attach_software_event(bpf_program* program, unsigned long long config, const char* what,
                           std::vector<Link>& links)
{
    int ncpus = libbpf_num_possible_cpus();
    for (int cpu = 0; cpu < ncpus; ++cpu) {
        perf_event_attr attr{};
        attr.size = sizeof(attr);
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = config;
        attr.sample_period = 1;
        int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
        if (fd < 0) {
            if (errno == ENODEV)  // possible but offline CPU
                continue;
            throw libbpf_error(fmt::format("cannot open the {} perf event", what).c_str(), errno);
        }
        bpf_link* link = bpf_program__attach_perf_event(program, fd);
        if (!link) {
            int err = errno;
            close(fd);
            throw libbpf_error(fmt::format("cannot attach to the {} perf event", what).c_str(), err);
        }
        links.emplace_back(link);  // the link owns fd from here on
    }
}

}  // namespace memtrace
