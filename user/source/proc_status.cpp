#include "source/proc_status.h"

#include <charconv>
#include <cstdint>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <fmt/format.h>

namespace memtrace {
namespace {

constexpr int64_t kKibPerPage = 4;

// "   1234 kB" -> pages; nullopt unless a whole number of KiB that fits.
std::optional<int64_t> kib_to_pages(std::string_view value)
{
    size_t first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return std::nullopt;
    value.remove_prefix(first);
    int64_t kib = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kib);
    // Bounded so that the report's bytes (pages * 4096) cannot overflow.
    if (ec != std::errc() || kib < 0 || kib > INT64_MAX / 1024 ||
        std::string_view(end, value.data() + value.size() - end) != " kB")
        return std::nullopt;
    return kib / kKibPerPage;
}

}  // namespace

std::optional<ResidentPages> parse_proc_status(std::string_view text)
{
    struct Field {
        std::string_view key;
        int64_t ResidentPages::*member;
        bool seen = false;
    };
    std::array<Field, 5> fields{{{"RssAnon", &ResidentPages::anon},
                                 {"RssFile", &ResidentPages::file},
                                 {"RssShmem", &ResidentPages::shmem},
                                 {"VmSwap", &ResidentPages::swap},
                                 {"VmHWM", &ResidentPages::peak}}};
    ResidentPages pages;
    while (!text.empty()) {
        size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        for (Field& f : fields) {
            if (line.substr(0, colon) != f.key)
                continue;
            std::optional<int64_t> value = kib_to_pages(line.substr(colon + 1));
            if (!value || f.seen)
                return std::nullopt;
            pages.*f.member = *value;
            f.seen = true;
        }
    }
    for (const Field& f : fields)
        if (!f.seen)
            return std::nullopt;
    return pages;
}

std::optional<ResidentPages> read_resident_pages(int pid)
{
    // One read(2), no iostream: this runs for every live traced process each interval.
    std::string path = fmt::format("/proc/{}/status", pid);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::array<char, 8192> buf;
    ssize_t n = ::read(fd, buf.data(), buf.size());
    ::close(fd);
    if (n <= 0)
        return std::nullopt;
    return parse_proc_status(std::string_view(buf.data(), static_cast<size_t>(n)));
}

}  // namespace memtrace
