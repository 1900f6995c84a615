// Reads a trace file (see trace_file.h) block by block, so that a trace of any size is read in
// bounded memory. Every size, checksum and length is checked before it is trusted; a file that
// ends early or is damaged yields the records before the problem, and the problem in one line.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct ZSTD_DCtx_s;

namespace memtrace {

class TraceReader {
public:
    // Opens the file and reads its header and META block. Throws std::runtime_error with one line
    // naming what is wrong: cannot open, empty, not a memtrace trace, a version this build does
    // not read, a damaged description.
    explicit TraceReader(const std::string& path);
    // The same over an open descriptor (not closed here); `name` is what messages call it.
    TraceReader(int fd, std::string name);
    ~TraceReader();
    TraceReader(const TraceReader&) = delete;
    TraceReader& operator=(const TraceReader&) = delete;

    const nlohmann::json& meta() const { return meta_; }

    struct Ending {
        bool complete = false;  // the END block came, and everything before it was whole
        std::string problem;    // else what was wrong, in one line
        uint64_t records = 0;   // handed to the sink
    };
    // Hands every record, in order, to `sink` (a pointer into a block, valid during the call).
    Ending read(const std::function<void(const void* data, size_t size)>& sink);

private:
    void open_stream();
    // Reads exactly `size` bytes at the current offset; false at the end of the file.
    bool read_exact(void* into, size_t size, size_t& got);
    bool read_block(struct TraceBlockHeader& header, std::vector<unsigned char>& payload, std::string& problem);

    struct OwnedFd {
        int fd = -1;
        ~OwnedFd();
    };
    struct FreeDctx {
        void operator()(ZSTD_DCtx_s* dctx) const;
    };

    std::string name_;
    OwnedFd owned_;  // the file opened by path (a constructor that throws still closes it)
    int fd_ = -1;
    uint64_t offset_ = 0;
    nlohmann::json meta_;
    std::unique_ptr<ZSTD_DCtx_s, FreeDctx> dctx_;
};

}  // namespace memtrace
