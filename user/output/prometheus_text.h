// Prometheus metrics as plain data, and the two text expositions a scraper may ask for: the
// Prometheus text format 0.0.4 and OpenMetrics 1.0.0. No I/O: serve/metrics_server.h sends the text.
//
// Names (metric, label, unit) are the program's own and are checked when a family is made: a bad
// one throws std::invalid_argument. Label values are untrusted (process names come from traced
// programs): any bytes are accepted, invalid UTF-8 is replaced with U+FFFD and the rest is escaped
// as each format requires, so the exposition always parses.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace memtrace {

enum class MetricType { counter, gauge, histogram };
enum class ExpositionFormat { prometheus_text, openmetrics };

// One value of a sample. Integers stay integers and are written exactly (a count past 2^53 is not
// rounded through a double); doubles are written in Go's shortest %g form, which is what Prometheus
// client libraries write and what both formats parse, with +Inf, -Inf and NaN for the non-finite.
class SampleValue {
public:
    template <typename Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
    SampleValue(Int value)  // NOLINT: implicit, so that add({...}, 42) reads naturally
    {
        if constexpr (std::is_signed_v<Int>)
            value_ = static_cast<int64_t>(value);
        else
            value_ = static_cast<uint64_t>(value);
    }
    SampleValue(double value) : value_(value) {}  // NOLINT: implicit, as above

    bool is_negative() const;
    bool is_nan() const;
    const std::variant<int64_t, uint64_t, double>& get() const { return value_; }

private:
    std::variant<int64_t, uint64_t, double> value_;
};

// One series of a histogram family: for each of the family's upper bounds, how many observations
// were at or below it (cumulative, so never decreasing); how many there were in all (the +Inf
// bucket, written again as _count); and their sum.
struct HistogramPoint {
    std::vector<uint64_t> cumulative_counts;
    uint64_t count = 0;
    SampleValue sum = uint64_t{0};

    // From per-bucket (not cumulative) counts: one per upper bound, then one for the observations
    // above the last bound.
    static HistogramPoint from_bucket_counts(const std::vector<uint64_t>& per_bucket, SampleValue sum);
};

// A metric family: name, help, type, optional unit, its label names and its series.
class MetricFamily {
public:
    // A counter's name is given without "_total": the formats add it (0.0.4 everywhere, OpenMetrics
    // on the samples). A unit, when given, must end the name ("..._seconds" for "seconds"); only
    // OpenMetrics writes it (# UNIT). Throws std::invalid_argument for a name, label name or unit
    // that is not [a-zA-Z][a-zA-Z0-9_]* (no leading underscore: reserved; no colon: reserved for
    // recording rules), a counter name ending in _total, a repeated label name, a histogram with an
    // "le" label, or upper bounds that are not finite and strictly increasing (+Inf is implicit).
    static MetricFamily counter(std::string name, std::string help, std::vector<std::string> label_names = {},
                                std::string unit = {});
    static MetricFamily gauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                              std::string unit = {});
    static MetricFamily histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                                  std::vector<std::string> label_names = {}, std::string unit = {});

    // Adds one series of a counter or gauge, with one label value per label name, in their order.
    // Throws std::invalid_argument for a histogram family, the wrong number of values, a series with
    // the same label values already there (compared after invalid UTF-8 is replaced: two values
    // differing only in invalid bytes are the same series), or a negative or NaN counter.
    void add(std::vector<std::string> label_values, SampleValue value);
    // Adds one series of a histogram. Throws std::invalid_argument as above, and for counts that do
    // not match the upper bounds, decrease, or exceed `count`, and a negative or NaN sum.
    void add(std::vector<std::string> label_values, HistogramPoint point);

    using Point = std::variant<SampleValue, HistogramPoint>;
    // Sorted by label values: the output order does not depend on the order of add().
    using Series = std::map<std::vector<std::string>, Point>;

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::string& unit() const { return unit_; }
    MetricType type() const { return type_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    const std::vector<double>& upper_bounds() const { return upper_bounds_; }
    const Series& series() const { return series_; }
    // Every metric name this family can put in an exposition: its own and its samples' (with the
    // _total, _created, _bucket, _sum, _count suffixes its type uses).
    std::vector<std::string> names_written() const;

private:
    MetricFamily(MetricType type, std::string name, std::string help, std::vector<std::string> label_names,
                 std::string unit, std::vector<double> upper_bounds);
    void insert(std::vector<std::string> label_values, Point point);

    MetricType type_;
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::string unit_;
    std::vector<double> upper_bounds_;
    Series series_;
};

// What one scrape returns: metric families, written sorted by name.
class Exposition {
public:
    // Throws std::invalid_argument when a name the family writes is already written by another
    // family (a gauge "x_total" next to a counter "x", a gauge "h_count" next to a histogram "h").
    void add(MetricFamily family);
    const std::map<std::string, MetricFamily>& families() const { return families_; }

private:
    std::map<std::string, MetricFamily> families_;
    std::map<std::string, std::string> taken_names_;  // name written -> family writing it
};

// The exposition in the given format. A family without series is written as its metadata alone.
std::string render(const Exposition& exposition, ExpositionFormat format);

// The Content-Type header value for a format, exactly as the formats specify it.
std::string_view content_type(ExpositionFormat format);

struct NegotiatedFormat {
    ExpositionFormat format;
    std::string_view content_type;
};

// Picks the format for an HTTP Accept header value: the acceptable media range with the highest q
// (the first of equal ones) among application/openmetrics-text (version 1.0.0, 0.0.1 or none),
// text/plain (version 0.0.4 or none) and the wildcards. Nothing acceptable, an empty or a missing
// header gives the Prometheus text format, as Prometheus' own client libraries do, rather than a 406.
NegotiatedFormat negotiate_format(std::string_view accept_header);

}  // namespace memtrace
