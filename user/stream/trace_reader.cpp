#include "stream/trace_reader.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include "stream/trace_file.h"

namespace memtrace {

TraceReader::OwnedFd::~OwnedFd()
{
    if (fd >= 0)
        ::close(fd);
}

void TraceReader::FreeDctx::operator()(ZSTD_DCtx_s* dctx) const { ZSTD_freeDCtx(dctx); }

TraceReader::TraceReader(const std::string& path) : name_(path)
{
    owned_.fd = fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0)
        throw std::runtime_error(fmt::format("cannot read {}: {}", path, strerror(errno)));
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
        throw std::runtime_error(fmt::format("cannot read {}: not a regular file", path));
    open_stream();
}

TraceReader::TraceReader(int fd, std::string name) : name_(std::move(name)), fd_(fd) { open_stream(); }

TraceReader::~TraceReader() = default;

bool TraceReader::read_exact(void* into, size_t size, size_t& got)
{
    got = 0;
    auto* p = static_cast<unsigned char*>(into);
    while (got < size) {
        ssize_t n = ::pread(fd_, p + got, size - got, static_cast<off_t>(offset_ + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::runtime_error(fmt::format("cannot read {}: {}", name_, strerror(errno)));
        if (n == 0)
            break;
        got += static_cast<size_t>(n);
    }
    offset_ += got;
    return got == size;
}

void TraceReader::open_stream()
{
    dctx_.reset(ZSTD_createDCtx());
    if (!dctx_)
        throw std::runtime_error("zstd: cannot make a decompression context");
    TraceFileHeader header{};
    size_t got = 0;
    if (!read_exact(&header, sizeof(header), got)) {
        if (got == 0)
            throw std::runtime_error(fmt::format("{} is empty: not a memtrace trace", name_));
        throw std::runtime_error(fmt::format("{} is not a memtrace trace (too short for its header)", name_));
    }
    if (std::memcmp(header.magic, kTraceMagic, sizeof(header.magic)) != 0)
        throw std::runtime_error(fmt::format("{} is not a memtrace trace", name_));
    if (header.version > kTraceVersion || header.version == 0)
        throw std::runtime_error(fmt::format("{} is a trace of format version {}; this memtrace reads version {} "
                                             "(record it again, or report it with a newer memtrace)",
                                             name_, header.version, kTraceVersion));
    if (header.header_size < sizeof(header) || header.header_size > 4096)
        throw std::runtime_error(fmt::format("{}: damaged header (header size {})", name_, header.header_size));
    offset_ = header.header_size;
    TraceBlockHeader block{};
    std::vector<unsigned char> payload;
    std::string problem;
    if (!read_block(block, payload, problem))
        throw std::runtime_error(fmt::format("{}: {}", name_, problem));
    if (block.kind != static_cast<uint16_t>(TraceBlockKind::Meta))
        throw std::runtime_error(fmt::format("{}: damaged (its first block is not the description)", name_));
    try {
        meta_ = nlohmann::json::parse(payload.begin(), payload.end());
    } catch (const nlohmann::json::exception&) {
        throw std::runtime_error(fmt::format("{}: damaged description block", name_));
    }
    if (!meta_.is_object())
        throw std::runtime_error(fmt::format("{}: damaged description block", name_));
}

bool TraceReader::read_block(TraceBlockHeader& h, std::vector<unsigned char>& payload, std::string& problem)
{
    const uint64_t at = offset_;
    size_t got = 0;
    if (!read_exact(&h, sizeof(h), got)) {
        problem = got == 0 ? "ends without its END block: memtrace record did not finish (killed, or the disk was full)"
                           : fmt::format("ends in the middle of a block at offset {}: memtrace record did not "
                                         "finish (killed, or the disk was full)",
                                         at);
        return false;
    }
    if (h.magic != kTraceBlockMagic) {
        problem = fmt::format("damaged at offset {} (no block starts there)", at);
        return false;
    }
    if (h.stored_size > kTraceMaxStored || h.raw_size > kTraceMaxRaw ||
        (h.compression == kTraceUncompressed && h.raw_size != h.stored_size) || h.compression > kTraceZstd) {
        problem = fmt::format("damaged block at offset {} (absurd sizes: {} stored, {} raw)", at, h.stored_size,
                              h.raw_size);
        return false;
    }
    payload.resize(h.stored_size);
    if (!read_exact(payload.data(), payload.size(), got)) {
        problem = fmt::format("ends in the middle of a block at offset {}: memtrace record did not finish (killed, "
                              "or the disk was full)",
                              at);
        return false;
    }
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(&h), offsetof(TraceBlockHeader, crc32));
    crc = crc32(crc, payload.data(), static_cast<uInt>(payload.size()));
    if (crc != h.crc32) {
        problem = fmt::format("damaged block at offset {} (checksum mismatch)", at);
        return false;
    }
    if (h.compression == kTraceZstd) {
        std::vector<unsigned char> raw(h.raw_size);
        size_t n = ZSTD_decompressDCtx(dctx_.get(), raw.data(), raw.size(), payload.data(),
                                       payload.size());
        if (ZSTD_isError(n) || n != h.raw_size) {
            problem = fmt::format("damaged block at offset {} (does not decompress)", at);
            return false;
        }
        payload.swap(raw);
    }
    return true;
}

TraceReader::Ending TraceReader::read(const std::function<void(const void* data, size_t size)>& sink)
{
    Ending ending;
    TraceBlockHeader h{};
    std::vector<unsigned char> payload;
    while (read_block(h, payload, ending.problem)) {
        if (h.kind == static_cast<uint16_t>(TraceBlockKind::End)) {
            ending.complete = true;
            return ending;
        }
        if (h.kind != static_cast<uint16_t>(TraceBlockKind::Records))
            continue;  // a kind a later version adds: not ours to read
        // Records as the block holds them, each length checked against what is left.
        size_t at = 0;
        uint32_t in_block = 0;
        while (at < payload.size()) {
            uint32_t length = 0;
            if (payload.size() - at < sizeof(length)) {
                ending.problem = "damaged block: a record is cut short";
                return ending;
            }
            std::memcpy(&length, payload.data() + at, sizeof(length));
            at += sizeof(length);
            if (length > payload.size() - at) {
                ending.problem = "damaged block: a record claims more bytes than its block has";
                return ending;
            }
            sink(payload.data() + at, length);
            at += length;
            ++ending.records;
            ++in_block;
        }
        if (in_block != h.records) {
            ending.problem = "damaged block: its record count does not match";
            return ending;
        }
    }
    return ending;
}

}  // namespace memtrace
