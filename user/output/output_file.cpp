#include "output/output_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace memtrace {

int open_output_file(const std::string& path, bool append, bool must_be_new)
{
    // O_NONBLOCK: opening a FIFO without a reader fails instead of hanging; it is cleared below.
    int fd = open(path.c_str(),
                  O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (append ? O_APPEND : 0) |
                      (must_be_new ? O_EXCL : 0),
                  0666);
    if (fd < 0) {
        int err = errno;
        throw std::runtime_error(fmt::format("cannot write {}: {}", path,
                                             err == ELOOP    ? "it is a symbolic link (not followed, for safety)"
                                             : err == EEXIST ? "it exists (--force overwrites it)"
                                                             : strerror(err)));
    }
    if (fd <= STDERR_FILENO) {
        // 0, 1 or 2 were closed when memtrace started: move the file out of their way.
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        int err = errno;
        close(fd);
        if (moved < 0)
            throw std::runtime_error(fmt::format("cannot write {}: {}", path, strerror(err)));
        fd = moved;
    }
    struct stat st {};
    const char* refusal = nullptr;
    if (fstat(fd, &st) != 0)
        refusal = strerror(errno);
    else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
        refusal = "not a regular file";
    else if (S_ISREG(st.st_mode) && !append && ftruncate(fd, 0) != 0)
        refusal = strerror(errno);
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        refusal = strerror(errno);
    if (refusal) {
        close(fd);
        throw std::runtime_error(fmt::format("cannot write {}: {}", path, refusal));
    }
    return fd;
}

void write_text(int fd, std::string_view text, const char* what)
{
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(fmt::format("cannot write {}: {}", what, n < 0 ? strerror(errno) : "short write"));
        text.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace memtrace
