#include "subprocess.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

// With MEMTRACE_TEST_FAULT_SOURCE set (ctest registers the trace tests a second time so), every
// tracing run of memtrace gets --fault-source VALUE: the same ground truth, the other fault source.
std::vector<std::string> with_fault_source(std::vector<std::string> argv)
{
    const char* source = std::getenv("MEMTRACE_TEST_FAULT_SOURCE");
    if (!source || argv.empty() || argv[0].size() < 8 || argv[0].compare(argv[0].size() - 8, 8, "memtrace") != 0)
        return argv;
    size_t at = 1;
    if (argv.size() > 1 && argv[1] == "record")
        at = 2;
    else if (argv.size() > 1 && (argv[1] == "report" || argv[1] == "maps" || argv[1] == "demo-workload" ||
                                 argv[1] == "--help" || argv[1] == "--version"))
        return argv;
    argv.insert(argv.begin() + static_cast<long>(at), {"--fault-source", source});
    return argv;
}

pid_t spawn(const std::vector<std::string>& given, const std::string& out, const std::string& err, int keep_fd)
{
    const std::vector<std::string> argv = with_fault_source(given);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        exec_or_exit(argv);
    }
    return pid;
}

int wait_pid(pid_t pid, int timeout_s)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

void exec_or_exit(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

RunResult run(const std::vector<std::string>& argv, int timeout_s)
{
    char dir[] = "/tmp/memtrace-test-XXXXXX";
    mkdtemp(dir);
    std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
    pid_t pid = spawn(argv, out, err, -1);
    RunResult r;
    r.exit_code = wait_pid(pid, timeout_s);
    r.out = read_file(out);
    r.err = read_file(err);
    unlink(out.c_str());
    unlink(err.c_str());
    rmdir(dir);
    return r;
}

Background::Background(const std::vector<std::string>& argv, const std::string& out_path,
                       const std::string& err_path, int keep_fd)
    : pid_(spawn(argv, out_path, err_path, keep_fd))
{
}

Background::~Background()
{
    if (!reaped_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

int Background::wait(int timeout_s)
{
    reaped_ = true;
    return wait_pid(pid_, timeout_s);
}

bool wait_for_text(const std::string& path, const std::string& needle, int timeout_s)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        if (read_file(path).find(needle) != std::string::npos)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

bool bpf_tests_can_run(std::string& why)
{
    if (geteuid() != 0) {
        why = "not root";
        return false;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        why = "no kernel BTF";
        return false;
    }
    return true;
}
