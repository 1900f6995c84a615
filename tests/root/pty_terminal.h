// memtrace on a pseudo-terminal, for the tests of its live views: the program runs with the pty
// as its stdin, stdout and stderr (and controlling terminal), keys are written to it, and what it
// draws is kept on a small screen model that knows the few sequences the live views use (cursor
// home, erase to the end of the line and of the screen, reverse video, the alternate screen) and
// the last column as xterm has it.
#pragma once

#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

class PtyTerminal {
public:
    // Starts argv on a new pty of `cols` x `rows`. Throws std::runtime_error when there is no pty.
    PtyTerminal(const std::vector<std::string>& argv, int cols, int rows);
    ~PtyTerminal();  // kills the program when it still runs
    PtyTerminal(const PtyTerminal&) = delete;
    PtyTerminal& operator=(const PtyTerminal&) = delete;

    // Reads what the program wrote during `ms` milliseconds (at least once) into the screen.
    void pump(int ms);
    // Pumps until `done(screen lines)` holds or `timeout_ms` passed; true when it held.
    bool wait_for(const std::function<bool(const std::vector<std::string>&)>& done, int timeout_ms);
    void type(const std::string& bytes);

    // The screen shown now (the alternate one while a live view is up), one string per row,
    // trailing blanks removed.
    std::vector<std::string> lines() const;
    std::string text() const;  // the lines, joined by '\n'
    // The rows drawn in reverse video by the last frame (the selection).
    std::vector<int> reverse_rows() const;
    // Everything the program wrote, as bytes.
    const std::string& raw() const { return raw_; }

    pid_t pid() const { return pid_; }
    // Waits for the program to exit, pumping; its exit code, -1 when killed or not done in time.
    int wait(int timeout_ms);

private:
    struct Screen {
        std::vector<std::u32string> cells;
        std::vector<bool> reverse;
    };
    void feed(const std::string& bytes);
    void put(char32_t c);
    void newline();
    Screen& screen() { return alternate_ ? alt_ : main_; }
    const Screen& screen() const { return alternate_ ? alt_ : main_; }
    void clear(Screen& s);

    int cols_, rows_;
    int master_ = -1;
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = -1;
    std::string raw_, pending_;  // pending_: an escape sequence or UTF-8 character cut by a read
    Screen main_, alt_;
    bool alternate_ = false, in_reverse_ = false;
    int x_ = 0, y_ = 0;
    // A character written in the last column leaves the cursor there, the wrap pending until the
    // next character (as xterm and the Linux console do): an erase then starts at that column.
    bool wrap_pending_ = false;
};
