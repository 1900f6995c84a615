// The HTML report: parsed back as XML (the page is well-formed: libxml2 or the test fails), then
// held to its data: every chart there, the heatmap's cells and bands, the bars and markers adding
// up to the report's counts, the embedded JSON, nothing loaded from elsewhere, hostile names
// kept as text.
#include "output/html_report.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <nlohmann/json.hpp>

#include "output/svg_heatmap.h"
#include "pictures_fixture.h"

using memtrace::Report;
using memtrace::Timeline;
using memtrace_test::kHostileComm;
using memtrace_test::kPicturesPid;
using memtrace_test::pictures_report;

namespace {

class Page {
public:
    explicit Page(const std::string& html)
    {
        std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(), xmlFreeParserCtxt);
        doc_.reset(xmlCtxtReadMemory(ctxt.get(), html.data(), static_cast<int>(html.size()), "report.html", "UTF-8",
                                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
        const xmlError* error = xmlCtxtGetLastError(ctxt.get());
        well_formed_ = doc_ && ctxt->wellFormed && !error;
        problem_ = error && error->message ? fmt::format("{} at line {}", error->message, error->line) : "";
    }
    bool well_formed() const { return well_formed_; }
    const std::string& problem() const { return problem_; }

    // Elements an XPath expression selects (written with local-name(): the page mixes namespaces).
    std::vector<xmlNode*> select(const std::string& xpath) const
    {
        std::vector<xmlNode*> nodes;
        std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc_.get()),
                                                                             xmlXPathFreeContext);
        std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> found(
            xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()), xmlXPathFreeObject);
        if (found && found->nodesetval)
            for (int i = 0; i < found->nodesetval->nodeNr; ++i)
                nodes.push_back(found->nodesetval->nodeTab[i]);
        return nodes;
    }
    static std::string attr(xmlNode* node, const char* name)
    {
        std::unique_ptr<xmlChar, decltype(xmlFree)> v(xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)), xmlFree);
        return v ? reinterpret_cast<const char*>(v.get()) : "";
    }
    static std::string text(xmlNode* node)
    {
        std::unique_ptr<xmlChar, decltype(xmlFree)> v(xmlNodeGetContent(node), xmlFree);
        return v ? reinterpret_cast<const char*>(v.get()) : "";
    }
    uint64_t sum_of(const std::string& xpath, const char* attribute) const
    {
        uint64_t sum = 0;
        for (xmlNode* n : select(xpath))
            sum += std::stoull(attr(n, attribute));
        return sum;
    }

private:
    std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc_{nullptr, xmlFreeDoc};
    bool well_formed_ = false;
    std::string problem_;
};

std::string el(const char* name, const char* cls)
{
    return fmt::format("//*[local-name()='{}' and contains(concat(' ', @class, ' '), ' {} ')]", name, cls);
}

class HtmlReportTest : public ::testing::Test {
protected:
    HtmlReportTest()
    {
        input.target = "pid 300 (" + kHostileComm + ")";
        input.source = "app.data";
        input.stacks_recorded = true;
        input.fault_stacks = {{"app;main;<script>alert(3)</script>", 30}, {"app;main;fill", 2}};
        html = memtrace::html_report(report, input);
    }
    Report report = pictures_report();
    memtrace::HtmlReportInput input;
    std::string html;
};

TEST_F(HtmlReportTest, WellFormedAndSelfContained)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
    EXPECT_TRUE(page.select("//*[@src or @href or local-name()='link' or local-name()='iframe' or "
                            "local-name()='img' or local-name()='object']").empty())
        << "nothing is loaded from elsewhere";
    EXPECT_EQ(html.find("http://", html.find("<body")), html.find("http://www.w3.org/2000/svg", html.find("<body")))
        << "no address but the SVG namespace";
    // Scripts: one per flame graph, the data block, the page's own.
    EXPECT_EQ(page.select("//*[local-name()='script']").size(), 3u);
}

TEST_F(HtmlReportTest, EveryChartIsThere)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    for (const char* chart : {"heatmap", "memory", "segment-faults", "markers"})
        EXPECT_EQ(page.select(el("svg", "chart") + "[contains(@class, '" + chart + "')]").size(), 1u) << chart;
    EXPECT_EQ(page.select(el("svg", "memtrace-flamegraph")).size(), 1u) << "only the fault stacks hold stacks";
    for (const char* section : {"heatmap", "memory", "segments", "markers", "crashes", "stacks"})
        EXPECT_EQ(page.select(fmt::format("//*[local-name()='section' and @id='{}']", section)).size(), 1u) << section;
}

TEST_F(HtmlReportTest, TheHeatmapHoldsEveryFaultOfThePicturedProcess)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    const Timeline& t = report.timeline;
    EXPECT_EQ(page.select(el("rect", "cell")).size(), t.cells.size());
    EXPECT_EQ(page.sum_of(el("rect", "cell"), "data-n"), report.faults) << "one process: all of them";
    std::vector<xmlNode*> bands = page.select(el("g", "band"));
    ASSERT_EQ(bands.size(), t.bands.size());
    std::map<std::string, uint64_t> per_band;
    for (xmlNode* cell : page.select(el("rect", "cell")))
        per_band[t.bands.at(std::stoul(Page::attr(cell, "data-b"))).label] += std::stoull(Page::attr(cell, "data-n"));
    EXPECT_EQ(per_band["heap"], 8u);
    EXPECT_EQ(per_band["anon"], 21u);
    EXPECT_EQ(per_band["stack"], 1u);
    EXPECT_EQ(per_band["file " + memtrace_test::kHostileFile], 2u);
    // Band labels, drawn high addresses first: the stack on top, the heap at the bottom.
    std::vector<xmlNode*> labels = page.select(el("text", "band-label"));
    ASSERT_EQ(labels.size(), t.bands.size());
    EXPECT_EQ(Page::text(labels.front()), "stack");
    EXPECT_EQ(Page::text(labels.back()), "heap");
    // A dashed gap between bands apart in the address space: not between the file and anon, whose
    // rows lie below it (0x7f0000000000) and above it (0x7f1000000000).
    EXPECT_EQ(page.select(el("line", "gap")).size(), 2u);
}

