// The files the traced processes map, by identity (device and inode) as MT_REC_OBJECT records
// describe them. Attribution takes ELF layouts from here, never from the disk: what the live side
// read when the file was mapped is what a replay of the recording uses too.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "model/elf_image.h"

namespace memtrace {

struct ObjectInfo {
    uint64_t dev = 0, ino = 0;  // dev in the kernel's encoding (major << 20 | minor)
    uint64_t size = 0, mtime_ns = 0;
    std::string path;           // as the process mapped it
    bool readable = true;       // false: memtrace could not read the file the process mapped
    std::shared_ptr<const ElfImage> elf;  // null: not an ELF file (or unreadable)
};

// The kernel's dev_t encoding of a major:minor pair, as mt_mmap.dev and mt_object.dev hold it.
inline uint64_t kernel_dev(uint32_t major, uint32_t minor) { return (uint64_t{major} << 20) | minor; }

class ObjectTable {
public:
    // A long trace meets new files without end: past this many, new ones are not kept (their
    // mappings are then attributed as plain files).
    static constexpr size_t kMaxObjects = 1 << 16;

    // Adds or replaces the entry for (info.dev, info.ino, info.path). The path is part of what a
    // file is: an inode number freed by unlink is reused by the next file made, mapped or not.
    void add(ObjectInfo info);
    const ObjectInfo* find(uint64_t dev, uint64_t ino, const std::string& path) const;
    size_t size() const { return objects_.size(); }

private:
    std::map<std::tuple<uint64_t, uint64_t, std::string>, ObjectInfo> objects_;
};

}  // namespace memtrace
