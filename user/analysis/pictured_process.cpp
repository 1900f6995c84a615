#include "analysis/pictured_process.h"

#include "model/process_table.h"

namespace memtrace {

bool PicturedProcess::is_pictured(const Process* process)
{
    if (!process || !process->traced)
        return false;
    if (!pid_)
        pid_ = process->pid;
    return process->pid == pid_;
}

const Process* PicturedProcess::find(const ProcessTable& processes) const
{
    const Process* p = pid_ ? processes.find(pid_) : processes.first();
    return p && p->memory ? p : nullptr;
}

std::string program_path(const AddressSpace& space)
{
    for (const auto& entry : space.regions())
        if (entry.second.elf)
            return entry.second.path;
    return {};
}

}  // namespace memtrace
