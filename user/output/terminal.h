// The terminal while the live view runs: alternate screen, hidden cursor, keys without echo.
// The destructor puts everything back, also when memtrace leaves through an exception.
#pragma once

#include <string>
#include <termios.h>
#include <vector>

namespace memtrace {

class LiveTerminal {
public:
    LiveTerminal(int out_fd, int in_fd);
    ~LiveTerminal();
    LiveTerminal(const LiveTerminal&) = delete;
    LiveTerminal& operator=(const LiveTerminal&) = delete;

    void size(int& width, int& height) const;
    // Redraws in place (cursor home, each line cleared to its end): no flicker, one write. Throws
    // std::runtime_error when the terminal is gone.
    void draw(const std::vector<std::string>& lines);
    // The keys the live view knows (Ctrl-C arrives as SIGINT).
    enum class Key { Quit, NextPanel, Segments, Diagram, Heatmap };
    // Reads the pending keys, in the order typed: q or Q quits, Tab goes to the next panel, 1, 2
    // and 3 to a panel; other keys are ignored.
    std::vector<Key> read_keys();
    int input_fd() const { return in_fd_; }

private:
    int out_fd_, in_fd_;
    bool have_termios_ = false;
    termios saved_{};
};

}  // namespace memtrace
