#include "symbols/code_locator.h"

#include <fmt/format.h>

namespace memtrace {

CodeLocator::Key CodeLocator::key(const AddressSpace& space, uint64_t ip)
{
    const Region* r = space.code_region_of(ip);
    if (!r)
        return {0, ip};
    if (!r->code_module) {
        const std::string& module = r->path.empty() ? std::string("[anonymous]") : r->path;
        auto it = module_ids_.find(module);
        if (it != module_ids_.end()) {
            r->code_module = it->second;
        } else if (modules_.size() < kMaxModules) {
            r->code_module = static_cast<uint32_t>(modules_.size());
            modules_.push_back(module);
            module_ids_.emplace(module, r->code_module);
            if (r->elf)
                namer_->expect_build_id(module, r->elf->build_id());
        } else {
            return {0, ip};
        }
    }
    // ELF objects by link-time address (what symbol tables use), other files by file offset,
    // anonymous code (JIT) by its address.
    uint64_t where = r->elf ? ip - r->bias : r->path.empty() ? ip : ip - r->start + r->offset;
    return {r->code_module, where};
}

std::string CodeLocator::name(const Key& key, bool full)
{
    if (key.module == 0 || key.module >= modules_.size())
        return full ? fmt::format("0x{:x}", key.where) : "[unknown]";
    return namer_->name(modules_[key.module], key.where, full);
}

std::string CodeLocator::name(const AddressSpace* space, uint64_t ip, bool full)
{
    if (!space)
        return fmt::format("0x{:x}", ip);
    return name(key(*space, ip), full);
}

}  // namespace memtrace
