#include "output/terminal.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace memtrace {
namespace {

// Returns false (errno set) when the terminal is gone.
bool write_all(int fd, const std::string& s)
{
    size_t done = 0;
    while (done < s.size()) {
        ssize_t n = write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

LiveTerminal::LiveTerminal(int out_fd, int in_fd) : out_fd_(out_fd), in_fd_(in_fd)
{
    if (isatty(in_fd_) && tcgetattr(in_fd_, &saved_) == 0) {
        have_termios_ = true;
        termios raw = saved_;
        raw.c_lflag &= ~(ICANON | ECHO);  // keep ISIG: Ctrl-C still raises SIGINT
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(in_fd_, TCSANOW, &raw);
    }
    write_all(out_fd_, "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
}

LiveTerminal::~LiveTerminal()
{
    write_all(out_fd_, "\x1b[?25h\x1b[?1049l");
    if (have_termios_)
        tcsetattr(in_fd_, TCSANOW, &saved_);
}

void LiveTerminal::size(int& width, int& height) const
{
    winsize ws{};
    if (ioctl(out_fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        width = ws.ws_col;
        height = ws.ws_row;
    } else {
        width = 80;
        height = 24;
    }
}

void LiveTerminal::draw(const std::vector<std::string>& lines)
{
    // Each line is cleared before it is written, not after: a line as wide as the terminal leaves
    // the cursor on its last column (the wrap pending), where an erase would take its last
    // character. The last line clears the rest of the screen too.
    std::string frame = "\x1b[H";
    for (size_t i = 0; i < lines.size(); ++i) {
        frame += i + 1 < lines.size() ? "\x1b[K" : "\x1b[J";
        frame += lines[i];
        if (i + 1 < lines.size())
            frame += "\r\n";
    }
    if (lines.empty())
        frame += "\x1b[J";
    if (!write_all(out_fd_, frame))
        throw std::runtime_error(fmt::format("cannot write the live view: {}", strerror(errno)));
}

std::vector<LiveTerminal::Key> LiveTerminal::read_keys()
{
    char buf[64];
    ssize_t n = read(in_fd_, buf, sizeof(buf));
    return decode_keys(pending_, std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
}

}  // namespace memtrace
