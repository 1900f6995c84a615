#include "output/live_view.h"

#include <iostream>
#include <unistd.h>

#include <fmt/ostream.h>

#include "output/output_file.h"

namespace memtrace {

LiveView::LiveView(int out_fd, int in_fd, std::function<std::string()> target)
    : own_terminal_(std::make_unique<LiveTerminal>(out_fd, in_fd)), terminal_(own_terminal_.get()),
      target_(std::move(target))
{
    if (isatty(in_fd))
        keys_fd_ = in_fd;
    draw(Report{});  // the frame is there before the first interval ends
}

LiveView::LiveView(LiveTerminal& terminal, std::function<std::string()> target)
    : terminal_(&terminal), target_(std::move(target)), quit_("q back to the table")
{
    if (isatty(terminal.input_fd()))
        keys_fd_ = terminal.input_fd();
    draw(Report{});
}

void LiveView::draw(const Report& report)
{
    if (!terminal_)
        return;  // after the summary
    int width, height;
    terminal_->size(width, height);
    terminal_->draw(render_live_panel(report, {target_(), "", quit_}, panel_, width, height));
}

bool LiveView::quit_requested()
{
    const LivePanel shown = panel_;
    for (LiveTerminal::Key key : terminal_->read_keys()) {
        switch (key) {
        case LiveTerminal::Key::Quit: return true;
        case LiveTerminal::Key::NextPanel: panel_ = next_panel(panel_); break;
        case LiveTerminal::Key::Segments: panel_ = LivePanel::Segments; break;
        case LiveTerminal::Key::Diagram: panel_ = LivePanel::Diagram; break;
        case LiveTerminal::Key::Heatmap: panel_ = LivePanel::Heatmap; break;
        default: break;  // the keys of -a's table
        }
    }
    if (panel_ != shown)
        draw(last_ ? *last_ : Report{});
    return false;
}

void LiveView::interval(const Report& report)
{
    last_ = report;
    draw(report);
}

void LiveView::redraw()
{
    if (last_)
        draw(*last_);
}

void LiveView::summary(const Report& report, uint32_t end_reason)
{
    if (!own_terminal_)
        return;  // the terminal's owner decides what comes next
    own_terminal_.reset();  // back to the normal screen: the summary stays on it
    terminal_ = nullptr;
    write_text(STDOUT_FILENO, summary_text(report, end_reason), "the report");
}

}  // namespace memtrace
