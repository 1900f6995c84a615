// A CLI11 check for options that are a number of seconds: finite and within [min, max]. CLI11's
// Range lets NaN through (every comparison with it is false), and a huge value overflows the
// conversion to a clock duration.
#pragma once

#include <cmath>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace memtrace {

inline CLI::Validator seconds_between(double min, double max)
{
    return CLI::Validator(
        [min, max](std::string& value) -> std::string {
            double v = 0;
            try {
                size_t used = 0;
                v = std::stod(value, &used);
                if (used != value.size())
                    return fmt::format("{} is not a number of seconds", value);
            } catch (const std::exception&) {
                return fmt::format("{} is not a number of seconds", value);
            }
            if (!std::isfinite(v) || v < min || v > max)
                return fmt::format("{} is not between {} and {} seconds", value, min, max);
            return {};
        },
        fmt::format("SECONDS in [{}, {}]", min, max));
}

}  // namespace memtrace
