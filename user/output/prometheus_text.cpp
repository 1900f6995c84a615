#include "output/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace memtrace {

namespace {

constexpr std::string_view kPrometheusTextType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kOpenMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

// ---- names ----------------------------------------------------------------------------------

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z][a-zA-Z0-9_]*: the formats' name grammar without what they reserve (a leading
// underscore, and colons, which are for recording rules).
bool is_plain_name(std::string_view name)
{
    if (name.empty() || !is_ascii_letter(name[0]))
        return false;
    for (char c : name)
        if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '_')
            return false;
    return true;
}

bool ends_with(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument(what); }

void check_metric_name(const std::string& name, const std::string& unit)
{
    if (!is_plain_name(name))
        reject("invalid metric name \"" + name + "\": expected [a-zA-Z][a-zA-Z0-9_]*");
    if (ends_with(name, "_total"))
        reject("metric name \"" + name + "\" ends in _total: only counters' samples do, and a counter's name is "
               "given without it (it is added)");
    if (!unit.empty() && (!is_plain_name(unit) || !ends_with(name, "_" + unit)))
        reject("unit \"" + unit + "\" of metric \"" + name + "\" must be a name and end the metric name");
}

void check_label_names(const std::vector<std::string>& names, MetricType type)
{
    for (size_t i = 0; i < names.size(); ++i) {
        if (!is_plain_name(names[i]))
            reject("invalid label name \"" + names[i] + "\": expected [a-zA-Z][a-zA-Z0-9_]*");
        if (type == MetricType::histogram && names[i] == "le")
            reject("a histogram cannot have an \"le\" label: its buckets use it");
        for (size_t j = 0; j < i; ++j)
            if (names[j] == names[i])
                reject("label name \"" + names[i] + "\" given twice");
    }
}

void check_upper_bounds(const std::vector<double>& bounds)
{
    for (size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]))
            reject("histogram upper bounds must be finite (the +Inf bucket is always written)");
        if (i > 0 && !(bounds[i - 1] < bounds[i]))
            reject("histogram upper bounds must be strictly increasing");
    }
}

// ---- UTF-8 ----------------------------------------------------------------------------------

// The length of the well-formed UTF-8 sequence at the start of `s` (not empty), or 0 when there is
// none; then `invalid` is the length of the maximal ill-formed subpart there (Unicode's "maximal
// subpart" rule: each gets one U+FFFD, as browsers and Go's strings.ToValidUTF8 replace them).
size_t utf8_sequence_length(std::string_view s, size_t& invalid)
{
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    size_t continuations = 0;
    unsigned char second_low = 0x80, second_high = 0xBF;  // narrower after some leads: no
    if (lead >= 0xC2 && lead <= 0xDF) {                     // overlong forms, surrogates or
        continuations = 1;                                  // code points past U+10FFFF
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        continuations = 2;
        second_low = lead == 0xE0 ? 0xA0 : 0x80;
        second_high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        continuations = 3;
        second_low = lead == 0xF0 ? 0x90 : 0x80;
        second_high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        invalid = 1;
        return 0;
    }
    for (size_t i = 1; i <= continuations; ++i) {
        unsigned char low = i == 1 ? second_low : 0x80, high = i == 1 ? second_high : 0xBF;
        if (i >= s.size() || byte(i) < low || byte(i) > high) {
            invalid = i;
            return 0;
        }
    }
    return continuations + 1;
}

std::string with_valid_utf8(std::string s)
{
    std::string out;
    bool replaced = false;
    for (size_t at = 0; at < s.size();) {
        size_t invalid = 0;
        size_t length = utf8_sequence_length(std::string_view(s).substr(at), invalid);
        if (length == 0) {
            if (!replaced)
                out.assign(s, 0, at);
            replaced = true;
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            at += invalid;
            continue;
        }
        if (replaced)
            out.append(s, at, length);
        at += length;
    }
    if (!replaced)
        return s;  // the common case: no copy
    return out;
}

// ---- values ---------------------------------------------------------------------------------

template <typename Number>
void append_number(std::string& out, Number n, std::chars_format format = std::chars_format::general)
{
    char buf[64];
    std::to_chars_result result;
    if constexpr (std::is_floating_point_v<Number>)
        result = std::to_chars(buf, buf + sizeof buf, n, format);
    else
        result = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, result.ptr);
}

