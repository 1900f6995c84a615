// Flame graph SVG: parsed back with libxml2 (well-formed or the test fails), then held to the
// counts: widths, order, nesting, escaping of hostile names, determinism, the frame bound.
#include "output/flamegraph_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "output/flame_layout.h"

using memtrace::flamegraph_svg_document;
using memtrace::flamegraph_svg_element;
using memtrace::FlameColours;
using memtrace::FlameGraphOptions;
using memtrace::FoldedStacks;

namespace {

// One <g class="f"> as drawn.
struct Frame {
    std::string name;     // the <title>'s first line
    std::string details;  // its second line
    std::string label;    // the <text>
    std::string fill;
    uint32_t depth = 0;
    uint64_t count = 0;
    long x = 0, width = 0;  // hundredths of a pixel, as written
    double y = 0;
};

struct Svg {
    std::vector<Frame> frames;  // document order
    std::multiset<std::string> elements;
    std::set<std::string> attributes;
    std::string title, subtitle, script, style;
    long width = 0;
};

std::string attr(xmlNode* node, const char* name)
{
    std::unique_ptr<xmlChar, decltype(xmlFree)> value(xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)), xmlFree);
    return value ? reinterpret_cast<const char*>(value.get()) : "";
}

std::string text_of(xmlNode* node)
{
    std::unique_ptr<xmlChar, decltype(xmlFree)> value(xmlNodeGetContent(node), xmlFree);
    return value ? reinterpret_cast<const char*>(value.get()) : "";
}

// "12.34" -> 1234: the writer prints exactly two decimals.
long hundredths(const std::string& s)
{
    size_t dot = s.find('.');
    if (dot == std::string::npos || s.size() != dot + 3)
        throw std::runtime_error("not a two-decimal number: " + s);
    return std::stol(s.substr(0, dot)) * 100 + std::stol(s.substr(dot + 1));
}

xmlNode* child_named(xmlNode* node, const char* name)
{
    for (xmlNode* c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, reinterpret_cast<const xmlChar*>(name)))
            return c;
    throw std::runtime_error(std::string("no <") + name + "> in a frame");
}

Frame read_frame(xmlNode* g)
{
    Frame f;
    std::string title = text_of(child_named(g, "title"));
    size_t newline = title.rfind('\n');
    f.name = title.substr(0, newline);
    f.details = title.substr(newline + 1);
    xmlNode* rect = child_named(g, "rect");
    f.x = hundredths(attr(rect, "x"));
    f.width = hundredths(attr(rect, "width"));
    f.y = std::stod(attr(rect, "y"));
    f.fill = attr(rect, "fill");
    f.label = text_of(child_named(g, "text"));
    f.depth = std::stoul(attr(g, "data-d"));
    f.count = std::stoull(attr(g, "data-c"));
    return f;
}

void walk(xmlNode* node, Svg& svg)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        std::string name = reinterpret_cast<const char*>(node->name);
        svg.elements.insert(name);
        for (xmlAttr* a = node->properties; a; a = a->next)
            svg.attributes.insert(reinterpret_cast<const char*>(a->name));
        std::string cls = attr(node, "class");
        if (name == "g" && cls == "f")
            svg.frames.push_back(read_frame(node));
        else if (name == "text" && cls == "title")
            svg.title = text_of(node);
        else if (name == "text" && cls == "subtitle")
            svg.subtitle = text_of(node);
        else if (name == "script")
            svg.script = text_of(node);
        else if (name == "style")
            svg.style = text_of(node);
        walk(node->children, svg);
    }
}

// Parses `text` strictly (no network, no entity loading); fails the test when it is not
// well-formed XML whose root is an SVG element.
Svg parse(const std::string& text)
{
    std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(), xmlFreeParserCtxt);
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
        xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), "flame.svg", nullptr,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
        xmlFreeDoc);
    Svg svg;
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    EXPECT_TRUE(doc && ctxt->wellFormed && !error)
        << "not well-formed: " << (error && error->message ? error->message : "?") << " at line "
        << (error ? error->line : 0);
    if (!doc)
        return svg;
    xmlNode* root = xmlDocGetRootElement(doc.get());
    EXPECT_STREQ(reinterpret_cast<const char*>(root->name), "svg");
    EXPECT_TRUE(root->ns && xmlStrEqual(root->ns->href, reinterpret_cast<const xmlChar*>("http://www.w3.org/2000/svg")));
    svg.width = std::stol(attr(root, "width"));
    walk(root, svg);
    return svg;
}

