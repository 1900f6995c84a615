#include "output/top_view.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <unistd.h>

#include <fmt/format.h>

#include "output/format_util.h"
#include "output/output_file.h"

namespace memtrace {
namespace {

constexpr std::chrono::seconds kStatusFor{5};
constexpr long kToTheEnd = 1L << 30;  // rows: End moves this far down

}  // namespace

TopView::TopView(int out_fd, int in_fd, std::string filter, TopRows rows, size_t summary_rows)
    : terminal_(std::make_unique<LiveTerminal>(out_fd, in_fd)), filter_(std::move(filter)),
      summary_rows_(summary_rows), selection_(rows)
{
    if (isatty(in_fd))
        keys_fd_ = in_fd;
    draw();  // the frame is there before the first interval ends
}

int TopView::visible_rows() const
{
    int width, height;
    terminal_->size(width, height);
    return std::max(height - 3, 1);
}

void TopView::draw()
{
    if (!terminal_)
        return;  // after the summary
    if (!status_.empty() && std::chrono::steady_clock::now() > status_until_)
        status_.clear();
    int width, height;
    terminal_->size(width, height);
    TopFrame frame = render_top_frame(last_, selection_, {filter_, status_}, width, height);
    selection_.set_first_shown(frame.first_row);
    if (frame.selected_line >= 0)  // reverse video: the frame's lines have no escape of their own
        frame.lines[frame.selected_line] = "\x1b[7m" + frame.lines[frame.selected_line] + "\x1b[m";
    terminal_->draw(frame.lines);
}

void TopView::redraw() { draw(); }

void TopView::interval(const Report& report)
{
    last_ = report;
    selection_.follow(last_);
    draw();
}

void TopView::summary(const Report& report, uint32_t end_reason)
{
    if (!terminal_)
        return;  // memtrace ended in a process's view, which printed its own summary
    // The table showed every row; the summary, like --text's, the busiest --top.
    Report shown = report;
    if (shown.activity.size() > summary_rows_)
        shown.activity.resize(summary_rows_);
    if (shown.cgroup_activity.size() > summary_rows_)
        shown.cgroup_activity.resize(summary_rows_);
    finish(summary_text(shown, end_reason, selection_.rows() == TopRows::Cgroups));
}

void TopView::finish(const std::string& text)
{
    terminal_.reset();  // back to the normal screen: the summary stays on it
    write_text(STDOUT_FILENO, text, "the report");
}

void TopView::set_status(std::string status)
{
    status_ = std::move(status);
    status_until_ = std::chrono::steady_clock::now() + kStatusFor;
}

std::optional<uint32_t> TopView::take_open_request()
{
    std::optional<uint32_t> pid = open_;
    open_.reset();
    return pid;
}

void TopView::enter()
{
    if (selection_.rows() == TopRows::Cgroups) {
        selection_.toggle(last_);  // a cgroup opens onto its processes, its busiest selected
        return;
    }
    const ActivityRow* row = selection_.selected(last_);
    if (!row)
        return;
    const std::string name = fmt::format("pid {} ({})", row->pid, row->comm);  // made safe when drawn
    if (row->pid == static_cast<uint32_t>(getpid())) {
        set_status(name + " is memtrace itself");
        return;
    }
    // Gone since the last report: say so here rather than leave the table for nothing.
    if (!row->alive || (kill(static_cast<pid_t>(row->pid), 0) != 0 && errno == ESRCH)) {
        set_status(name + " has exited");
        return;
    }
    open_ = row->pid;
    set_status("opening " + name + "...");
}

bool TopView::read_keys()
{
    bool quit = false;
    for (LiveTerminal::Key key : terminal_->read_keys()) {
        if (quit || open_)
            break;  // what was typed after q or Enter is for what comes next
        switch (key) {
        case LiveTerminal::Key::Quit: quit = true; break;
        case LiveTerminal::Key::Up: selection_.move(last_, -1); break;
        case LiveTerminal::Key::Down: selection_.move(last_, 1); break;
        case LiveTerminal::Key::PageUp: selection_.move(last_, -visible_rows()); break;
        case LiveTerminal::Key::PageDown: selection_.move(last_, visible_rows()); break;
        case LiveTerminal::Key::Home: selection_.home(); break;
        case LiveTerminal::Key::End: selection_.move(last_, kToTheEnd); break;
        case LiveTerminal::Key::ToggleRows: selection_.toggle(last_); break;
        case LiveTerminal::Key::Enter: enter(); break;
        default: break;  // the panels of a process's live view
        }
    }
    draw();
    return quit;
}

}  // namespace memtrace