// Go's strconv.FormatFloat(v, 'g', -1, 64), what Prometheus' client libraries write: the shortest
// digits that read back as v, in exponent form when the exponent is below -4 or at least 6
// ("1e+06", "1e-05"), else in fixed form ("100000", "0.0001").
void append_go_float(std::string& out, double v)
{
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    std::string scientific;
    append_number(scientific, v, std::chars_format::scientific);
    int exponent = 0;
    std::string_view after_e = std::string_view(scientific).substr(scientific.find('e') + 1);
    if (after_e[0] == '+')
        after_e.remove_prefix(1);
    std::from_chars(after_e.data(), after_e.data() + after_e.size(), exponent);
    if (exponent < -4 || exponent >= 6)
        out += scientific;
    else
        append_number(out, v, std::chars_format::fixed);
}

// OpenMetrics wants a float to look like one ("17.0", not "17"), and its canonical "le" values are
// Go's %g with ".0" added where there is neither a point nor an exponent.
void append_openmetrics_float(std::string& out, double v)
{
    size_t start = out.size();
    append_go_float(out, v);
    if (std::isfinite(v) && out.find_first_of(".e", start) == std::string::npos)
        out += ".0";
}

void append_value(std::string& out, const SampleValue& value, ExpositionFormat format)
{
    std::visit(
        [&](auto v) {
            if constexpr (std::is_floating_point_v<decltype(v)>) {
                if (format == ExpositionFormat::openmetrics)
                    append_openmetrics_float(out, v);
                else
                    append_go_float(out, v);
            } else {
                append_number(out, v);
            }
        },
        value.get());
}

// ---- text -----------------------------------------------------------------------------------

// Backslash and newline are escaped in both formats; a double quote in label values, and in
// OpenMetrics also in HELP (0.0.4's HELP rejects \" as an unknown escape).
void append_escaped(std::string& out, std::string_view text, bool escape_quote)
{
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && escape_quote)
            out += "\\\"";
        else
            out += c;
    }
}

std::string_view type_name(MetricType type)
{
    switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

class ExpositionWriter {
public:
    explicit ExpositionWriter(ExpositionFormat format) : format_(format) {}

    void family(const MetricFamily& family)
    {
        metadata(family);
        for (const auto& [label_values, point] : family.series()) {
            if (const auto* histogram = std::get_if<HistogramPoint>(&point))
                histogram_series(family, label_values, *histogram);
            else
                sample(family, sample_name(family), label_values, nullptr, std::get<SampleValue>(point));
        }
    }

    std::string finish()
    {
        if (format_ == ExpositionFormat::openmetrics)
            out_ += "# EOF\n";
        return std::move(out_);
    }

private:
    bool openmetrics() const { return format_ == ExpositionFormat::openmetrics; }

    // A counter's samples end in _total in both formats; 0.0.4 names the family that way too.
    static std::string sample_name(const MetricFamily& family)
    {
        return family.type() == MetricType::counter ? family.name() + "_total" : family.name();
    }

    void metadata(const MetricFamily& family)
    {
        const std::string& name = openmetrics() ? family.name() : sample_name(family);
        if (openmetrics()) {
            line("# TYPE ", name, type_name(family.type()));
            if (!family.unit().empty())
                line("# UNIT ", name, family.unit());
        }
        if (!family.help().empty()) {
            out_ += "# HELP ";
            out_ += name;
            out_ += ' ';
            append_escaped(out_, family.help(), openmetrics());
            out_ += '\n';
        }
        if (!openmetrics())
            line("# TYPE ", name, type_name(family.type()));
    }

    void line(std::string_view head, std::string_view name, std::string_view rest)
    {
        out_.append(head).append(name).append(" ").append(rest).append("\n");
    }

    void histogram_series(const MetricFamily& family, const std::vector<std::string>& label_values,
                          const HistogramPoint& point)
    {
        const std::string bucket_name = family.name() + "_bucket";
        const std::vector<double>& bounds = family.upper_bounds();
        for (size_t i = 0; i < bounds.size(); ++i)
            sample(family, bucket_name, label_values, &bounds[i], point.cumulative_counts[i]);
        const double infinity = std::numeric_limits<double>::infinity();
        sample(family, bucket_name, label_values, &infinity, point.count);
        sample(family, family.name() + "_sum", label_values, nullptr, point.sum);
        sample(family, family.name() + "_count", label_values, nullptr, point.count);
    }

    // NAME{label="value",...[,le="BOUND"]} VALUE
    void sample(const MetricFamily& family, const std::string& name, const std::vector<std::string>& label_values,
                const double* le, const SampleValue& value)
    {
        out_ += name;
        if (!label_values.empty() || le) {
            out_ += '{';
            for (size_t i = 0; i < label_values.size(); ++i) {
                if (i)
                    out_ += ',';
                label(family.label_names()[i], label_values[i]);
            }
            if (le) {
                if (!label_values.empty())
                    out_ += ',';
                std::string bound;
                if (openmetrics())
                    append_openmetrics_float(bound, *le);
                else
                    append_go_float(bound, *le);
                label("le", bound);
            }
            out_ += '}';
        }
        out_ += ' ';
        append_value(out_, value, format_);
        out_ += '\n';
    }

    void label(std::string_view name, std::string_view value)
    {
        out_ += name;
        out_ += "=\"";
        append_escaped(out_, value, true);
        out_ += '"';
    }

    ExpositionFormat format_;
    std::string out_;
};

// ---- Accept ---------------------------------------------------------------------------------

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
        if (x != y)
            return false;
    }
    return true;
}

