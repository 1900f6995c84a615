// The terminal while the live view runs: alternate screen, hidden cursor, keys without echo.
// The destructor puts everything back, also when memtrace leaves through an exception.
#pragma once

#include <string>
#include <termios.h>
#include <vector>

#include "output/terminal_keys.h"

namespace memtrace {

class LiveTerminal {
public:
    LiveTerminal(int out_fd, int in_fd);
    ~LiveTerminal();
    LiveTerminal(const LiveTerminal&) = delete;
    LiveTerminal& operator=(const LiveTerminal&) = delete;

    void size(int& width, int& height) const;
    // Redraws in place (cursor home, each line cleared, then written): no flicker, one write. Throws
    // std::runtime_error when the terminal is gone.
    void draw(const std::vector<std::string>& lines);
    // The keys the live views know (terminal_keys.h; Ctrl-C arrives as SIGINT).
    using Key = TerminalKey;
    // Reads the pending keys, in the order typed; other keys are ignored.
    std::vector<Key> read_keys();
    int input_fd() const { return in_fd_; }

private:
    int out_fd_, in_fd_;
    bool have_termios_ = false;
    termios saved_{};
    std::string pending_;  // an escape sequence cut by the end of a read
};

}  // namespace memtrace
