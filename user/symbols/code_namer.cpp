#include "symbols/code_namer.h"

#include <fmt/format.h>

#include "model/elf_image.h"
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

void SymbolizerCodeNamer::expect_build_id(const std::string& module, const std::string& build_id)
{
    if (!build_id.empty())
        expected_.emplace(module, build_id);
}

const std::string& SymbolizerCodeNamer::source_of(const std::string& module)
{
    auto known = sources_.find(module);
    if (known != sources_.end())
        return known->second;
    std::string source = module;
    auto want = expected_.find(module);
    if (want != expected_.end() && !module.empty() && module[0] == '/') {
        auto image = ElfImage::load(module);
        if (!image || image->build_id() != want->second) {
            std::string hex = build_id_hex(want->second);
            std::string debug = "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
            auto debug_image = ElfImage::load(debug);
            if (debug_image && debug_image->build_id() == want->second) {
                source = debug;
            } else {
                source.clear();
                mismatches_.push_back(fmt::format("{} (build ID {})", module, hex));
            }
        }
    }
    return sources_.emplace(module, std::move(source)).first->second;
}

std::string SymbolizerCodeNamer::name(const std::string& module, uint64_t vaddr, bool full)
{
    const std::string& source = source_of(module);
    if (source.empty())  // not the build that ran: an offset is all that is true
        return PlainCodeNamer().name(module, vaddr, full);
    CodeLocation where = symbolizer_.locate(source, vaddr);
    where.module = module;
    if (full)
        return format(where);
    return where.function.empty() ? PlainCodeNamer().name(module, vaddr, false) : where.function;
}

std::vector<std::string> SymbolizerCodeNamer::frames(const std::string& module, uint64_t vaddr)
{
    const std::string& source = source_of(module);
    if (source.empty())
        return {};
    return frame_names(symbolizer_.locate(source, vaddr));
}

std::string SymbolizerCodeNamer::file_for(const std::string& module)
{
    const std::string& source = source_of(module);
    // A separate debug file has no .eh_frame to unwind with: only the mapped build itself serves.
    return source == module ? module : std::string();
}

}  // namespace memtrace
