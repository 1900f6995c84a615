// --events: one line per record, with the segment each fault was attributed to.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/process_table.h"
#include "stream/record.h"

namespace memtrace {

class EventPrinter {
public:
    EventPrinter(std::FILE* out, const SegmentTable& segments, uint64_t start_ns = 0)
        : out_(out), segments_(segments), start_ns_(start_ns)
    {
    }
    ~EventPrinter()
    {
        try {
            flush();
        } catch (...) {  // already reported, or nowhere left to report it
        }
    }
    EventPrinter(const EventPrinter&) = delete;
    EventPrinter& operator=(const EventPrinter&) = delete;

    void print(const Record& record, SegmentId segment, const Process& process);
    // Times are printed relative to this (the trace's start).
    void set_origin(uint64_t start_ns) { start_ns_ = start_ns; }
    void print_header();
    // Throws std::runtime_error when the output is gone (memtrace --events | head).
    void flush();

private:
    const std::string& who(const mt_header& h, const Process& process);
    const std::string& padded_label(SegmentId segment);

    std::FILE* out_;
    const SegmentTable& segments_;
    uint64_t start_ns_;
    fmt::memory_buffer buffer_;
    uint32_t who_tid_ = 0, who_tgid_ = 0;
    std::string who_comm_, who_;
    std::vector<std::string> labels_;  // padded segment labels by id
};

// "rw-" from PROT_* bits; "PRIVATE|ANONYMOUS|STACK" from MAP_* bits.
std::string prot_string(uint64_t prot);
std::string map_flags_string(uint64_t flags);

}  // namespace memtrace
