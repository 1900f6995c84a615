// The live view as an output: each interval's report drawn in place on the terminal, keys read
// between records (q quits, Tab switches panels), redrawn on resize; the summary printed after the
// terminal is restored. Opened from -a's table, it draws on that table's terminal instead and
// leaves it (and the summary) to the table.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "output/render_live.h"
#include "output/report_output.h"
#include "output/terminal.h"

namespace memtrace {

class LiveView : public ReportOutput {
public:
    // `target` names what is traced, for the title ("pid 1234 (python3)"); asked at each draw.
    LiveView(int out_fd, int in_fd, std::function<std::string()> target);
    // On a terminal someone else set up and restores: the summary is not printed.
    LiveView(LiveTerminal& terminal, std::function<std::string()> target);
    void interval(const Report& report) override;
    void summary(const Report& report, uint32_t end_reason) override;

    void redraw();
    // Reads the pending keys: switches panels (and redraws); true when the user asked to quit.
    bool quit_requested();
    int keys_fd() const { return keys_fd_; }

private:
    void draw(const Report& report);

    std::unique_ptr<LiveTerminal> own_terminal_;  // null when drawing on a borrowed one
    LiveTerminal* terminal_ = nullptr;
    std::function<std::string()> target_;
    std::string quit_ = "q quit";  // the keys line's
    std::optional<Report> last_;
    LivePanel panel_ = LivePanel::Segments;
    int keys_fd_ = -1;
};

}  // namespace memtrace
