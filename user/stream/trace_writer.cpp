#include "stream/trace_writer.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include "output/output_file.h"
#include "stream/record.h"
#include "stream/trace_file.h"

namespace memtrace {
namespace {

uint64_t realtime_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

// What a trace file says of itself: each record type's name and the size of its fixed part.
nlohmann::json record_types()
{
    nlohmann::json types = nlohmann::json::object();
    for (uint16_t t = 1; t < MT_REC_TYPE_MAX; ++t)
        if (size_t size = record_min_size(t))
            types[std::to_string(t)] = {{"name", record_type_name(t)}, {"size", size}};
    return types;
}

}  // namespace

void TraceWriter::FreeCctx::operator()(ZSTD_CCtx_s* cctx) const { ZSTD_freeCCtx(cctx); }

TraceWriter::TraceWriter(const std::string& path, bool force, nlohmann::json meta, int zstd_level)
    : path_(path), level_(zstd_level), cctx_(ZSTD_createCCtx())
{
    if (!cctx_)
        throw std::runtime_error("zstd: cannot make a compression context");
    fd_ = open_output_file(path, false, !force);
    try {
        start(std::move(meta));
    } catch (...) {
        close(fd_);  // no destructor runs for a constructor that throws
        throw;
    }
}

void TraceWriter::start(nlohmann::json meta)
{
    raw_.reserve(kTraceBlockRaw + 64 * 1024);
    TraceFileHeader header{};
    std::memcpy(header.magic, kTraceMagic, sizeof(header.magic));
    header.version = kTraceVersion;
    header.header_size = sizeof(header);
    header.created_ns = realtime_ns();
    write_all(&header, sizeof(header));
    meta["format"] = "memtrace trace";
    meta["version"] = kTraceVersion;
    meta["record_types"] = record_types();
    std::string text = meta.dump();
    write_block(static_cast<uint16_t>(TraceBlockKind::Meta), text.data(), text.size(),
                static_cast<uint32_t>(text.size()), 0, kTraceUncompressed);
}

TraceWriter::~TraceWriter()
{
    if (fd_ >= 0) {
        try {
            if (!finished_)
                flush_records();  // what came, without an END block: it reads as cut short
        } catch (const std::runtime_error&) {
        }
        close(fd_);
    }
}

void TraceWriter::write_all(const void* data, size_t size)
{
    const auto* p = static_cast<const unsigned char*>(data);
    while (size) {
        ssize_t n = ::write(fd_, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(fmt::format("cannot write {}: {}", path_, n < 0 ? strerror(errno) : "short write"));
        p += n;
        size -= static_cast<size_t>(n);
        written_ += static_cast<uint64_t>(n);
    }
}

void TraceWriter::write_block(uint16_t kind, const void* payload, size_t size, uint32_t raw_size, uint32_t records,
                              uint16_t compression)
{
    TraceBlockHeader h{};
    h.magic = kTraceBlockMagic;
    h.kind = kind;
    h.compression = compression;
    h.stored_size = static_cast<uint32_t>(size);
    h.raw_size = raw_size;
    h.records = records;
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(&h), offsetof(TraceBlockHeader, crc32));
    h.crc32 = static_cast<uint32_t>(crc32(crc, static_cast<const Bytef*>(payload), static_cast<uInt>(size)));
    write_all(&h, sizeof(h));
    write_all(payload, size);
    ++blocks_;
}

void TraceWriter::record(const void* data, size_t size)
{
    uint32_t length = static_cast<uint32_t>(size);
    const auto* bytes = static_cast<const unsigned char*>(data);
    raw_.insert(raw_.end(), reinterpret_cast<const unsigned char*>(&length),
                reinterpret_cast<const unsigned char*>(&length) + sizeof(length));
    raw_.insert(raw_.end(), bytes, bytes + size);
    ++block_records_;
    ++records_;
    bytes_in_ += size;
    if (raw_.size() >= kTraceBlockRaw)
        flush_records();
}

void TraceWriter::flush_records()
{
    if (raw_.empty())
        return;
    compressed_.resize(ZSTD_compressBound(raw_.size()));
    size_t n = ZSTD_compressCCtx(cctx_.get(), compressed_.data(), compressed_.size(), raw_.data(),
                                 raw_.size(), level_);
    if (ZSTD_isError(n))
        throw std::runtime_error(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
    write_block(static_cast<uint16_t>(TraceBlockKind::Records), compressed_.data(), n,
                static_cast<uint32_t>(raw_.size()), block_records_, kTraceZstd);
    raw_.clear();
    block_records_ = 0;
}

void TraceWriter::finish()
{
    if (finished_)
        return;
    flush_records();
    std::string end = nlohmann::json{{"records", records_}, {"blocks", blocks_}}.dump();
    write_block(static_cast<uint16_t>(TraceBlockKind::End), end.data(), end.size(),
                static_cast<uint32_t>(end.size()), 0, kTraceUncompressed);
    // The disk has it, or memtrace says it does not: a delayed write error shows up here.
    if (fsync(fd_) != 0 && errno != EINVAL)
        throw std::runtime_error(fmt::format("cannot write {}: {}", path_, strerror(errno)));
    finished_ = true;
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", path_, strerror(errno)));
}

}  // namespace memtrace
