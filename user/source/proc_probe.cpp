#include "source/proc_probe.h"

#include <cerrno>
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/shm.h>

#include <fmt/format.h>

#include "output/format_util.h"
#include "model/maps_parser.h"

namespace memtrace {

std::vector<MapsEntry> ProcProbe::maps(uint32_t pid) { return read_proc_maps(static_cast<int>(pid)); }

namespace {

// A regular file that is the one the process mapped (same inode; same device too, unless the
// path is the kernel's own link to the mapping). -1 otherwise.
int open_mapped(const std::string& path, const MappedFile& file, bool exact_link)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st {};
    bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == file.ino &&
                (exact_link || kernel_dev(major(st.st_dev), minor(st.st_dev)) == file.dev);
    if (!same) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

ObjectInfo ProcProbe::object(const MappedFile& file)
{
    // In the order of trust: the kernel's link to a live mapping of that file (right in any mount
    // namespace), the path as seen from the process's root (a container's), the path as is.
    std::vector<std::pair<std::string, bool>> candidates;
    try {
        for (const MapsEntry& e : read_proc_maps(static_cast<int>(file.pid)))
            if (e.inode == file.ino && kernel_dev(e.dev_major, e.dev_minor) == file.dev) {
                candidates.emplace_back(fmt::format("/proc/{}/map_files/{:x}-{:x}", file.pid, e.start, e.end), true);
                break;
            }
    } catch (const std::runtime_error&) {
    }
    if (!file.path.empty() && file.path[0] == '/') {
        candidates.emplace_back(fmt::format("/proc/{}/root{}", file.pid, file.path), false);
        candidates.emplace_back(file.path, false);
    }
    ObjectInfo info;
    info.dev = file.dev;
    info.ino = file.ino;
    info.path = file.path;
    for (const auto& [path, exact] : candidates) {
        int fd = open_mapped(path, file, exact);
        if (fd < 0)
            continue;
        struct stat st {};
        fstat(fd, &st);
        info.size = static_cast<uint64_t>(st.st_size);
        info.mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ULL + st.st_mtim.tv_nsec;
        info.elf = ElfImage::load_fd(fd, file.path);
        ::close(fd);
        return info;
    }
    info.readable = false;
    return info;
}

uint64_t ProcProbe::shm_size(int64_t shmid)
{
    shmid_ds ds{};
    if (shmctl(static_cast<int>(shmid), IPC_STAT, &ds) != 0)
        return 4096;
    return ds.shm_segsz;
}

std::optional<ProcessFacts> ProcProbe::facts(uint32_t pid)
{
    try {
        ProcStat st = read_proc_stat(static_cast<int>(pid));
        return ProcessFacts{st.comm, st.minflt + st.majflt};
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

std::vector<std::pair<uint32_t, uint64_t>> ProcProbe::thread_stack_pointers(uint32_t pid)
{
    return memtrace::thread_stack_pointers(static_cast<int>(pid));
}

std::optional<ResidentPages> ProcProbe::resident(uint32_t pid) { return read_resident_pages(static_cast<int>(pid)); }

uint64_t ProcProbe::stack_limit(uint32_t pid) { return stack_limit_of(static_cast<int>(pid)); }

ProcProbe::~ProcProbe()
{
    for (auto& [pid, source] : perf_maps_)
        for (int fd : {source.root_fd, source.map_fd})
            if (fd >= 0)
                ::close(fd);
}

std::string ProcProbe::perf_map_appended(uint32_t pid, size_t max_bytes)
{
    auto it = perf_maps_.find(pid);
    if (it == perf_maps_.end()) {
        if (perf_maps_.size() >= kMaxPerfMaps)
            return {};
        PerfMapSource source;
        struct stat owner {};
        if (::stat(fmt::format("/proc/{}", pid).c_str(), &owner) != 0)
            return {};  // gone before its first sample: nothing learnt, nothing to read
        source.root_fd = ::open(fmt::format("/proc/{}/root", pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        source.namespace_pid = namespace_pid(static_cast<int>(pid));
        source.owner = owner.st_uid;
        it = perf_maps_.emplace(pid, source).first;
    }
    PerfMapSource& source = it->second;
    if (source.map_fd < 0 && source.root_fd >= 0)
        source.map_fd = open_perf_map(source.root_fd, source.namespace_pid, source.owner);
    if (source.map_fd < 0)
        return {};
    std::string out(max_bytes, '\0');
    size_t got = 0;
    while (got < max_bytes) {
        ssize_t n = ::read(source.map_fd, out.data() + got, max_bytes - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
}

void ProcProbe::perf_map_done(uint32_t pid)
{
    auto it = perf_maps_.find(pid);
    if (it == perf_maps_.end())
        return;
    for (int fd : {it->second.root_fd, it->second.map_fd})
        if (fd >= 0)
            ::close(fd);
    perf_maps_.erase(it);
}

uint32_t namespace_pid(int pid)
{
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("NSpid:", 0) != 0)
            continue;
        std::istringstream fields(line.substr(6));
        uint32_t last = static_cast<uint32_t>(pid);
        for (uint32_t v; fields >> v;)
            last = v;
        return last;
    }
    return static_cast<uint32_t>(pid);
}

int open_perf_map(int root_fd, uint32_t nspid, uint32_t owner)
{
    // RESOLVE_IN_ROOT: a container's /tmp, and its symlinks, as the container sees them.
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string path = fmt::format("tmp/perf-{}.map", nspid);
    int fd = static_cast<int>(syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how)));
    if (fd < 0)
        return -1;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != owner && st.st_uid != 0)) {
        ::close(fd);
        return -1;
    }
    return fd;
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
