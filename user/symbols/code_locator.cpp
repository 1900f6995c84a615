#include "symbols/code_locator.h"

#include <fmt/format.h>

namespace memtrace {
namespace {

constexpr const char* kJitPrefix = "[jit] ";  // a module named after a JIT symbol

bool is_jit_symbol(const std::string& module) { return module.rfind(kJitPrefix, 0) == 0; }
bool is_jit_region(const std::string& module) { return module.rfind("[jit ", 0) == 0; }

// "[jit 7f00-7f10]#<address space>" -> "[jit 7f00-7f10]": two processes' JIT code at the same
// addresses is not the same code.
std::string without_space(const std::string& module) { return module.substr(0, module.find('#')); }

}  // namespace

uint32_t CodeLocator::intern(const std::string& module, const Region* elf_region)
{
    auto it = module_ids_.find(module);
    if (it != module_ids_.end())
        return it->second;
    if (modules_.size() >= kMaxModules)
        return 0;
    uint32_t id = static_cast<uint32_t>(modules_.size());
    modules_.push_back(module);
    module_ids_.emplace(module, id);
    if (elf_region && elf_region->elf)
        namer_->expect_build_id(module, elf_region->elf->build_id());
    return id;
}

CodeLocator::Key CodeLocator::key(const std::shared_ptr<MemoryMap>& memory, uint64_t ip)
{
    const Region* r = memory ? memory->space.code_region_of(ip) : nullptr;
    if (!r)
        return {0, ip};
    if (r->path.empty()) {
        // Anonymous code is a JIT's: by the name its runtime gave it, or by its mapping.
        if (const JitSymbol* sym = memory->jit.find(ip))
            return {intern(kJitPrefix + sym->name, nullptr), ip - sym->start};
        if (!r->exec)  // not executable: a stale or bogus ip
            return {intern(fmt::format("[anonymous {:x}-{:x}]", r->start, r->end), nullptr), ip - r->start};
        uint32_t id = intern(fmt::format("[jit {:x}-{:x}]#{}", r->start, r->end, static_cast<const void*>(memory.get())),
                             nullptr);
        if (id)
            jit_regions_.try_emplace(id, JitRegion{memory, r->start});
        return {id, ip - r->start};
    }
    if (!r->code_module)
        r->code_module = intern(r->path, r);
    if (!r->code_module)
        return {0, ip};
    // ELF objects by link-time address (what symbol tables use), other files by file offset.
    uint64_t where = r->elf ? ip - r->bias : ip - r->start + r->offset;
    return {r->code_module, where};
}

std::string CodeLocator::name(const Key& key, bool full)
{
    if (key.module == 0 || key.module >= modules_.size())
        return full ? fmt::format("0x{:x}", key.where) : "[unknown]";
    const std::string& module = modules_[key.module];
    if (is_jit_symbol(module)) {
        std::string symbol = module.substr(std::string(kJitPrefix).size());
        return full ? fmt::format("{}+0x{:x} [jit]", symbol, key.where) : symbol;
    }
    if (is_jit_region(module)) {
        if (const JitSymbol* sym = jit_symbol(key))
            return full ? fmt::format("{}+0x{:x} [jit]", sym->name, jit_regions_.at(key.module).start + key.where - sym->start)
                        : sym->name;
        return full ? fmt::format("{}+0x{:x}", without_space(module), key.where) : "[jit]";
    }
    if (module.rfind("[anonymous ", 0) == 0)
        return full ? fmt::format("{}+0x{:x}", module, key.where) : "[anonymous]";
    return namer_->name(module, key.where, full);
}

std::string CodeLocator::name(const std::shared_ptr<MemoryMap>& memory, uint64_t ip, bool full)
{
    if (!memory)
        return fmt::format("0x{:x}", ip);
    return name(key(memory, ip), full);
}

const JitSymbol* CodeLocator::jit_symbol(const Key& key) const
{
    auto it = jit_regions_.find(key.module);
    return it == jit_regions_.end() ? nullptr : it->second.memory->jit.find(it->second.start + key.where);
}

std::vector<std::string> CodeLocator::frame_names(const Key& key)
{
    if (key.module == 0 || key.module >= modules_.size() || modules_[key.module][0] == '[')
        return {name(key, false)};
    std::vector<std::string> names = namer_->frames(modules_[key.module], key.where);
    if (names.empty())
        names.push_back(name(key, false));
    return names;
}

}  // namespace memtrace
