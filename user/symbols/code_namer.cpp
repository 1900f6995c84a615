#include "symbols/code_namer.h"

#include <fmt/format.h>

#include "model/segments.h"

namespace memtrace {

std::string PlainCodeNamer::name(const std::string& module, uint64_t vaddr, bool full)
{
    if (!module.empty() && module[0] == '[')  // [vdso], [anonymous]: no file to name
        return full ? fmt::format("{}+0x{:x}", module, vaddr) : module;
    if (!full)
        return fmt::format("[{}]", base_name(module));
    return fmt::format("{}+0x{:x}", base_name(module), vaddr);
}

std::string SymbolizerCodeNamer::name(const std::string& module, uint64_t vaddr, bool full)
{
    CodeLocation where = symbolizer_.locate(module, vaddr);
    if (full)
        return format(where);
    return where.function.empty() ? PlainCodeNamer().name(module, vaddr, false) : where.function;
}

}  // namespace memtrace
