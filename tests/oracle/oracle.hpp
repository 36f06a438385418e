// Oracle support: tshark's per-frame TCP/HTTP fields read into structs, labtool's `packet`,
// `connection_end` and HTTP events indexed by frame, and an agreement table that counts, per
// fact, the frames compared, agreed, documented differences and disagreements (with examples).
#pragma once

#include "process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace oracle {

using json = nlohmann::json;

using e2e::split;

// ---------------------------------------------------------------------------------------------
// tshark

// The analysis flags labtool names, each with its tshark field (FT_NONE: "1" when present).
inline const std::vector<std::string>& analysis_flag_names() {
    static const std::vector<std::string> names{
        "retransmission",  "fast_retransmission", "spurious_retransmission", "out_of_order",
        "lost_segment",    "ack_lost_segment",    "duplicate_ack",           "zero_window",
        "zero_window_probe", "zero_window_probe_ack", "window_full",         "window_update",
        "keep_alive",      "keep_alive_ack",      "reused_ports"};
    return names;
}

// Fields in the order of the -e options; analysis flags follow, in analysis_flag_names() order.
inline const std::vector<std::string>& tshark_fields() {
    static const std::vector<std::string> fields = [] {
        std::vector<std::string> f{
            "frame.number",                     // 0
            "frame.time_relative",              // 1
            "tcp.stream",                       // 2
            "tcp.srcport",                      // 3
            "tcp.flags",                        // 4
            "tcp.seq",                          // 5
            "tcp.ack",                          // 6
            "tcp.seq_raw",                      // 7
            "tcp.ack_raw",                      // 8
            "tcp.len",                          // 9
            "tcp.nxtseq",                       // 10
            "tcp.window_size",                  // 11
            "tcp.window_size_value",            // 12
            "tcp.window_size_scalefactor",      // 13
            "tcp.analysis.bytes_in_flight",     // 14
            "tcp.analysis.duplicate_ack_num",   // 15
            "tcp.analysis.duplicate_ack_frame", // 16
            "tcp.analysis.acks_frame",          // 17
            "tcp.analysis.ack_rtt",             // 18
            "tcp.options.sack_le",              // 19
            "tcp.options.sack_re",              // 20
            "tcp.options.sack.dsack_le",        // 21
            "tcp.options.sack.dsack_re",        // 22
            "tcp.options.timestamp.tsval",      // 23
            "tcp.options.timestamp.tsecr",      // 24
            "tcp.completeness",                 // 25
            "http.request.method",              // 26
            "http.request.uri",                 // 27
            "http.response.code",               // 28
            "http.request_in",                  // 29
            "http.response_for.uri",            // 30
        };
        for (const auto& n : analysis_flag_names()) f.push_back("tcp.analysis." + n);
        return f;
    }();
    return fields;
}
constexpr std::size_t first_flag_field = 31;

struct TsharkFrame {
    long long frame = 0;
    double time = 0;
    int stream = -1;
    unsigned srcport = 0;
    unsigned flags = 0;
    std::optional<long long> seq, ack, seq_raw, ack_raw, len, next_seq;
    std::optional<long long> window, window_raw, window_scale, bytes_in_flight;
    std::optional<long long> dup_ack_num, dup_ack_frame, acks_frame;
    std::optional<double> ack_rtt;
    std::vector<std::pair<long long, long long>> sack;   // relative [left, right)
    std::vector<std::pair<long long, long long>> dsack;
    std::optional<long long> ts_val, ts_ecr, completeness;
    std::vector<std::string> methods, uris, codes, request_in, response_for_uri;
    std::set<std::string> analysis;
};

inline std::optional<long long> opt_int(const std::string& s) {
    if (s.empty()) return std::nullopt;
    // Aggregated values ("a|b") keep the first; tshark repeats some per-frame fields.
    const auto first = split(s, '|')[0];
    if (first.empty()) return std::nullopt;
    return std::stoll(first, nullptr, 0);
}

