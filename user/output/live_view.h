// The live view as an output: each interval's report drawn in place on the terminal, keys read
// between records (q quits, Tab switches panels), redrawn on resize; the summary printed after the
// terminal is restored.
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
    void interval(const Report& report) override;
    void summary(const Report& report, uint32_t end_reason) override;

    void redraw();
    // Reads the pending keys: switches panels (and redraws); true when the user asked to quit.
    bool quit_requested();
    int keys_fd() const { return keys_fd_; }

private:
    void draw(const Report& report);

    std::unique_ptr<LiveTerminal> terminal_;
    std::function<std::string()> target_;
    std::optional<Report> last_;
    LivePanel panel_ = LivePanel::Segments;
    int keys_fd_ = -1;
};

}  // namespace memtrace
