// The trace file (`memtrace record`, `memtrace report`): the record stream, exactly as the pipeline
// consumed it, in checksummed blocks.
//
//   file header   "MEMTRACE", u32 version, u32 header size, u64 creation time (ns since the epoch)
//   blocks        struct TraceBlockHeader, then `stored_size` bytes of payload:
//     META     JSON: what recorded it, the command, the options, and every record type's name and
//              size (the file describes itself)
//     RECORDS  zstd frame of records, each as u32 length (little endian) then its bytes
//     END      JSON: how many records and blocks came before it (a file without it was cut short)
//
// Each block's CRC-32 covers its header fields and its payload. A reader stops at the first block
// that is incomplete or damaged and still reports every record before it.
#pragma once

#include <cstdint>

namespace memtrace {

inline constexpr char kTraceMagic[8] = {'M', 'E', 'M', 'T', 'R', 'A', 'C', 'E'};
inline constexpr uint32_t kTraceVersion = 1;
inline constexpr uint32_t kTraceBlockMagic = 0x3142544d;  // "MTB1"
// Bounds a reader holds a block to: nothing memtrace writes is near them, so a size beyond them is
// damage, not a big block.
inline constexpr uint32_t kTraceMaxStored = 64u << 20;
inline constexpr uint32_t kTraceMaxRaw = 64u << 20;
inline constexpr uint32_t kTraceBlockRaw = 1u << 20;  // what the writer puts in one block

enum class TraceBlockKind : uint16_t { Meta = 1, Records = 2, End = 3 };

struct TraceFileHeader {
    char magic[8];
    uint32_t version;
    uint32_t header_size;  // sizeof(TraceFileHeader): a later version may append fields
    uint64_t created_ns;
    uint64_t reserved;
};
static_assert(sizeof(TraceFileHeader) == 32, "trace file header is 32 bytes");

struct TraceBlockHeader {
    uint32_t magic;        // kTraceBlockMagic
    uint16_t kind;         // TraceBlockKind
    uint16_t compression;  // 0 none, 1 zstd
    uint32_t stored_size;  // payload bytes that follow
    uint32_t raw_size;     // after decompression
    uint32_t records;      // records in the payload (RECORDS blocks)
    uint32_t crc32;        // of the 20 bytes above and the payload
};
static_assert(sizeof(TraceBlockHeader) == 24, "trace block header is 24 bytes");

enum TraceCompression : uint16_t { kTraceUncompressed = 0, kTraceZstd = 1 };

}  // namespace memtrace