inline std::vector<std::string> list(const std::string& s) {
    if (s.empty()) return {};
    return split(s, '|');
}

// Parses `tshark -T fields` output produced with tshark_fields(), separator tab, aggregator '|'.
inline std::map<long long, TsharkFrame> parse_tshark(const std::string& text, std::string& problem) {
    std::map<long long, TsharkFrame> frames;
    std::istringstream in(text);
    std::string line;
    const auto& names = analysis_flag_names();
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto f = split(line, '\t');
        if (f.size() != tshark_fields().size()) {
            problem = "unexpected tshark line (" + std::to_string(f.size()) + " fields, want " +
                      std::to_string(tshark_fields().size()) + "): " + line;
            return {};
        }
        if (f[2].empty()) continue;   // not TCP
        TsharkFrame t;
        t.frame = std::stoll(f[0]);
        t.time = std::stod(f[1]);
        t.stream = std::stoi(f[2]);
        t.srcport = static_cast<unsigned>(std::stoul(f[3]));
        t.flags = static_cast<unsigned>(std::stoul(f[4], nullptr, 16));
        t.seq = opt_int(f[5]);
        t.ack = opt_int(f[6]);
        t.seq_raw = opt_int(f[7]);
        t.ack_raw = opt_int(f[8]);
        t.len = opt_int(f[9]);
        t.next_seq = opt_int(f[10]);
        t.window = opt_int(f[11]);
        t.window_raw = opt_int(f[12]);
        t.window_scale = opt_int(f[13]);
        t.bytes_in_flight = opt_int(f[14]);
        t.dup_ack_num = opt_int(f[15]);
        t.dup_ack_frame = opt_int(f[16]);
        t.acks_frame = opt_int(f[17]);
        if (!f[18].empty()) t.ack_rtt = std::stod(split(f[18], '|')[0]);
        const auto le = list(f[19]), re = list(f[20]);
        for (std::size_t i = 0; i < le.size() && i < re.size(); ++i) t.sack.emplace_back(std::stoll(le[i]), std::stoll(re[i]));
        const auto dle = list(f[21]), dre = list(f[22]);
        for (std::size_t i = 0; i < dle.size() && i < dre.size(); ++i)
            t.dsack.emplace_back(std::stoll(dle[i]), std::stoll(dre[i]));
        t.ts_val = opt_int(f[23]);
        t.ts_ecr = opt_int(f[24]);
        t.completeness = opt_int(f[25]);
        t.methods = list(f[26]);
        t.uris = list(f[27]);
        t.codes = list(f[28]);
        t.request_in = list(f[29]);
        t.response_for_uri = list(f[30]);
        for (std::size_t i = 0; i < names.size(); ++i)
            if (!f[first_flag_field + i].empty()) t.analysis.insert(names[i]);
        frames[t.frame] = std::move(t);
    }
    return frames;
}

inline std::set<std::string> flag_names(unsigned flags) {
    static const std::vector<std::pair<unsigned, std::string>> bits{
        {0x01, "FIN"}, {0x02, "SYN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"},
        {0x20, "URG"}, {0x40, "ECE"}, {0x80, "CWR"}, {0x100, "AE"}};
    std::set<std::string> r;
    for (const auto& [bit, name] : bits)
        if ((flags & bit) != 0) r.insert(name);
    return r;
}

// "http://host:port/path?q" → "/path?q" (tshark's http.response_for.uri is the full URL).
inline std::string path_of(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto slash = url.find('/', scheme + 3);
    return slash == std::string::npos ? "/" : url.substr(slash);
}

// ---------------------------------------------------------------------------------------------
// The agreement table

struct Fact {
    std::string name;
    long long compared = 0, agreed = 0, documented = 0, disagreed = 0;
    std::vector<std::string> examples;   // disagreements, at most max_examples
    std::vector<std::string> documented_examples;
};

