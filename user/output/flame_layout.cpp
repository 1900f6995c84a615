#include "flame_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "xml_text.h"

namespace memtrace {

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// The call tree: children by name, so siblings come out sorted and equal names merge.
struct CallNode {
    uint64_t count = 0;
    std::map<std::string, std::unique_ptr<CallNode>> children;
};

CallNode& child_of(CallNode& parent, std::string name)
{
    auto& slot = parent.children[std::move(name)];
    if (!slot)
        slot = std::make_unique<CallNode>();
    return *slot;
}

void add_stack(CallNode& root, std::string_view stack, uint64_t count)
{
    root.count = saturating_add(root.count, count);
    CallNode* node = &root;
    for (size_t depth = 1;; ++depth) {
        size_t cut = stack.find(';');
        bool more = cut != std::string_view::npos;
        // Past the depth bound the rest of the stack is one frame: recursion below stays bounded.
        std::string name = depth == kMaxFlameDepth && more ? std::string("[deeper frames]")
                                                           : clean_utf8(stack.substr(0, cut), kMaxFlameNameBytes);
        node = &child_of(*node, std::move(name));
        node->count = saturating_add(node->count, count);
        if (!more || depth == kMaxFlameDepth)
            return;
        stack.remove_prefix(cut + 1);
    }
}

// Frames drawn when frames below `min_count` are merged; counting stops past `limit`.
size_t count_drawn(const CallNode& node, uint64_t min_count, size_t limit, size_t drawn = 0)
{
    ++drawn;
    uint64_t merged = 0;
    for (const auto& [name, child] : node.children) {
        if (drawn > limit)
            return drawn;
        if (child->count >= min_count)
            drawn = count_drawn(*child, min_count, limit, drawn);
        else
            merged = saturating_add(merged, child->count);
    }
    return drawn + (merged && merged >= min_count);
}

// The smallest count a frame needs to be drawn: wide enough, and few enough frames in all.
uint64_t choose_min_count(const CallNode& root, double width_px, double min_frame_width_px, size_t max_frames)
{
    long double by_width = std::ceil(static_cast<long double>(root.count) * std::max(min_frame_width_px, 0.0) /
                                     std::max(width_px, 1.0));
    uint64_t lo = by_width < 1 ? 1 : by_width >= root.count ? root.count : static_cast<uint64_t>(by_width);
    max_frames = std::max<size_t>(max_frames, 1);
    if (count_drawn(root, lo, max_frames) <= max_frames)
        return lo;
    // count_drawn(hi) is 1 (the root alone); keep lo failing and hi passing.
    uint64_t hi = saturating_add(root.count, 1);
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        (count_drawn(root, mid, max_frames) <= max_frames ? hi : lo) = mid;
    }
    return hi;
}

struct Emitter {
    uint64_t min_count;
    FlameLayout& out;

    void emit(const std::string& name, const CallNode& node, uint64_t start, uint32_t depth)
    {
        out.frames.push_back({name, node.count, start, depth, 0});
        out.levels = std::max(out.levels, depth + 1);
        uint64_t next = start;
        uint64_t merged_count = 0, merged_frames = 0;
        for (const auto& [child_name, child] : node.children) {
            if (child->count < min_count) {
                merged_count = saturating_add(merged_count, child->count);
                ++merged_frames;
                continue;
            }
            emit(child_name, *child, next, depth + 1);
            next = saturating_add(next, child->count);
        }
        if (merged_count && merged_count >= min_count) {
            std::string label = fmt::format("[{} frames merged]", merged_frames);
            out.frames.push_back({label, merged_count, next, depth + 1, merged_frames});
            out.levels = std::max(out.levels, depth + 2);
        }
    }
};

}  // namespace

FlameLayout layout_flame(const std::unordered_map<std::string, uint64_t>& stacks, double width_px,
                         double min_frame_width_px, size_t max_frames)
{
    CallNode root;
    for (const auto& [stack, count] : stacks)
        if (count)
            add_stack(root, stack, count);
    FlameLayout layout;
    layout.total = root.count;
    if (!root.count)
        return layout;
    layout.min_count = choose_min_count(root, width_px, min_frame_width_px, max_frames);
    Emitter{layout.min_count, layout}.emit("all", root, 0, 0);
    return layout;
}

}  // namespace memtrace
