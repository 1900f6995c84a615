#include "cmd_trace.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/code_namer.h"
#include "core/event_printer.h"
#include "core/folded.h"
#include "core/format_util.h"
#include "core/output_file.h"
#include "core/proc_status.h"
#include "core/render_json.h"
#include "core/render_live.h"
#include "core/render_text.h"
#include "core/trace_state.h"
#include "kernel/bpf_tracer.h"
#include "kernel/preflight.h"
#include "launcher.h"
#include "proc_source.h"
#include "seconds_option.h"
#include "terminal.h"

namespace memtrace {
namespace {

using Clock = std::chrono::steady_clock;

enum class OutputMode { Live, Text, Json, Events };

class FileDescriptor {
public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    ~FileDescriptor()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

uint64_t monotonic_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

void setup_trace_options(CLI::App& app, TraceOptions& o)
{
    app.add_option("-p,--pid", o.pid, "Trace every thread of this running process")->check(CLI::PositiveNumber);
    app.add_flag("-f,--follow", o.follow, "Also trace the processes the target forks");
    app.add_option("-d,--duration", o.duration_s, "Stop after this many seconds")
        ->check(seconds_between(0.001, 1e7));
    app.add_option("-i,--interval", o.interval_s, "Seconds between refreshes and snapshots (default 1)")
        ->check(seconds_between(0.05, 3600.0));
    app.add_flag("--json", o.json, "One NDJSON object per interval, then a summary object");
    app.add_flag("--events", o.events, "One line per event (fault, mmap, brk, ...) with its segment");
    app.add_flag("--text", o.text, "Plain-text snapshots even when stdout is a terminal");
    app.add_option("--command-output", o.command_output,
                   "File for the command's stdout/stderr (default: /dev/null in the live view, else inherited)");
    app.add_option("--ringbuf-mib", o.ringbuf_mib, "Ring buffer size in MiB, a power of two (default 8)")
        ->check(CLI::Range(1u, 1024u));
    app.add_option("--sites", o.sites, "How many top faulting code locations to show (default 10, 0 = none)");
    app.add_flag("--latency", o.latency,
                 "Time every fault from entry to completion: log2 histograms per segment, minor and major "
                 "(one more BPF program run per fault)");
    app.add_flag("--stacks", o.stacks, "Count the user stacks of faults, brk and mmap calls in the kernel");
    app.add_option("--folded", o.folded,
                   "Write the fault stacks to FILE in folded format (flamegraph.pl, inferno, speedscope); "
                   "implies --stacks");
    app.add_option("-u,--user", o.user,
                   "Run the command as USER (name or uid). Default: as memtrace's caller, which under sudo is "
                   "root, as with strace: the command gets the privileges it was given; add -u \"$SUDO_USER\" "
                   "to run it as yourself");
    app.add_flag("-v,--verbose", o.verbose, "Show libbpf's log");
    app.add_option("command", o.command, "Command to start and trace from its first instruction (after --)");
}

int run_trace(const TraceOptions& o)
{
    if (o.pid && !o.command.empty())
        throw std::runtime_error("give either -p PID or a command after --, not both");
    if (!o.pid && o.command.empty())
        throw std::runtime_error("nothing to trace: give -p PID or a command after -- (see --help)");
    if (o.json && o.events)
        throw std::runtime_error("--json and --events are two different outputs: pick one");
    if (o.ringbuf_mib & (o.ringbuf_mib - 1))
        throw std::runtime_error("--ringbuf-mib must be a power of two");
    if (!o.user.empty() && o.command.empty())
        throw std::runtime_error("-u USER applies to a command started by memtrace (after --), not to -p");
    const bool stacks = o.stacks || !o.folded.empty();
    std::optional<Credentials> run_as;
    if (!o.user.empty())
        run_as = credentials_of(o.user);
    // Opened before anything is traced: a path memtrace must not write is an error up front.
    std::optional<FileDescriptor> folded_fd;
    if (!o.folded.empty())
        folded_fd.emplace(open_output_file(o.folded));

    OutputMode mode = o.events ? OutputMode::Events
                    : o.json   ? OutputMode::Json
                    : (o.text || !isatty(STDOUT_FILENO)) ? OutputMode::Text
                                                         : OutputMode::Live;
    if (o.pid)
        check_traceable_pid(o.pid);  // "no process with pid N" and friends, before anything else
    preflight_or_throw();

    std::unique_ptr<LaunchedCommand> child;
    uint32_t target = static_cast<uint32_t>(o.pid);
    if (!o.command.empty()) {
        std::string output = o.command_output;
        if (output.empty() && mode == OutputMode::Live)
            output = "/dev/null";  // the command's own output would tear the live view
        if (output.empty() && (mode == OutputMode::Json || mode == OutputMode::Events))
            output = LaunchedCommand::kStderr;  // keep memtrace's stdout parseable
        child = std::make_unique<LaunchedCommand>(o.command, output, run_as ? &*run_as : nullptr);
        target = static_cast<uint32_t>(child->pid());
    }

    // Signals arrive through a descriptor, between records, never inside a libbpf callback.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    FileDescriptor signals(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));

    ProcProcessSource source;
    TraceState state(source, stack_limit_of(target));
    SymbolizerCodeNamer namer;
    state.set_code_namer(&namer);
    state.set_sites(o.sites);
    state.set_latency(o.latency);
    std::unique_ptr<EventPrinter> printer;

    BpfOptions bpf_options;
    bpf_options.target_tgid = target;
    bpf_options.follow_forks = o.follow;
    bpf_options.wait_for_exec = child != nullptr;
    bpf_options.ringbuf_bytes = o.ringbuf_mib << 20;
    bpf_options.measure_latency = o.latency;
    bpf_options.record_stacks = stacks;
    bpf_options.verbose = o.verbose;
    BpfTracer tracer(bpf_options, [&](const void* data, size_t size) { state.handle(data, size); });
    uint64_t start_ns = monotonic_ns();
    state.set_clock_origin(start_ns);
    Clock::time_point start = Clock::now();

    std::string comm;
    if (child) {
        comm = o.command[0].substr(o.command[0].rfind('/') + 1);
        state.attach_launched(target, comm);
    } else {
        ProcStat before = read_proc_stat(o.pid);
        comm = before.comm;
        state.attach(target, comm);
        state.set_kernel_baseline(target, before.minflt + before.majflt, false);
        for (auto [tid, sp] : thread_stack_pointers(o.pid))
            state.label_thread_stack(target, tid, sp);
    }
    if (mode == OutputMode::Events) {
        printer = std::make_unique<EventPrinter>(stdout, state.segments(), start_ns);
        printer->print_header();
        state.set_observer([&](const mt_header& h, SegmentId seg, const ProcessState& p) { printer->print(h, seg, p); });
    }

    FileDescriptor target_fd(static_cast<int>(syscall(SYS_pidfd_open, target, 0)));
    if (target_fd.get() < 0)
        throw std::runtime_error(fmt::format("no process with pid {}", target));

    if (child)
        child->release();
    std::unique_ptr<LiveTerminal> terminal;
    if (mode == OutputMode::Live)
        terminal = std::make_unique<LiveTerminal>(STDOUT_FILENO, STDIN_FILENO);
    else
        fmt::print(stderr, "memtrace: tracing {} {} ({}){}... Ctrl-C to end\n", child ? "command" : "pid", target,
                   terminal_safe(comm), o.follow ? " and its children" : "");

    FileDescriptor epoll(epoll_create1(EPOLL_CLOEXEC));
    auto watch = [&](int fd, uint64_t tag) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
    };
    enum : uint64_t { kRing, kSignal, kTarget, kKeys };
    watch(tracer.ring_fd(), kRing);
    watch(signals.get(), kSignal);
    watch(target_fd.get(), kTarget);
    if (terminal && isatty(STDIN_FILENO))
        watch(STDIN_FILENO, kKeys);

