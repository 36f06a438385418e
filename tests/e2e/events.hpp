// End-to-end test support: labtool's JSON-lines output parsed into events, grouped and compared.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace e2e {

using json = nlohmann::json;

// One JSON object per non-empty line; a line that does not parse is a test failure.
inline std::vector<json> parse_lines(const std::string& text) {
    std::vector<json> events;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        try {
            events.push_back(json::parse(line));
        } catch (const json::exception& e) {
            ADD_FAILURE() << "stdout line " << n << " is not JSON (" << e.what() << "): " << line;
        }
    }
    return events;
}

inline std::vector<json> of_kind(const std::vector<json>& events, const std::string& kind) {
    std::vector<json> r;
    for (const auto& e : events)
        if (e.value("event", "") == kind) r.push_back(e);
    return r;
}

inline std::vector<json> without_summary(const std::vector<json>& events) {
    std::vector<json> r;
    for (const auto& e : events)
        if (e.value("event", "") != "summary") r.push_back(e);
    return r;
}

// The summary object (last line), or null if missing.
inline json summary_of(const std::vector<json>& events) {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->value("event", "") == "summary") return *it;
    return nullptr;
}

// Events (no summary) by stream index, each list in output order.
inline std::map<int, std::vector<json>> by_stream(const std::vector<json>& events) {
    std::map<int, std::vector<json>> r;
    for (const auto& e : events)
        if (e.contains("stream") && e["stream"].is_number_integer()) r[e["stream"].get<int>()].push_back(e);
    return r;
}

inline std::set<long long> frames_of(const std::vector<json>& events) {
    std::set<long long> r;
    for (const auto& e : events) r.insert(e.at("frame").get<long long>());
    return r;
}

// Compares two event lists object by object (minus `ignored_keys`), reporting the first difference.
inline ::testing::AssertionResult same_events(const std::vector<json>& expected, const std::vector<json>& actual,
                                              const std::vector<std::string>& ignored_keys = {}) {
    auto strip = [&](json e) {
        for (const auto& k : ignored_keys) e.erase(k);
        return e;
    };
    const std::size_t n = std::min(expected.size(), actual.size());
    for (std::size_t i = 0; i < n; ++i) {
        const json a = strip(expected[i]);
        const json b = strip(actual[i]);
        if (a != b) {
            return ::testing::AssertionFailure()
                   << "event #" << i << " differs (of " << expected.size() << " expected, " << actual.size()
                   << " actual)\n  expected: " << a.dump() << "\n  actual:   " << b.dump()
                   << "\n  diff:     " << json::diff(a, b).dump();
        }
    }
    if (expected.size() != actual.size()) {
        std::ostringstream extra;
        const auto& longer = expected.size() > actual.size() ? expected : actual;
        for (std::size_t i = n; i < longer.size() && i < n + 3; ++i) extra << "\n  " << longer[i].dump();
        return ::testing::AssertionFailure() << "event counts differ: expected " << expected.size() << ", actual "
                                             << actual.size() << "; first extra events of the longer list:"
                                             << extra.str();
    }
    return ::testing::AssertionSuccess();
}

}  // namespace e2e
