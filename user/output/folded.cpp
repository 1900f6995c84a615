#include "output/folded.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

namespace memtrace {

uint64_t write_folded(int fd, const std::unordered_map<std::string, uint64_t>& stacks)
{
    std::vector<std::pair<std::string, uint64_t>> lines(stacks.begin(), stacks.end());
    std::sort(lines.begin(), lines.end());
    fmt::memory_buffer out;
    auto flush = [&] {
        const char* p = out.data();
        size_t left = out.size();
        while (left) {
            ssize_t n = write(fd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw std::runtime_error(fmt::format("writing folded stacks: {}", strerror(errno)));
            p += n;
            left -= static_cast<size_t>(n);
        }
        out.clear();
    };
    for (const auto& [stack, count] : lines) {
        fmt::format_to(std::back_inserter(out), "{} {}\n", stack, count);
        if (out.size() > (1 << 16))
            flush();
    }
    flush();
    return lines.size();
}

}  // namespace memtrace