FlameGraphOptions options_with(size_t max_frames = 2000, double min_width = 0)
{
    FlameGraphOptions o;
    o.title = "Faults";
    o.count_unit = "faults";
    o.max_frames = max_frames;
    o.min_frame_width_px = min_width;
    return o;
}

const Frame& named(const Svg& svg, const std::string& name)
{
    for (const Frame& f : svg.frames)
        if (f.name == name)
            return f;
    throw std::runtime_error("no frame named " + name);
}

// Every frame lies inside its parent (the previous frame one level down), right of its left
// sibling; a parent's callees are no wider than it, and exactly as wide when it has no self count.
void expect_nested(const Svg& svg)
{
    std::vector<const Frame*> path;
    std::vector<long> next_x;
    for (const Frame& f : svg.frames) {
        path.resize(f.depth);
        next_x.resize(f.depth + 1, 0);
        if (f.depth) {
            const Frame& parent = *path.back();
            EXPECT_GE(f.x, next_x[f.depth]) << f.name << " overlaps its left sibling";
            EXPECT_LE(f.x + f.width, parent.x + parent.width) << f.name << " sticks out of " << parent.name;
            EXPECT_LT(f.y, parent.y) << f.name << " is not drawn above its caller";
        }
        next_x[f.depth] = f.x + f.width;
        next_x.resize(f.depth + 1);
        path.push_back(&f);
    }
}

long children_width(const Svg& svg, size_t parent_index)
{
    long sum = 0;
    uint32_t depth = svg.frames[parent_index].depth;
    for (size_t i = parent_index + 1; i < svg.frames.size() && svg.frames[i].depth > depth; ++i)
        if (svg.frames[i].depth == depth + 1)
            sum += svg.frames[i].width;
    return sum;
}