// The part of `s` before the first `separator`, which is taken off `s` with it.
std::string_view next_item(std::string_view& s, char separator)
{
    size_t end = s.find(separator);
    std::string_view item = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : s.substr(end + 1);
    return trim(item);
}

struct MediaRange {
    std::string_view type;  // "application/openmetrics-text", "*/*", ...
    std::string_view version;
    double q = 1;
    bool valid = true;
};

// RFC 9110 qvalue: 0 to 1 with at most three decimals, read by hand (strtod would follow the locale).
bool parse_qvalue(std::string_view text, double& q)
{
    if (text.empty() || text.size() > 5 || (text[0] != '0' && text[0] != '1'))
        return false;
    if (text.size() > 1 && text[1] != '.')
        return false;
    int thousandths = (text[0] - '0') * 1000;
    for (size_t i = 2, scale = 100; i < text.size(); ++i, scale /= 10) {
        if (!is_ascii_digit(text[i]))
            return false;
        thousandths += (text[i] - '0') * static_cast<int>(scale);
    }
    q = thousandths / 1000.0;
    return thousandths <= 1000;
}

MediaRange parse_media_range(std::string_view text)
{
    MediaRange range;
    range.type = next_item(text, ';');
    while (!text.empty()) {
        std::string_view parameter = next_item(text, ';');
        std::string_view name = next_item(parameter, '=');
        std::string_view value = parameter;
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        if (iequals(name, "q"))
            range.valid = parse_qvalue(value, range.q) && range.valid;
        else if (iequals(name, "version"))
            range.version = value;
    }
    return range;
}

// Which of our formats a media range asks for, if any.
bool format_for(const MediaRange& range, ExpositionFormat& format)
{
    if (iequals(range.type, "application/openmetrics-text") || iequals(range.type, "application/*")) {
        format = ExpositionFormat::openmetrics;
        return range.version.empty() || range.version == "1.0.0" || range.version == "0.0.1";
    }
    if (iequals(range.type, "text/plain") || iequals(range.type, "text/*") || iequals(range.type, "*/*")) {
        format = ExpositionFormat::prometheus_text;
        return range.version.empty() || range.version == "0.0.4";
    }
    return false;
}

}  // namespace

// ---- SampleValue, HistogramPoint ------------------------------------------------------------

bool SampleValue::is_negative() const
{
    if (const auto* i = std::get_if<int64_t>(&value_))
        return *i < 0;
    if (const auto* d = std::get_if<double>(&value_))
        return *d < 0;
    return false;
}

bool SampleValue::is_nan() const
{
    const auto* d = std::get_if<double>(&value_);
    return d && std::isnan(*d);
}

HistogramPoint HistogramPoint::from_bucket_counts(const std::vector<uint64_t>& per_bucket, SampleValue sum)
{
    HistogramPoint point;
    point.sum = sum;
    for (size_t i = 0; i < per_bucket.size(); ++i) {
        point.count += per_bucket[i];
        if (i + 1 < per_bucket.size())
            point.cumulative_counts.push_back(point.count);
    }
    return point;
}

// ---- MetricFamily ---------------------------------------------------------------------------

MetricFamily::MetricFamily(MetricType type, std::string name, std::string help, std::vector<std::string> label_names,
                           std::string unit, std::vector<double> upper_bounds)
    : type_(type),
      name_(std::move(name)),
      help_(with_valid_utf8(std::move(help))),
      label_names_(std::move(label_names)),
      unit_(std::move(unit)),
      upper_bounds_(std::move(upper_bounds))
{
    check_metric_name(name_, unit_);
    check_label_names(label_names_, type_);
    check_upper_bounds(upper_bounds_);
}