    std::optional<Report> last_report;
    LiveTitle title{fmt::format("pid {} ({})", target, comm), ""};
    // What the kernel keeps rather than streams: counters, resident pages, stack counts.
    auto refresh_counters = [&] {
        // Faults counted in the kernel while the ring was full are placed with the model once every
        // record made before them is in (bounded: a storm must not keep the report from coming).
        for (int batch = 0; batch < 64 && tracer.consume(); ++batch) {
        }
        state.add_overflow(tracer.drain_overflow());
        KernelCounters k = tracer.counters();
        state.set_kernel_counters(k.faults, k.dropped, k.overflow_lost);
        // Resident memory from the kernel's own counters, once an interval: a program on
        // kmem:rss_stat would run on every fault. A process's peak at exit is in its exit record.
        for (uint32_t pid : state.live_pids())
            if (std::optional<ResidentPages> rss = read_resident_pages(static_cast<int>(pid)))
                state.set_rss(pid, *rss);
        if (stacks)
            state.add_stacks(tracer.drain_stacks(), k.stacks_lost);
    };
    auto draw_live = [&] {
        int width, height;
        terminal->size(width, height);
        if (const ProcessState* p = state.process(target))
            title.target = fmt::format("pid {} ({})", target, p->comm);
        terminal->draw(render_live_frame(*last_report, title, width, height));
    };
    auto emit_interval = [&](double interval) {
        refresh_counters();
        last_report = state.report(seconds_since(start), interval, false);
        switch (mode) {
        case OutputMode::Live: draw_live(); break;
        case OutputMode::Text: render_text(std::cout, *last_report); std::cout.flush(); break;
        case OutputMode::Json: render_json_line(std::cout, *last_report); break;
        case OutputMode::Events: printer->flush(); break;
        }
    };

    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.interval_s));
    Clock::time_point next_report = start + interval;
    Clock::time_point last_report_at = start;
    std::optional<Clock::time_point> end_at;
    if (o.duration_s > 0)
        end_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
    bool target_exited = false, stop = false;
    std::optional<uint64_t> final_from_proc;
    std::string end_reason = "the target exited";
    if (mode == OutputMode::Live)
        emit_interval(0);

