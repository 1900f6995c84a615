#include "model/object_table.h"

namespace memtrace {

void ObjectTable::add(ObjectInfo info)
{
    auto key = std::make_tuple(info.dev, info.ino, info.path);
    auto it = objects_.find(key);
    if (it != objects_.end()) {
        it->second = std::move(info);
        return;
    }
    if (objects_.size() < kMaxObjects)
        objects_.emplace(key, std::move(info));
}

const ObjectInfo* ObjectTable::find(uint64_t dev, uint64_t ino, const std::string& path) const
{
    auto it = objects_.find(std::make_tuple(dev, ino, path));
    return it == objects_.end() ? nullptr : &it->second;
}

}  // namespace memtrace