MetricFamily MetricFamily::counter(std::string name, std::string help, std::vector<std::string> label_names,
                                   std::string unit)
{
    return MetricFamily(MetricType::counter, std::move(name), std::move(help), std::move(label_names),
                        std::move(unit), {});
}

MetricFamily MetricFamily::gauge(std::string name, std::string help, std::vector<std::string> label_names,
                                 std::string unit)
{
    return MetricFamily(MetricType::gauge, std::move(name), std::move(help), std::move(label_names), std::move(unit),
                        {});
}

MetricFamily MetricFamily::histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                                     std::vector<std::string> label_names, std::string unit)
{
    return MetricFamily(MetricType::histogram, std::move(name), std::move(help), std::move(label_names),
                        std::move(unit), std::move(upper_bounds));
}

void MetricFamily::add(std::vector<std::string> label_values, SampleValue value)
{
    if (type_ == MetricType::histogram)
        reject("histogram " + name_ + " takes a HistogramPoint, not a single value");
    if (type_ == MetricType::counter && (value.is_negative() || value.is_nan()))
        reject("counter " + name_ + " cannot be negative or NaN");
    insert(std::move(label_values), value);
}

void MetricFamily::add(std::vector<std::string> label_values, HistogramPoint point)
{
    if (type_ != MetricType::histogram)
        reject(name_ + " is not a histogram");
    if (point.cumulative_counts.size() != upper_bounds_.size())
        reject("histogram " + name_ + ": one cumulative count per upper bound expected");
    for (size_t i = 0; i < point.cumulative_counts.size(); ++i) {
        uint64_t next = i + 1 < point.cumulative_counts.size() ? point.cumulative_counts[i + 1] : point.count;
        if (point.cumulative_counts[i] > next)
            reject("histogram " + name_ + ": bucket counts must be cumulative, up to the total count");
    }
    if (point.sum.is_negative() || point.sum.is_nan())
        reject("histogram " + name_ + ": the sum cannot be negative or NaN");
    insert(std::move(label_values), std::move(point));
}

void MetricFamily::insert(std::vector<std::string> label_values, Point point)
{
    if (label_values.size() != label_names_.size())
        reject(name_ + ": " + std::to_string(label_names_.size()) + " label values expected, got " +
               std::to_string(label_values.size()));
    for (std::string& value : label_values)
        value = with_valid_utf8(std::move(value));
    if (!series_.emplace(std::move(label_values), std::move(point)).second)
        reject(name_ + ": a series with these label values is already there");
}

std::vector<std::string> MetricFamily::names_written() const
{
    switch (type_) {
    case MetricType::counter: return {name_, name_ + "_total", name_ + "_created"};
    case MetricType::gauge: return {name_};
    case MetricType::histogram:
        return {name_, name_ + "_bucket", name_ + "_sum", name_ + "_count", name_ + "_created"};
    }
    return {name_};
}

// ---- Exposition -----------------------------------------------------------------------------

void Exposition::add(MetricFamily family)
{
    std::vector<std::string> names = family.names_written();
    for (const std::string& name : names) {
        auto taken = taken_names_.find(name);
        if (taken != taken_names_.end())
            reject("metric " + family.name() + " would write " + name + ", which metric " + taken->second +
                   " writes already");
    }
    for (const std::string& name : names)
        taken_names_.emplace(name, family.name());
    std::string key = family.name();
    families_.emplace(std::move(key), std::move(family));
}

// ---- rendering, negotiation -----------------------------------------------------------------

std::string render(const Exposition& exposition, ExpositionFormat format)
{
    ExpositionWriter writer(format);
    for (const auto& [name, family] : exposition.families())
        writer.family(family);
    return writer.finish();
}

std::string_view content_type(ExpositionFormat format)
{
    return format == ExpositionFormat::openmetrics ? kOpenMetricsType : kPrometheusTextType;
}

NegotiatedFormat negotiate_format(std::string_view accept_header)
{
    ExpositionFormat best = ExpositionFormat::prometheus_text;
    double best_q = 0;
    while (!accept_header.empty()) {
        MediaRange range = parse_media_range(next_item(accept_header, ','));
        ExpositionFormat format;
        if (range.valid && range.q > best_q && format_for(range, format)) {
            best = format;
            best_q = range.q;
        }
    }
    return {best, content_type(best)};
}

}  // namespace memtrace