class Table {
public:
    static constexpr std::size_t max_examples = 5;

    // Records one comparison of `fact` for `where` (e.g. "frame 12"). `documented` names the
    // field-notes.md difference that excuses a mismatch (only consulted when values differ).
    void check(const std::string& fact, const std::string& where, const json& labtool, const json& tshark,
               const std::string& documented = "") {
        Fact& f = get(fact);
        ++f.compared;
        if (equal(labtool, tshark)) {
            ++f.agreed;
        } else if (!documented.empty()) {
            ++f.documented;
            if (f.documented_examples.size() < max_examples)
                f.documented_examples.push_back(where + ": labtool " + labtool.dump() + ", tshark " + tshark.dump() +
                                                " (" + documented + ")");
        } else {
            ++f.disagreed;
            if (f.examples.size() < max_examples)
                f.examples.push_back(where + ": labtool " + labtool.dump() + ", tshark " + tshark.dump());
        }
    }

    // Declares a fact even if nothing gets compared (so it shows up with 0).
    void declare(const std::string& fact) { get(fact); }

    std::string render(const std::string& title) const {
        std::ostringstream o;
        o << "\n=== oracle agreement: " << title << " ===\n";
        o << std::left << std::setw(34) << "fact" << std::right << std::setw(10) << "compared" << std::setw(9)
          << "agreed" << std::setw(12) << "documented" << std::setw(11) << "disagreed" << "\n";
        for (const auto& name : order_) {
            const Fact& f = facts_.at(name);
            o << std::left << std::setw(34) << f.name << std::right << std::setw(10) << f.compared << std::setw(9)
              << f.agreed << std::setw(12) << f.documented << std::setw(11) << f.disagreed << "\n";
            for (const auto& e : f.examples) o << "      ✗ " << e << "\n";
            for (const auto& e : f.documented_examples) o << "      ≈ " << e << "\n";
        }
        return o.str();
    }

    const std::vector<std::string>& order() const { return order_; }
    const Fact& fact(const std::string& name) const { return facts_.at(name); }

private:
    static bool equal(const json& a, const json& b) {
        if (a.is_number_float() || b.is_number_float()) {
            if (!a.is_number() || !b.is_number()) return false;
            return std::fabs(a.get<double>() - b.get<double>()) <= 1.5e-6;
        }
        return a == b;
    }
    Fact& get(const std::string& name) {
        auto it = facts_.find(name);
        if (it == facts_.end()) {
            order_.push_back(name);
            it = facts_.emplace(name, Fact{name, 0, 0, 0, 0, {}, {}}).first;
        }
        return it->second;
    }
    std::map<std::string, Fact> facts_;
    std::vector<std::string> order_;
};

// ---------------------------------------------------------------------------------------------
// labtool values as JSON, normalised for comparison

inline json opt_json(const std::optional<long long>& v) { return v ? json(*v) : json(nullptr); }
inline json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

inline json field(const json& e, const std::string& key) { return e.contains(key) ? e.at(key) : json("<missing>"); }

inline json flags_json(const std::set<std::string>& s) { return json(std::vector<std::string>(s.begin(), s.end())); }

inline std::set<std::string> labtool_flags(const json& e) {
    std::set<std::string> r;
    if (!e.contains("flags") || !e["flags"].is_string()) return r;
    for (const auto& f : split(e["flags"].get<std::string>(), ','))
        if (!f.empty()) r.insert(f);
    return r;
}

inline std::set<std::string> labtool_analysis(const json& e) {
    std::set<std::string> r;
    if (!e.contains("analysis") || !e["analysis"].is_array()) return r;
    for (const auto& a : e["analysis"])
        if (a.is_string()) r.insert(a.get<std::string>());
    return r;
}

inline json pairs_json(const std::vector<std::pair<long long, long long>>& v) {
    json a = json::array();
    for (const auto& [l, r] : v) a.push_back(json::array({l, r}));
    return a;
}

}  // namespace oracle
