// Which process the pictures show: the first one an in-scope fault or mapping call comes from
// (the trace's target, unless --pid picks another one), and which of its objects is its program.
#pragma once

#include <cstdint>
#include <string>

namespace memtrace {

class AddressSpace;
class ProcessTable;
struct Process;

class PicturedProcess {
public:
    // For each in-scope event's process: true when it is the pictured one (the first one decides).
    bool is_pictured(const Process* process);
    uint32_t pid() const { return pid_; }
    // At a report: the pictured process, or before any event chose one, the trace's target.
    const Process* find(const ProcessTable& processes) const;

private:
    uint32_t pid_ = 0;
};

// The path of the executable mapped in `space`: the object of its lowest ELF mapping (the
// kernel maps the program below its heap, and the libraries far above it); "" when there is none.
std::string program_path(const AddressSpace& space);

}  // namespace memtrace
