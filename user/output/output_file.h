// Files memtrace writes while running as root (--folded, --command-output): opened so that a
// symlink or a FIFO planted at the path by someone else is refused, never followed or blocked on.
#pragma once

#include <string>
#include <string_view>

namespace memtrace {

// Opens `path` for writing: created with mode 0666 minus the umask when missing, truncated
// (or appended to) when it is a regular file; a character device such as /dev/null is taken as is.
// Refuses a symlink as the last component (O_NOFOLLOW), FIFOs, sockets and directories; with
// `must_be_new`, any file that is already there. Returns the descriptor (close-on-exec, never 0, 1
// or 2: a closed stdout must not turn a file into memtrace's report); throws std::runtime_error
// "cannot write PATH: why".
int open_output_file(const std::string& path, bool append = false, bool must_be_new = false);

// Writes all of `text` to `fd` (a closed pipe is EPIPE: memtrace ignores SIGPIPE). Throws
// std::runtime_error "cannot write WHAT: why" when it cannot.
void write_text(int fd, std::string_view text, const char* what);

}  // namespace memtrace
