// MIME types, HTTP-dates, percent-decoding and Range parsing for the file server.
#include "http_util.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace labtool::server::detail {
namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view utf8_suffix = "; charset=utf-8";

struct MimeEntry {
    std::string_view extension;
    std::string_view type;
    bool text;  // gets "; charset=utf-8"
};

// Extensions a lab page or a student's own site plausibly serves.
constexpr std::array<MimeEntry, 34> mime_table{{
    {"html", "text/html", true},
    {"htm", "text/html", true},
    {"css", "text/css", true},
    {"js", "text/javascript", true},
    {"mjs", "text/javascript", true},
    {"json", "application/json", true},
    {"map", "application/json", true},
    {"txt", "text/plain", true},
    {"md", "text/markdown", true},
    {"csv", "text/csv", true},
    {"xml", "application/xml", true},
    {"svg", "image/svg+xml", true},
    {"png", "image/png", false},
    {"jpg", "image/jpeg", false},
    {"jpeg", "image/jpeg", false},
    {"gif", "image/gif", false},
    {"ico", "image/x-icon", false},
    {"webp", "image/webp", false},
    {"avif", "image/avif", false},
    {"bmp", "image/bmp", false},
    {"wasm", "application/wasm", false},
    {"woff", "font/woff", false},
    {"woff2", "font/woff2", false},
    {"ttf", "font/ttf", false},
    {"otf", "font/otf", false},
    {"mp3", "audio/mpeg", false},
    {"wav", "audio/wav", false},
    {"ogg", "audio/ogg", false},
    {"m4a", "audio/mp4", false},
    {"mp4", "video/mp4", false},
    {"webm", "video/webm", false},
    {"pdf", "application/pdf", false},
    {"zip", "application/zip", false},
    {"pcap", "application/vnd.tcpdump.pcap", false},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Parses 1..n decimal digits with overflow check; the whole view must be digits.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

void append_2d(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + (v / 10) % 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::string mime_type(std::string_view extension) {
    if (!extension.empty() && extension.front() == '.') extension.remove_prefix(1);
    for (const auto& e : mime_table) {
        if (iequals(e.extension, extension)) {
            std::string type{e.type};
            if (e.text) type += utf8_suffix;
            return type;
        }
    }
    return "application/octet-stream";
}

std::string http_date(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const weekday wd{day};
    const hh_mm_ss hms{secs - day};

    std::string out;
    out.reserve(29);
    out += day_names[wd.c_encoding()];
    out += ", ";
    append_2d(out, static_cast<unsigned>(ymd.day()));
    out += ' ';
    out += month_names[static_cast<unsigned>(ymd.month()) - 1];
    out += ' ';
    out += std::to_string(static_cast<int>(ymd.year()));
    out += ' ';
    append_2d(out, static_cast<unsigned>(hms.hours().count()));
    out += ':';
    append_2d(out, static_cast<unsigned>(hms.minutes().count()));
    out += ':';
    append_2d(out, static_cast<unsigned>(hms.seconds().count()));
    out += " GMT";
    return out;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
    using namespace std::chrono;
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    //  0123456789012345678901234567 8
    text = trim(text);
    if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
        text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT")
        return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t len) { return parse_u64(text.substr(pos, len)); };
    auto d = num(5, 2), y = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
    if (!d || !y || !hh || !mm || !ss) return std::nullopt;
    unsigned m = 0;
    for (unsigned i = 0; i < month_names.size(); ++i) {
        if (month_names[i] == text.substr(8, 3)) m = i + 1;
    }
    if (m == 0 || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
    const year_month_day ymd{year{static_cast<int>(*y)}, month{m}, day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    return time_point_cast<system_clock::duration>(sys_days{ymd} + hours{*hh} + minutes{*mm} + seconds{*ss});
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') return std::nullopt;
        out.push_back(c);
    }
    return out;
}

ParsedRange parse_range(std::string_view value, std::uint64_t size) {
    // RFC 9110 section 14.1.1: ranges-specifier = range-unit "=" range-set; the unit is
    // case-insensitive. Section 14.2: a server MAY ignore Range; we serve exactly one range and
    // ignore (send 200) anything else, which the RFC allows.
    ParsedRange none;
    value = trim(value);
    const auto eq = value.find('=');
    if (eq == std::string_view::npos || !iequals(trim(value.substr(0, eq)), "bytes")) return none;
    std::string_view spec = trim(value.substr(eq + 1));
    if (spec.find(',') != std::string_view::npos) return none;  // multiple ranges: not supported
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return none;
    const auto first_text = trim(spec.substr(0, dash));
    const auto last_text = trim(spec.substr(dash + 1));

    ParsedRange out;
    if (first_text.empty()) {
        // suffix-range "-n": the last n bytes (RFC 9110 section 14.1.2). n == 0 or an empty
        // representation is unsatisfiable (section 14.1.1).
        auto n = parse_u64(last_text);
        if (!n) return none;
        if (*n == 0 || size == 0) {
            out.result = RangeResult::unsatisfiable;
            return out;
        }
        const std::uint64_t len = std::min(*n, size);
        out.result = RangeResult::satisfiable;
        out.range = {size - len, size - 1};
        return out;
    }
    auto first = parse_u64(first_text);
    if (!first) return none;
    std::uint64_t last = 0;
    if (last_text.empty()) {
        last = size == 0 ? 0 : size - 1;  // "a-": to the end
    } else {
        auto l = parse_u64(last_text);
        if (!l || *l < *first) return none;  // last < first is invalid syntax: ignore the field
        last = *l;
    }
    // A range is satisfiable when first-pos is below the current length (section 14.1.1);
    // last-pos beyond the end is clipped to the last byte.
    if (*first >= size) {
        out.result = RangeResult::unsatisfiable;
        return out;
    }
    out.result = RangeResult::satisfiable;
    out.range = {*first, std::min(last, size - 1)};
    return out;
}

}  // namespace labtool::server::detail
