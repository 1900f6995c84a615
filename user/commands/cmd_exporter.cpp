#include "commands/cmd_exporter.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands/seconds_option.h"
#include "output/format_util.h"
#include "output/prometheus_metrics.h"
#include "pipeline/pipeline.h"
#include "serve/metrics_server.h"
#include "source/count_session.h"
#include "source/proc_probe.h"
#include "source/proc_status.h"
#include "symbols/code_namer.h"
#include "version.h"

namespace memtrace {
namespace {

double cpu_seconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void check_options(const ExporterOptions& o)
{
    int narrowed = (o.all ? 1 : 0) + (!o.cgroup.empty() ? 1 : 0) + (o.pid ? 1 : 0);
    if (narrowed > 1)
        throw std::runtime_error("give one of -a, --cgroup PATH and -p PID (--comm may narrow any of them)");
    if (o.pid)
        check_traceable_pid(o.pid);  // a dead pid is an error, not an endpoint that stays empty
}

// The series served: built by the pipeline's thread at each report, read by the server's.
class Snapshot {
public:
    void set(Exposition e)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        latest_ = std::make_shared<const Exposition>(std::move(e));
    }
    Exposition get() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return latest_ ? *latest_ : Exposition{};
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Exposition> latest_;
};

}  // namespace

void setup_exporter_options(CLI::App& app, ExporterOptions& o)
{
    app.add_option("--listen", o.listen,
                   fmt::format("HOST:PORT to serve /metrics on (default {}); a non-loopback address needs {}", o.listen,
                               kListenRemoteFlag));
    app.add_flag(std::string(kListenRemoteFlag), o.listen_remote,
                 "Allow --listen on an address other hosts reach (the metrics name processes and cgroups)");
    app.add_flag("-a,--all", o.all, "Count every process on the machine (the default)");
    app.add_option("--cgroup", o.cgroup, "Count the processes of this cgroup v2 and its descendants");
    app.add_option("--comm", o.comm, "Count the processes of this name only");
    app.add_option("-p,--pid", o.pid, "Count this process only")->check(CLI::PositiveNumber);
    app.add_flag("--latency", o.latency, "Fault latency histograms (one more BPF program run per fault)");
    app.add_option("-i,--interval", o.interval_s, "Seconds between refreshes of the series from the kernel (default 1)")
        ->check(seconds_between(0.05, 3600.0));
    app.add_option("-d,--duration", o.duration_s, "Stop after this many seconds (default: on SIGINT or SIGTERM)")
        ->check(seconds_between(0.001, 1e9));
    app.add_option("--max-groups", o.max_groups,
                   "(cgroup, comm) pairs given series of their own; later ones count as \"other\" (default 100)")
        ->check(CLI::Range(1u, 100000u));
    app.add_flag("-v,--verbose", o.verbose, "Show libbpf's log");
}

int run_exporter(const ExporterOptions& o)
{
    check_options(o);
    PlainCodeNamer namer;
    PipelineOptions pipeline_options;
    pipeline_options.top_processes = 0;
    pipeline_options.max_metric_groups = o.max_groups;
    Pipeline pipeline(pipeline_options, namer);

    CountSessionOptions count;
    count.kernel.cgroup_path = o.cgroup;
    count.kernel.comm = o.comm;
    count.kernel.target_tgid = static_cast<uint32_t>(o.pid);
    count.kernel.latency = o.latency;
    count.kernel.verbose = o.verbose;
    count.interval_s = o.interval_s;
    count.duration_s = o.duration_s;

    ExporterStatus status;
    status.version = MEMTRACE_VERSION;
    status.commit = MEMTRACE_GIT_COMMIT;
    status.started_unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    Snapshot snapshot;
    CountSession* session_ptr = nullptr;
    pipeline.set_report_handler([&](const Report& report, uint32_t) {
        status.cpu_seconds = cpu_seconds();
        if (std::optional<ResidentPages> self = read_resident_pages(getpid()))
            status.resident_bytes = self->resident() * 4096;
        if (session_ptr)
            status.kind_lookups = session_ptr->health().lookups;
        snapshot.set(metrics_exposition(report, status));
    });
    // The server comes up first: a port in use is an error before anything is loaded.
    MetricsServerOptions server_options;
    server_options.listen = o.listen;
    server_options.allow_remote = o.listen_remote;
    MetricsServer server(server_options, [&snapshot] { return snapshot.get(); });
    CountSession session(count, [&](const void* data, size_t size) { pipeline.handle(data, size); });
    session_ptr = &session;
    fmt::print(stderr, "memtrace exporter: serving http://{}/metrics, counting {}... Ctrl-C to end\n", server.address(),
               o.pid ? fmt::format("pid {}", o.pid)
               : !o.cgroup.empty() ? fmt::format("cgroup {}", terminal_safe(o.cgroup))
               : !o.comm.empty() ? fmt::format("processes named {}", terminal_safe(o.comm))
                                 : std::string("every process"));
    session.run({});
    return 0;
}

}  // namespace memtrace
