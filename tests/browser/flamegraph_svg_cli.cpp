// Test helper: a flame graph SVG (or an HTML page holding it twice) from a folded-stacks file, by
// memtrace's own writer. The browser tests load what it writes.
//
//   flamegraph_svg_cli [--title T] [--subtitle S] [--unit U] [--width PX] [--min-width PX]
//                      [--max-frames N] [--colours hot|memory|blue] [--html] FOLDED OUT
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "output/flamegraph_svg.h"

namespace {

using memtrace::FlameColours;
using memtrace::FlameGraphOptions;
using memtrace::FoldedStacks;

// "stack count" lines; the count follows the last space (frame names may hold spaces).
FoldedStacks read_folded(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    FoldedStacks stacks;
    size_t number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            continue;
        size_t space = line.rfind(' ');
        if (space == std::string::npos)
            throw std::runtime_error(path + ":" + std::to_string(number) + ": no count");
        stacks[line.substr(0, space)] += std::stoull(line.substr(space + 1));
    }
    return stacks;
}

FlameColours colours_named(const std::string& name)
{
    if (name == "hot")
        return FlameColours::Hot;
    if (name == "memory")
        return FlameColours::Memory;
    if (name == "blue")
        return FlameColours::Blue;
    throw std::runtime_error("unknown colour scheme " + name);
}

// Two graphs of the same stacks on one page, the second in other colours: their scripts must
// each act on their own graph only.
std::string html_page(const FoldedStacks& stacks, FlameGraphOptions options)
{
    std::string first = memtrace::flamegraph_svg_element(stacks, options);
    options.colours = options.colours == FlameColours::Memory ? FlameColours::Hot : FlameColours::Memory;
    std::string second = memtrace::flamegraph_svg_element(stacks, options);
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>flame graphs</title></head><body>\n"
           "<div id=\"first\">\n" + first + "</div>\n<div id=\"second\">\n" + second + "</div>\n</body></html>\n";
}

int usage()
{
    std::cerr << "usage: flamegraph_svg_cli [--title T] [--subtitle S] [--unit U] [--width PX] [--min-width PX]\n"
                 "                          [--max-frames N] [--colours hot|memory|blue] [--html] FOLDED OUT\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    FlameGraphOptions options;
    bool html = false;
    std::string paths[2];
    int npaths = 0;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc)
                    throw std::runtime_error(arg + " needs a value");
                return argv[++i];
            };
            if (arg == "--title")
                options.title = value();
            else if (arg == "--subtitle")
                options.subtitle = value();
            else if (arg == "--unit")
                options.count_unit = value();
            else if (arg == "--width")
                options.width_px = static_cast<unsigned>(std::stoul(value()));
            else if (arg == "--min-width")
                options.min_frame_width_px = std::stod(value());
            else if (arg == "--max-frames")
                options.max_frames = std::stoul(value());
            else if (arg == "--colours")
                options.colours = colours_named(value());
            else if (arg == "--html")
                html = true;
            else if (arg.size() > 1 && arg[0] == '-')
                return usage();
            else if (npaths < 2)
                paths[npaths++] = arg;
            else
                return usage();
        }
        if (npaths != 2)
            return usage();
        FoldedStacks stacks = read_folded(paths[0]);
        std::ofstream out(paths[1], std::ios::binary | std::ios::trunc);
        out << (html ? html_page(stacks, options) : memtrace::flamegraph_svg_document(stacks, options));
        if (!out.flush())
            throw std::runtime_error("cannot write " + paths[1]);
    } catch (const std::exception& e) {
        std::cerr << "flamegraph_svg_cli: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
