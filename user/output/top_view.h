// -a's live table as an output (memtrace -a, --cgroup, --comm on a terminal): each interval's
// report drawn in place, the selected row highlighted; keys read between records: Up/Down (j/k),
// PgUp/PgDn, Home/End move the selection, c shows the rows by process or by cgroup, q quits,
// Enter on a process asks for its live view. While that view is up, the -a session pauses
// (the kernel goes on counting) and the view draws on this table's terminal (terminal()); the
// table comes back when it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "output/render_top.h"
#include "output/report_output.h"
#include "output/terminal.h"
#include "output/top_selection.h"

namespace memtrace {

class TopView : public ReportOutput {
public:
    // `filter` says what is counted ("every process", "cgroup /x", as given: it is made safe when
    // drawn); `rows`: --by; `summary_rows`: the rows of the summary printed at the end (--top).
    TopView(int out_fd, int in_fd, std::string filter, TopRows rows, size_t summary_rows);
    void interval(const Report& report) override;
    // The end of the -a session: the terminal is restored and the summary printed.
    void summary(const Report& report, uint32_t end_reason) override;

    void redraw();
    // Reads the pending keys (the session's keys_quit hook): true for q. Enter on a live process
    // asks for its view instead (open_requested()); the keys typed after it are left to that view.
    bool read_keys();
    int keys_fd() const { return keys_fd_; }
    // Enter asked for a process's view (the session's pause hook).
    bool open_requested() const { return open_.has_value(); }
    // The process Enter asked for, once.
    std::optional<uint32_t> take_open_request();
    // What the status line says for a few seconds ("pid 1234 exited"; made safe when drawn).
    void set_status(std::string status);
    // The terminal the process's view draws on while the table waits.
    LiveTerminal& terminal() { return *terminal_; }
    // memtrace ends elsewhere (in a process's view): restores the terminal and prints `text`.
    void finish(const std::string& text);

private:
    void draw();
    // Enter on the selected row: a cgroup shows its processes, a live process is asked for.
    void enter();
    int visible_rows() const;

    std::unique_ptr<LiveTerminal> terminal_;
    int keys_fd_ = -1;
    std::string filter_;
    size_t summary_rows_;
    TopSelection selection_;
    Report last_;
    std::string status_;
    std::chrono::steady_clock::time_point status_until_{};
    std::optional<uint32_t> open_;
};

}  // namespace memtrace
