#include "model/object_table.h"

namespace memtrace {

void ObjectTable::add(ObjectInfo info)
{
    auto key = std::make_pair(info.dev, info.ino);
    auto it = objects_.find(key);
    if (it != objects_.end()) {
        it->second = std::move(info);
        return;
    }
    if (objects_.size() < kMaxObjects)
        objects_.emplace(key, std::move(info));
}

const ObjectInfo* ObjectTable::find(uint64_t dev, uint64_t ino) const
{
    auto it = objects_.find({dev, ino});
    return it == objects_.end() ? nullptr : &it->second;
}

}  // namespace memtrace
