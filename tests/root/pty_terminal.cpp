#include "pty_terminal.h"
#include "subprocess.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <pty.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace {

// The code point at s[i] (UTF-8) and its length; 0 when the sequence is cut by the end of s.
size_t utf8_at(const std::string& s, size_t i, char32_t& cp)
{
    const unsigned char b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    if (i + len > s.size())
        return 0;
    cp = len == 1 ? b : len == 2 ? b & 0x1f : len == 3 ? b & 0x0f : b & 0x07;
    for (size_t k = 1; k < len; ++k)
        cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    return len;
}

std::string utf8(const std::u32string& s)
{
    std::string out;
    for (char32_t c : s) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xc0 | c >> 6);
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xe0 | c >> 12);
            out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | c >> 18);
            out += static_cast<char>(0x80 | (c >> 12 & 0x3f));
            out += static_cast<char>(0x80 | (c >> 6 & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return out;
}

}  // namespace

PtyTerminal::PtyTerminal(const std::vector<std::string>& argv, int cols, int rows) : cols_(cols), rows_(rows)
{
    clear(main_);
    clear(alt_);
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(cols);
    ws.ws_row = static_cast<unsigned short>(rows);
    pid_ = forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ < 0)
        throw std::runtime_error(std::string("forkpty: ") + strerror(errno));
    if (pid_ == 0)
        exec_or_exit(argv);
}

PtyTerminal::~PtyTerminal()
{
    if (!reaped_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0)
        close(master_);
}

void PtyTerminal::clear(Screen& s)
{
    s.cells.assign(static_cast<size_t>(rows_), std::u32string(static_cast<size_t>(cols_), U' '));
    s.reverse.assign(static_cast<size_t>(rows_), false);
}

void PtyTerminal::pump(int ms)
{
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    do {
        const int left = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
        pollfd p{master_, POLLIN, 0};
        if (poll(&p, 1, std::max(left, 0)) <= 0) {
            if (left <= 0)
                break;
            continue;
        }
        char buf[65536];
        const ssize_t n = read(master_, buf, sizeof(buf));
        if (n <= 0) {  // EIO: the program closed its side (it exited)
            std::this_thread::sleep_for(std::chrono::milliseconds(std::max(std::min(left, 20), 0)));
            if (left <= 0)
                break;
            continue;
        }
        raw_.append(buf, static_cast<size_t>(n));
        feed(std::string(buf, static_cast<size_t>(n)));
    } while (std::chrono::steady_clock::now() < until);
}

bool PtyTerminal::wait_for(const std::function<bool(const std::vector<std::string>&)>& done, int timeout_ms)
{
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done(lines())) {
        if (std::chrono::steady_clock::now() >= until)
            return false;
        pump(50);
    }
    return true;
}

void PtyTerminal::type(const std::string& bytes)
{
    for (size_t done = 0; done < bytes.size();) {
        const ssize_t n = write(master_, bytes.data() + done, bytes.size() - done);
        if (n <= 0)
            throw std::runtime_error(std::string("write to the pty: ") + strerror(errno));
        done += static_cast<size_t>(n);
    }
}

void PtyTerminal::newline()
{
    Screen& s = screen();
    if (++y_ < rows_)
        return;
    y_ = rows_ - 1;
    s.cells.erase(s.cells.begin());
    s.cells.emplace_back(static_cast<size_t>(cols_), U' ');
    s.reverse.erase(s.reverse.begin());
    s.reverse.push_back(false);
}

void PtyTerminal::put(char32_t c)
{
    if (wrap_pending_) {
        wrap_pending_ = false;
        x_ = 0;
        newline();
    }
    Screen& s = screen();
    s.cells[static_cast<size_t>(y_)][static_cast<size_t>(x_)] = c;
    if (in_reverse_)
        s.reverse[static_cast<size_t>(y_)] = true;
    if (x_ + 1 < cols_)
        ++x_;
    else
        wrap_pending_ = true;
}

void PtyTerminal::feed(const std::string& bytes)
{
    const std::string in = pending_ + bytes;
    pending_.clear();
    for (size_t i = 0; i < in.size();) {
        const char c = in[i];
        if (c == '\x1b') {
            // CSI: ESC [ parameters final.
            size_t j = i + 1;
            if (j >= in.size()) {
                pending_ = in.substr(i);
                return;
            }
            if (in[j] != '[') {
                i = j + 1;  // a two-byte escape: nothing the live views send
                continue;
            }
            ++j;
            while (j < in.size() && ((in[j] >= '0' && in[j] <= '9') || in[j] == ';' || in[j] == '?'))
                ++j;
            if (j >= in.size()) {
                pending_ = in.substr(i);
                return;
            }
            const std::string params = in.substr(i + 2, j - i - 2);
            if (in[j] != 'm')
                wrap_pending_ = false;
            Screen& s = screen();
            switch (in[j]) {
            case 'H': {
                int row = 1, col = 1;
                if (!params.empty())
                    std::sscanf(params.c_str(), "%d;%d", &row, &col);
                y_ = std::min(std::max(row, 1), rows_) - 1;
                x_ = std::min(std::max(col, 1), cols_) - 1;
                if (y_ == 0 && x_ == 0)
                    s.reverse.assign(static_cast<size_t>(rows_), false);  // a new frame
                break;
            }
            case 'K':
                for (int x = x_; x < cols_; ++x)
                    s.cells[static_cast<size_t>(y_)][static_cast<size_t>(x)] = U' ';
                break;
            case 'J':
                if (params == "2") {
                    clear(s);
                } else {
                    for (int x = x_; x < cols_; ++x)
                        s.cells[static_cast<size_t>(y_)][static_cast<size_t>(x)] = U' ';
                    for (int y = y_ + 1; y < rows_; ++y)
                        s.cells[static_cast<size_t>(y)].assign(static_cast<size_t>(cols_), U' ');
                }
                break;
            case 'm': in_reverse_ = params == "7"; break;
            case 'h':
            case 'l':
                if (params == "?1049") {
                    alternate_ = in[j] == 'h';
                    if (alternate_)
                        clear(alt_);
                }
                break;
            default: break;
            }
            i = j + 1;
            continue;
        }
        if (c == '\r') {
            x_ = 0;
            wrap_pending_ = false;
            ++i;
        } else if (c == '\n') {
            wrap_pending_ = false;
            newline();
            ++i;
        } else {
            char32_t cp = 0;
            const size_t len = utf8_at(in, i, cp);
            if (len == 0) {
                pending_ = in.substr(i);
                return;
            }
            if (cp >= 0x20)
                put(cp);
            i += len;
        }
    }
}

std::vector<std::string> PtyTerminal::lines() const
{
    std::vector<std::string> out;
    for (const std::u32string& row : screen().cells) {
        std::string line = utf8(row);
        line.erase(line.find_last_not_of(' ') + 1);
        out.push_back(line);
    }
    return out;
}

std::string PtyTerminal::text() const
{
    std::string out;
    for (const std::string& l : lines())
        out += l + "\n";
    return out;
}

std::vector<int> PtyTerminal::reverse_rows() const
{
    std::vector<int> rows;
    for (int y = 0; y < rows_; ++y)
        if (screen().reverse[static_cast<size_t>(y)])
            rows.push_back(y);
    return rows;
}

int PtyTerminal::wait(int timeout_ms)
{
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!reaped_) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        if (std::chrono::steady_clock::now() >= until)
            return -1;
        pump(50);
    }
    // What it wrote last may still be on its way: read until the pty has nothing more.
    for (size_t before = raw_.size() + 1; before != raw_.size();) {
        before = raw_.size();
        pump(100);
    }
    return status_;
}