    while (!stop) {
        Clock::time_point wake = next_report;
        if (end_at && *end_at < wake)
            wake = *end_at;
        // Records are submitted without a wakeup until a batch is pending: never sleep long.
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
        int timeout = static_cast<int>(std::clamp<long>(wait, 0, 100));
        epoll_event events[4];
        int n = epoll_wait(epoll.get(), events, 4, timeout);
        if (n < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("epoll_wait: {}", strerror(errno)));
        for (int i = 0; i < n; ++i) {
            switch (events[i].data.u64) {
            case kSignal: {
                signalfd_siginfo si;
                while (read(signals.get(), &si, sizeof(si)) == sizeof(si)) {
                    if (si.ssi_signo == SIGWINCH) {
                        if (terminal && last_report)
                            draw_live();
                    } else {
                        stop = true;
                        end_reason = si.ssi_signo == SIGINT ? "interrupted" : "terminated";
                    }
                }
                break;
            }
            case kTarget:
                target_exited = true;
                // The exited process is a zombie until reaped (we reap a launched command only
                // below): /proc/PID/stat then sums every thread, which the BPF program's count at
                // the last thread's exit can miss (a zombie leader's own faults).
                try {
                    ProcStat st = read_proc_stat(static_cast<int>(target));
                    final_from_proc = st.minflt + st.majflt;
                } catch (const std::runtime_error&) {
                }
                epoll_ctl(epoll.get(), EPOLL_CTL_DEL, target_fd.get(), nullptr);
                break;
            case kKeys:
                if (terminal->quit_requested()) {
                    stop = true;
                    end_reason = "quit";
                }
                break;
            }
        }
        tracer.consume();
        if (target_exited && (!o.follow || state.live_processes() == 0)) {
            stop = true;
            end_reason = o.follow ? "the target and its children exited" : "the target exited";
        }
        Clock::time_point now = Clock::now();
        if (end_at && now >= *end_at) {
            stop = true;
            end_reason = "duration elapsed";
        }
        if (!stop && now >= next_report) {
            emit_interval(std::chrono::duration<double>(now - last_report_at).count());
            last_report_at = now;
            while (next_report <= now)
                next_report += interval;
        }
    }

    // Drain what is still in the ring, then the summary.
    while (tracer.consume()) {
    }
    if (final_from_proc)
        state.set_kernel_final(target, *final_from_proc);
    if (child && target_exited)
        child->reap(true);
    if (!target_exited && !child) {
        // Still running: the kernel's count now closes the comparison window.
        try {
            ProcStat after = read_proc_stat(o.pid);
            state.set_kernel_final(target, after.minflt + after.majflt);
        } catch (const std::runtime_error&) {
        }
    }
    refresh_counters();
    Report summary = state.report(seconds_since(start), std::chrono::duration<double>(Clock::now() - last_report_at).count(), true);
    terminal.reset();
    if (printer)
        printer->flush();
    switch (mode) {
    case OutputMode::Json: render_json_line(std::cout, summary); break;
    case OutputMode::Events: render_text(std::cerr, summary); break;
    default: render_text(std::cout, summary); break;
    }
    if (folded_fd) {
        uint64_t lines = write_folded(folded_fd->get(), state.folded(MT_STACK_FAULT));
        fmt::print(stderr, "memtrace: wrote {} fault stacks to {}\n", lines, o.folded);
    }
    if (mode != OutputMode::Json)
        fmt::print(mode == OutputMode::Events ? stderr : stdout, "memtrace: {}\n", end_reason);
    std::cout.flush();
    return 0;
}

}  // namespace memtrace
