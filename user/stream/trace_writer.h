// Writes a trace file (see trace_file.h): records buffered into blocks of about 1 MiB, each
// compressed with zstd and checksummed. Every write is checked: a full disk is an error, never a
// short file that looks complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct ZSTD_CCtx_s;

namespace memtrace {

class TraceWriter {
public:
    // Creates `path` (0666 minus the umask; an existing file only with `force`, never through a
    // symlink, never a FIFO or device: memtrace runs as root) and writes the file header and the
    // META block: `meta` plus the record types. Throws std::runtime_error "cannot write PATH: why".
    TraceWriter(const std::string& path, bool force, nlohmann::json meta, int zstd_level = 3);
    // Without finish(): what is buffered is written, no END block (the file reads as cut short).
    ~TraceWriter();
    TraceWriter(const TraceWriter&) = delete;
    TraceWriter& operator=(const TraceWriter&) = delete;

    void record(const void* data, size_t size);
    // The last block and the END block; the file is on disk when it returns. Throws as above.
    void finish();

    uint64_t records() const { return records_; }
    uint64_t bytes_in() const { return bytes_in_; }        // record bytes given
    uint64_t bytes_written() const { return written_; }    // file size so far
    const std::string& path() const { return path_; }

private:
    void start(nlohmann::json meta);  // the file header and the META block
    void write_block(uint16_t kind, const void* payload, size_t size, uint32_t raw_size, uint32_t records,
                     uint16_t compression);
    void flush_records();
    void write_all(const void* data, size_t size);

    struct FreeCctx {
        void operator()(ZSTD_CCtx_s* cctx) const;
    };

    std::string path_;
    int fd_ = -1;
    int level_;
    std::unique_ptr<ZSTD_CCtx_s, FreeCctx> cctx_;
    std::vector<unsigned char> raw_, compressed_;
    uint32_t block_records_ = 0;
    uint64_t records_ = 0, bytes_in_ = 0, written_ = 0, blocks_ = 0;
    bool finished_ = false;
};

}  // namespace memtrace
