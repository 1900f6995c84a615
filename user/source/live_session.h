// The live source: starts the command (or checks the pid), loads and attaches the BPF programs,
// and runs the event loop that turns the ring buffer, the kernel's tables, /proc and the clock into
// one record stream (through the Synthesizer), with a tick at the end of every interval. Whatever
// consumes the stream (the pipeline, a trace file) sees only records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source/launcher.h"

namespace memtrace {

class BpfTracer;
class Pipeline;
class ProcProbe;
class SessionSignals;
class Synthesizer;

struct LiveOptions {
    int pid = 0;                       // -p, or 0
    std::vector<std::string> command;  // or the command to start
    std::string command_output;        // the command's stdout/stderr (LaunchedCommand::kStderr, a path, or "")
    const Credentials* run_as = nullptr;
    bool follow = false;
    double duration_s = 0;  // 0: until the target exits or memtrace is told to stop
    double interval_s = 1;
    unsigned ringbuf_mib = 8;
    bool latency = false, stacks = false, verbose = false;
    uint32_t stack_sample_period = 0;  // --stacks: one fault in this many on each CPU (0: no fault stacks)
    int fault_source = 0;          // enum class FaultSource: auto, tracepoint, perf event
    uint32_t overflow_pages = 65536;
};

// What the loop asks of the output while it runs (the live view's keys and resizes).
struct LiveHooks {
    int keys_fd = -1;                      // watched when >= 0
    std::function<bool()> keys_quit;       // reads the pending keys: true when the user asked to quit
    std::function<void()> resized;         // SIGWINCH
};

class LiveSession {
public:
    using RecordSink = std::function<void(const void* data, size_t size)>;

    // Checks the target, loads and attaches everything, synthesizes the start of the stream.
    // `pipeline` is asked which traced processes are alive (for resident-memory samples and for
    // the end of a -f trace). Throws std::runtime_error with a one-line message.
    LiveSession(const LiveOptions& options, RecordSink sink, const Pipeline& pipeline);
    ~LiveSession();
    LiveSession(const LiveSession&) = delete;
    LiveSession& operator=(const LiveSession&) = delete;

    uint32_t target() const { return target_; }
    const std::string& comm() const { return comm_; }
    bool launched() const { return child_ != nullptr; }
    // The target was gone before memtrace could attach to it (its exit may still be in the trace).
    bool exited_while_attaching() const { return exited_while_attaching_; }

    // Runs until the end; the last record it sends is the final tick. Returns its enum mt_end_reason.
    uint32_t run(const LiveHooks& hooks);

private:
    void refresh_kernel_tables(uint64_t now);
    void finish(uint32_t reason);

    LiveOptions options_;
    const Pipeline& pipeline_;
    std::unique_ptr<ProcProbe> probe_;
    std::unique_ptr<Synthesizer> synth_;
    std::unique_ptr<LaunchedCommand> child_;
    std::unique_ptr<BpfTracer> tracer_;
    uint32_t target_ = 0;
    std::string comm_;
    std::unique_ptr<SessionSignals> signals_;
    int target_fd_ = -1, epoll_fd_ = -1;
    bool exited_while_attaching_ = false, target_exited_ = false;
    std::optional<uint64_t> final_from_proc_;
};

uint64_t monotonic_ns();

}  // namespace memtrace