TEST_F(HtmlReportTest, TimeChartsAddUpToTheReport)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    EXPECT_EQ(page.sum_of(el("rect", "bar"), "data-n"), report.faults);
    for (const char* series : {"heap", "anon", "file", "shmem"})
        EXPECT_EQ(page.select(el("polyline", "series") + "[@data-series='" + series + "']").size(), 1u) << series;
    EXPECT_EQ(page.sum_of(el("rect", "count") + "[@data-kind='brk']", "data-n"), report.brk_calls);
    EXPECT_EQ(page.sum_of(el("rect", "count") + "[@data-kind='mmap']", "data-n"), report.mmap_calls);
    EXPECT_EQ(page.sum_of(el("rect", "count") + "[@data-kind='munmap']", "data-n"), report.munmap_calls);
    std::vector<xmlNode*> crashes = page.select(el("g", "marker") + "[contains(@class, 'crash')]");
    ASSERT_EQ(crashes.size(), 1u);
    EXPECT_EQ(Page::text(crashes[0]).rfind("SIGSEGV in pid 300 at 5.2ms: ", 0), 0u) << Page::text(crashes[0]);
}

TEST_F(HtmlReportTest, TheEmbeddedDataIsTheTimeline)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    std::vector<xmlNode*> block = page.select("//*[local-name()='script' and @id='memtrace-data']");
    ASSERT_EQ(block.size(), 1u);
    EXPECT_EQ(Page::attr(block[0], "type"), "application/json");
    nlohmann::json data = nlohmann::json::parse(Page::text(block[0]));
    const Timeline& t = report.timeline;
    EXPECT_EQ(data["pid"], kPicturesPid);
    EXPECT_EQ(data["buckets"], t.buckets);
    EXPECT_EQ(data["bucket_s"], 0.001);
    EXPECT_EQ(data["faults"], report.faults);
    ASSERT_EQ(data["bands"].size(), t.bands.size());
    EXPECT_EQ(data["bands"][0]["label"], "heap");
    EXPECT_EQ(data["bands"][0]["segments"], nlohmann::json({"heap"}));
    EXPECT_EQ(data["bands"][0]["area"], "heap");
    EXPECT_EQ(data["bands"][0]["low"], "0x555555559000");
    EXPECT_EQ(data["bands"][0]["rows"].size(), 8u);
    EXPECT_EQ(data["cells"].size(), t.cells.size());
    uint64_t cells = 0;
    for (const auto& c : data["cells"])
        cells += c[3].get<uint64_t>();
    EXPECT_EQ(cells, report.faults);
    EXPECT_EQ(data["heap"].back(), static_cast<int64_t>(report.heap_size));
    EXPECT_EQ(data["rss"]["anon"][0], 100 * 4096);
    EXPECT_EQ(data["markers"]["kept"].size(), 4u);
    EXPECT_EQ(data["processes"][0]["threads"], (std::vector<uint32_t>{300, 301}));
    EXPECT_EQ(data["comm"], nlohmann::json({60, 98, 62, 97, 112, 112, 60, 47, 98, 62, 254}))
        << "a name that is not UTF-8, byte for byte";
}

TEST_F(HtmlReportTest, HostileNamesStayText)
{
    Page page(html);
    ASSERT_TRUE(page.well_formed()) << page.problem();
    EXPECT_TRUE(page.select("//*[local-name()='b' and text()='app']").empty()) << "no markup from the comm";
    std::vector<xmlNode*> title = page.select("//*[local-name()='title' and parent::*[local-name()='head']]");
    ASSERT_EQ(title.size(), 1u);
    EXPECT_EQ(Page::text(title[0]), "memtrace: pid 300 (<b>app</b>\xEF\xBF\xBD)");
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    // The file's band label, cut to 30 characters, keeps the start and the end of the name.
    bool cut_label = false;
    for (xmlNode* label : page.select(el("text", "band-label")))
        cut_label = cut_label || Page::text(label) == "file /tmp…script>]]>&amp;\xEF\xBF\xBD.dat";
    EXPECT_TRUE(cut_label);
    EXPECT_EQ(html.find("]]>&amp;"), std::string::npos);
}

TEST_F(HtmlReportTest, WithoutStacksItSaysSo)
{
    input.stacks_recorded = false;
    Page page(memtrace::html_report(report, input));
    ASSERT_TRUE(page.well_formed()) << page.problem();
    EXPECT_TRUE(page.select(el("svg", "memtrace-flamegraph")).empty());
    std::vector<xmlNode*> note = page.select("//*[local-name()='section' and @id='stacks']/*[local-name()='p']");
    ASSERT_EQ(note.size(), 1u);
    EXPECT_EQ(Page::text(note[0]), "The trace was recorded without --stacks: no stacks to draw.");
}

TEST_F(HtmlReportTest, AnEmptyTraceStillDrawsItsCharts)
{
    Report empty;
    empty.final = true;
    input.fault_stacks.clear();
    Page page(memtrace::html_report(empty, input));
    ASSERT_TRUE(page.well_formed()) << page.problem();
    EXPECT_EQ(page.select(el("svg", "chart")).size(), 4u);
    EXPECT_EQ(page.select(el("text", "empty")).size(), 2u) << "the heatmap and the flame graph say so";
}

}  // namespace
