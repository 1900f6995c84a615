#include "proc_source.h"

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/shm.h>

#include <fmt/format.h>

#include "core/format_util.h"
#include "core/maps_parser.h"

namespace memtrace {

std::vector<MapsEntry> ProcProcessSource::maps(int pid) { return read_proc_maps(pid); }

std::shared_ptr<const ElfImage> ProcProcessSource::elf(const std::string& path) { return elf_cache_.get(path); }

uint64_t ProcProcessSource::shm_size(int64_t shmid)
{
    shmid_ds ds{};
    if (shmctl(static_cast<int>(shmid), IPC_STAT, &ds) != 0)
        return 4096;
    return ds.shm_segsz;
}

ProcStat read_proc_stat(int pid)
{
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!in || !std::getline(in, line))
        throw std::runtime_error(fmt::format("no process with pid {}", pid));
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: cut at the last ')'.
    size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open || close + 2 > line.size())
        throw std::runtime_error(fmt::format("/proc/{}/stat: unexpected format", pid));
    ProcStat st;
    st.comm = line.substr(open + 1, close - open - 1);
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;)
        f.push_back(s);
    // After comm: state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6) minflt(7) cminflt(8) majflt(9)
    if (f.size() < 10)
        throw std::runtime_error(fmt::format("/proc/{}/stat: unexpected format", pid));
    st.state = f[0].empty() ? '?' : f[0][0];
    try {
        st.flags = std::stoull(f[6]);
        st.minflt = std::stoull(f[7]);
        st.majflt = std::stoull(f[9]);
    } catch (const std::logic_error&) {
        throw std::runtime_error(fmt::format("/proc/{}/stat: unexpected format", pid));
    }
    return st;
}

void check_traceable_pid(int pid)
{
    ProcStat st = read_proc_stat(pid);
    constexpr uint64_t kKernelThread = 0x00200000;  // PF_KTHREAD
    if (st.flags & kKernelThread)
        throw std::runtime_error(fmt::format("pid {} ({}) is a kernel thread: it has no user memory to trace", pid,
                                             terminal_safe(st.comm)));
    if (st.state == 'Z' || st.state == 'X')
        throw std::runtime_error(fmt::format("pid {} ({}) has exited (zombie)", pid, terminal_safe(st.comm)));
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Tgid:", 0) == 0) {
            int tgid = static_cast<int>(std::strtol(line.c_str() + 5, nullptr, 10));
            if (tgid != pid)
                throw std::runtime_error(
                    fmt::format("{} is a thread of process {}: give the process id (-p {})", pid, tgid, tgid));
            break;
        }
    }
}

uint64_t stack_limit_of(int pid)
{
    rlimit lim{};
    if (prlimit(pid, RLIMIT_STACK, nullptr, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
        return 8 << 20;
    return lim.rlim_cur;
}

std::vector<std::pair<uint32_t, uint64_t>> thread_stack_pointers(int pid)
{
    std::vector<std::pair<uint32_t, uint64_t>> out;
    std::string dir = fmt::format("/proc/{}/task", pid);
    DIR* d = opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        uint32_t tid = static_cast<uint32_t>(strtoul(e->d_name, nullptr, 10));
        if (!tid || tid == static_cast<uint32_t>(pid))
            continue;
        // "nr arg1 arg2 arg3 arg4 arg5 arg6 sp pc", or "running" / "-1 sp pc".
        std::ifstream in(fmt::format("{}/{}/syscall", dir, tid));
        std::vector<std::string> f;
        for (std::string s; in >> s;)
            f.push_back(s);
        if (f.size() >= 3 && f[0] != "running") {
            uint64_t sp = strtoull(f[f.size() - 2].c_str(), nullptr, 16);
            if (sp)
                out.emplace_back(tid, sp);
        }
    }
    closedir(d);
    return out;
}

}  // namespace memtrace