TEST(FlameGraphSvg, WidthsFollowTheCounts)
{
    FoldedStacks stacks = {{"app;main;x", 30}, {"app;main;y", 10}, {"bash", 60}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    ASSERT_EQ(svg.frames.size(), 6u);
    EXPECT_EQ(svg.width, 1200);
    // 1180 px for 100 faults: 11.8 px each.
    EXPECT_EQ(named(svg, "all").width, 118000);
    EXPECT_EQ(named(svg, "app").width, 47200);
    EXPECT_EQ(named(svg, "main").width, 47200);
    EXPECT_EQ(named(svg, "x").width, 35400);
    EXPECT_EQ(named(svg, "y").width, 11800);
    EXPECT_EQ(named(svg, "bash").width, 70800);
    EXPECT_EQ(named(svg, "all").x, 1000);
    EXPECT_EQ(named(svg, "x").x, 1000);
    EXPECT_EQ(named(svg, "y").x, 1000 + 35400);
    EXPECT_EQ(named(svg, "bash").x, 1000 + 47200);
    for (const Frame& f : svg.frames)
        EXPECT_EQ(f.count, f.name == "all" ? 100u : f.name == "bash" ? 60u : f.name == "x" ? 30u : f.name == "y" ? 10u : 40u);
    expect_nested(svg);
}

TEST(FlameGraphSvg, UnevenWidthsStillAddUpExactly)
{
    // Thirds of 1180 px do not round evenly; the edges are rounded, so widths still add up.
    FoldedStacks stacks = {{"p;a", 1}, {"p;b", 1}, {"p;c", 1}, {"q;d;e", 7}, {"q;d;f", 5}, {"q;g", 3}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    ASSERT_EQ(svg.frames.size(), 10u);
    EXPECT_EQ(children_width(svg, 0), svg.frames[0].width);
    for (size_t i = 0; i < svg.frames.size(); ++i) {
        const Frame& f = svg.frames[i];
        double expected = 118000.0 * f.count / 18;
        EXPECT_NEAR(f.width, expected, 1.0) << f.name;
        if (children_width(svg, i)) {
            EXPECT_EQ(children_width(svg, i), f.width) << f.name << " has no self count";
        }
    }
    expect_nested(svg);
}

TEST(FlameGraphSvg, SelfCountLeavesRoomRightOfTheCallees)
{
    FoldedStacks stacks = {{"app;main", 50}, {"app;main;work", 25}, {"app;main;alloc", 25}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    const Frame& main = named(svg, "main");
    EXPECT_EQ(main.count, 100u);
    EXPECT_EQ(named(svg, "alloc").width + named(svg, "work").width, main.width / 2);
}

TEST(FlameGraphSvg, FramesInPreOrderSiblingsByName)
{
    FoldedStacks stacks = {{"app;zeta", 1}, {"app;alpha;inner", 1}, {"app;Beta", 1}, {"app;alpha", 1}, {"aaa", 1}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    std::vector<std::string> order;
    std::vector<uint32_t> depths;
    for (const Frame& f : svg.frames) {
        order.push_back(f.name);
        depths.push_back(f.depth);
    }
    // Byte order: "Beta" before "alpha"; a frame's callees right after it.
    EXPECT_EQ(order, (std::vector<std::string>{"all", "aaa", "app", "Beta", "alpha", "inner", "zeta"}));
    EXPECT_EQ(depths, (std::vector<uint32_t>{0, 1, 1, 2, 2, 3, 2}));
    EXPECT_LT(named(svg, "Beta").x, named(svg, "alpha").x);
    EXPECT_LT(named(svg, "alpha").x, named(svg, "zeta").x);
    EXPECT_EQ(named(svg, "inner").x, named(svg, "alpha").x);
    EXPECT_EQ(named(svg, "all").y - named(svg, "inner").y, 3 * 16);
    expect_nested(svg);
}

TEST(FlameGraphSvg, TitlesGiveCountUnitAndShare)
{
    FoldedStacks stacks = {{"app;main", 1234}, {"app;other", 8766}};
    FlameGraphOptions o = options_with();
    o.count_unit = "bytes";
    o.title = "Memory growth";
    o.subtitle = "by bytes grown";
    Svg svg = parse(flamegraph_svg_element(stacks, o));
    EXPECT_EQ(named(svg, "main").details, "1,234 bytes, 12.34%");
    EXPECT_EQ(named(svg, "all").details, "10,000 bytes, 100.00%");
    EXPECT_EQ(svg.title, "Memory growth");
    EXPECT_EQ(svg.subtitle, "by bytes grown");
}

TEST(FlameGraphSvg, LabelsFitTheirFrames)
{
    FoldedStacks stacks = {{"app;a_rather_long_function_name", 100}, {"app;short", 1000}, {"app;tiny", 2}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    EXPECT_EQ(named(svg, "short").label, "short");
    const Frame& cut = named(svg, "a_rather_long_function_name");  // 107 px: 13 characters fit
    EXPECT_EQ(cut.label, "a_rather_lo..");
    EXPECT_EQ(named(svg, "tiny").label, "");
    for (const Frame& f : svg.frames) {
        if (!f.label.empty()) {
            EXPECT_LE(f.label.size() * 7.3 + 6, f.width / 100.0 + 0.001) << f.name;
        }
    }
}

// Names that try to end the text, the attribute, the CDATA section holding the script, or the
// document's encoding.
FoldedStacks hostile_stacks()
{
    return {
        {"app;<script>alert(1)</script>", 10},
        {"app;a&b;\"quoted\" 'single'", 10},
        {"app;]]><script>alert(2)</script>", 10},
        {"app;<g onload=\"alert(3)\">", 10},
        {"app;ctl\x01\x08\x1b[31m\x7f", 10},
        {"app;bad\xff\xfe utf8 \xc3(", 10},
        {std::string("nul\0app;x", 9), 10},
        {"app;&amp&lt", 10},  // entity lookalikes (a ";" would split the frame)
    };
}

TEST(FlameGraphSvg, HostileNamesStayText)
{
    FlameGraphOptions o = options_with();
    o.title = "</text><script>alert(4)</script>";
    o.subtitle = "]]>\x01";
    o.count_unit = "\"><script>";
    std::string out = flamegraph_svg_element(hostile_stacks(), o);
    Svg svg = parse(out);
    // Only the writer's own elements and attributes, one script, the writer's own.
    for (const std::string& e : svg.elements)
        EXPECT_TRUE(std::set<std::string>({"svg", "style", "rect", "text", "g", "title", "script"}).count(e)) << e;
    EXPECT_EQ(svg.elements.count("script"), 1u);
    for (const std::string& a : svg.attributes)
        EXPECT_FALSE(a.rfind("on", 0) == 0) << a;
    EXPECT_EQ(out.find("<script>alert"), std::string::npos);
    EXPECT_EQ(out.find("]]>"), out.rfind("]]>")) << "a name closed the CDATA section";
    // The names read back as they were given, markup characters and all.
    EXPECT_EQ(named(svg, "<script>alert(1)</script>").count, 10u);
    EXPECT_EQ(named(svg, "\"quoted\" 'single'").count, 10u);
    EXPECT_EQ(named(svg, "]]><script>alert(2)</script>").count, 10u);
    EXPECT_EQ(named(svg, "<g onload=\"alert(3)\">").count, 10u);
    EXPECT_EQ(named(svg, "&amp&lt").count, 10u);
    EXPECT_NE(out.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(out.find("a&amp;b"), std::string::npos);
    EXPECT_NE(out.find("&amp;amp&amp;lt"), std::string::npos);
    EXPECT_EQ(svg.title, o.title);
    EXPECT_EQ(svg.subtitle, "]]>\xEF\xBF\xBD");
    EXPECT_EQ(named(svg, "a&b").details, "10 \"><script>, 12.50%");
}

TEST(FlameGraphSvg, ControlBytesAndInvalidUtf8AreReplaced)
{
    Svg svg = parse(flamegraph_svg_element(hostile_stacks(), options_with()));
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(named(svg, "ctl" + r + r + r + "[31m" + r).count, 10u);
    EXPECT_EQ(named(svg, "bad" + r + r + " utf8 " + r + "(").count, 10u);
    EXPECT_EQ(named(svg, "nul" + r + "app").count, 10u);
    // No name holds a newline, so the title's last newline separates name and details.
    for (const Frame& f : svg.frames)
        EXPECT_EQ(f.name.find('\n'), std::string::npos);
}

TEST(FlameGraphSvg, SameInputSameBytes)
{
    FoldedStacks a, b;
    b.reserve(4096);  // other bucket count, other iteration order
    std::vector<std::pair<std::string, uint64_t>> lines;
    for (int i = 0; i < 300; ++i)
        lines.emplace_back("app;main;f" + std::to_string(i % 17) + ";g" + std::to_string(i), 1 + i % 5);
    for (const auto& [k, v] : lines)
        a[k] = v;
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
        b[it->first] = it->second;
    EXPECT_EQ(flamegraph_svg_document(a, options_with()), flamegraph_svg_document(b, options_with()));
}

TEST(FlameGraphSvg, ColoursFollowTheNameOnly)
{
    FoldedStacks stacks = {{"a;memcpy", 5}, {"b;c;memcpy", 50}, {"a;[no_user_stack]", 5}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with()));
    std::set<std::string> memcpy_fills;
    for (const Frame& f : svg.frames)
        if (f.name == "memcpy")
            memcpy_fills.insert(f.fill);
    EXPECT_EQ(memcpy_fills.size(), 1u);
    std::string grey = named(svg, "[no_user_stack]").fill;
    ASSERT_EQ(grey.size(), 7u);
    EXPECT_TRUE(grey.substr(1, 2) == grey.substr(3, 2) && grey.substr(3, 2) == grey.substr(5, 2)) << grey;
    FlameGraphOptions green = options_with();
    green.colours = FlameColours::Memory;
    EXPECT_NE(parse(flamegraph_svg_element(stacks, green)).frames[1].fill, svg.frames[1].fill);
}

TEST(FlameGraphSvg, FrameBoundMergesTheSmallest)
{
    FoldedStacks stacks = {{"app;big;work", 10000}};
    for (int i = 0; i < 500; ++i)
        stacks["app;small;s" + std::to_string(1000 + i)] = 2;
    Svg svg = parse(flamegraph_svg_element(stacks, options_with(50)));
    EXPECT_LE(svg.frames.size(), 50u);
    EXPECT_EQ(named(svg, "work").count, 10000u);
    EXPECT_EQ(named(svg, "small").count, 1000u);
    // The 500 narrow callees of "small" are one frame, as wide as they are together.
    const Frame& merged = named(svg, "[500 frames merged]");
    EXPECT_EQ(merged.count, 1000u);
    EXPECT_EQ(merged.width, named(svg, "small").width);
    EXPECT_EQ(children_width(svg, 0), svg.frames[0].width);
    expect_nested(svg);
}

TEST(FlameGraphSvg, NarrowFramesMergeOrGo)
{
    FoldedStacks stacks = {{"app;main", 100000}, {"app;lone", 1}};
    for (int i = 0; i < 100; ++i)
        stacks["app;main;leaf" + std::to_string(i)] = 3;
    // 1180 px for 100,301 counts: a count of 3 is 0.035 px, below the 0.5 px minimum.
    Svg svg = parse(flamegraph_svg_element(stacks, options_with(2000, 0.5)));
    EXPECT_EQ(named(svg, "[100 frames merged]").count, 300u);
    for (const Frame& f : svg.frames) {
        EXPECT_NE(f.name, "lone");  // alone too narrow, nothing to merge with: left out
        EXPECT_GE(f.width, 50) << f.name;
    }
    EXPECT_EQ(named(svg, "all").count, 100301u);
}

TEST(FlameGraphSvg, BoundHoldsForEveryLimit)
{
    FoldedStacks stacks;
    for (int i = 0; i < 200; ++i)
        stacks["app;f" + std::to_string(i % 13) + ";g" + std::to_string(i % 37) + ";h" + std::to_string(i)] = 1 + i;
    for (size_t limit : {1, 2, 3, 5, 10, 40, 100, 1000}) {
        Svg svg = parse(flamegraph_svg_element(stacks, options_with(limit)));
        EXPECT_LE(svg.frames.size(), limit);
        EXPECT_GE(svg.frames.size(), 1u);
        expect_nested(svg);
    }
}

TEST(FlameGraphSvg, NothingToDraw)
{
    for (const FoldedStacks& stacks : {FoldedStacks{}, FoldedStacks{{"app;main", 0}}}) {
        std::string out = flamegraph_svg_element(stacks, options_with());
        Svg svg = parse(out);
        EXPECT_TRUE(svg.frames.empty());
        EXPECT_NE(out.find("No stacks recorded"), std::string::npos);
    }
}

TEST(FlameGraphSvg, LongAndDeepStacksAreBounded)
{
    std::string deep = "app";
    for (size_t i = 0; i < memtrace::kMaxFlameDepth + 50; ++i)
        deep += ";f" + std::to_string(i);
    std::string long_name(100000, 'n');
    FoldedStacks stacks = {{deep, 5}, {"app;" + long_name, 5}};
    Svg svg = parse(flamegraph_svg_element(stacks, options_with(5000)));
    uint32_t deepest = 0;
    for (const Frame& f : svg.frames)
        deepest = std::max(deepest, f.depth);
    EXPECT_EQ(deepest, memtrace::kMaxFlameDepth);
    EXPECT_EQ(named(svg, "[deeper frames]").depth, memtrace::kMaxFlameDepth);
    std::string cut = long_name.substr(0, memtrace::kMaxFlameNameBytes - 3) + "\xE2\x80\xA6";
    EXPECT_EQ(named(svg, cut).count, 5u);
}

TEST(FlameGraphSvg, StandaloneDocumentAndEmbeddableElement)
{
    FoldedStacks stacks = {{"app;main", 3}};
    std::string element = flamegraph_svg_element(stacks);
    std::string document = flamegraph_svg_document(stacks);
    EXPECT_EQ(element.rfind("<svg ", 0), 0u);
    EXPECT_EQ(document.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"", 0), 0u);
    EXPECT_EQ(document.substr(document.find('\n') + 1), element);
    // Self-contained and embeddable: nothing fetched, no ids to clash with a second graph.
    Svg svg = parse(document);
    EXPECT_EQ(svg.attributes.count("id"), 0u);
    EXPECT_EQ(svg.attributes.count("href"), 0u);
    EXPECT_EQ(document.find("http", document.find("http://www.w3.org/2000/svg") + 1), std::string::npos);
    EXPECT_EQ(svg.style.find("url("), std::string::npos);
    EXPECT_EQ(svg.style.find("@import"), std::string::npos);
    EXPECT_NE(svg.script.find("memtraceFlameGraph"), std::string::npos);
}

TEST(FlameGraphSvg, WritesTheDocumentToADescriptor)
{
    FoldedStacks stacks = {{"app;main", 3}};
    char path[] = "/tmp/memtrace-flame-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    memtrace::write_flamegraph_svg(fd, stacks);
    std::string written(static_cast<size_t>(lseek(fd, 0, SEEK_END)), '\0');
    ASSERT_EQ(pread(fd, written.data(), written.size(), 0), static_cast<ssize_t>(written.size()));
    close(fd);
    unlink(path);
    EXPECT_EQ(written, flamegraph_svg_document(stacks));
    EXPECT_THROW(memtrace::write_flamegraph_svg(-1, stacks), std::runtime_error);
}

}  // namespace
