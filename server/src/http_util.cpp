// MIME types, HTTP-dates, request-target normalisation, entity tags and Range parsing.
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
constexpr std::array<MimeEntry, 45> mime_table{{
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
    {"webmanifest", "application/manifest+json", true},
    {"jsonld", "application/ld+json", true},
    {"ics", "text/calendar", true},
    {"opus", "audio/ogg", false},
    {"flac", "audio/flac", false},
    {"m4v", "video/mp4", false},
    {"ogv", "video/ogg", false},
    {"mpeg", "video/mpeg", false},
    {"gz", "application/gzip", false},  // served as is: no Content-Encoding, no decompression
    {"tar", "application/x-tar", false},
    {"7z", "application/x-7z-compressed", false},
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

namespace {

std::optional<unsigned> month_index(std::string_view name) {
    for (unsigned i = 0; i < month_names.size(); ++i) {
        if (month_names[i] == name) return i + 1;
    }
    return std::nullopt;
}

// In seconds, never system_clock's nanoseconds: those overflow (signed, undefined) after
// 2262-04-11 and before 1677. Years 0-9999 are a few times 10^11 seconds, far inside 64 bits.
std::optional<std::chrono::sys_seconds> make_time(std::uint64_t y, unsigned m, std::uint64_t d, std::uint64_t hh,
                                                  std::uint64_t mm, std::uint64_t ss) {
    using namespace std::chrono;
    if (y > 9999 || d > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    const year_month_day ymd{year{static_cast<int>(y)}, month{m}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_seconds{sys_days{ymd}} + hours{static_cast<std::int64_t>(hh)} +
           minutes{static_cast<std::int64_t>(mm)} + seconds{static_cast<std::int64_t>(ss)};
}

// "08:49:37" at `pos`.
bool parse_clock(std::string_view t, std::size_t pos, std::uint64_t& hh, std::uint64_t& mm, std::uint64_t& ss) {
    if (t.size() < pos + 8 || t[pos + 2] != ':' || t[pos + 5] != ':') return false;
    auto h = parse_u64(t.substr(pos, 2)), m = parse_u64(t.substr(pos + 3, 2)), s = parse_u64(t.substr(pos + 6, 2));
    if (!h || !m || !s) return false;
    hh = *h;
    mm = *m;
    ss = *s;
    return true;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The next entity-tag of a list at `pos` (skipping OWS and commas): sets `weak` and `tag` (with
// its quotes). Returns false at the end of the list; sets `bad` on a malformed member.
bool next_etag(std::string_view header, std::size_t& pos, bool& weak, std::string_view& tag, bool& bad) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t' || header[pos] == ',')) ++pos;
    if (pos >= header.size()) return false;
    weak = false;
    if (header.substr(pos, 2) == "W/") {
        weak = true;
        pos += 2;
    }
    if (pos >= header.size() || header[pos] != '"') {
        bad = true;
        return false;
    }
    const auto end = header.find('"', pos + 1);
    if (end == std::string_view::npos) {
        bad = true;
        return false;
    }
    tag = header.substr(pos, end - pos + 1);
    pos = end + 1;
    return true;
}

bool is_star(std::string_view header) { return trim(header) == "*"; }

}  // namespace

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
    text = trim(text);
    std::uint64_t hh = 0, mm = 0, ss = 0;
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (text.size() == 29 && text.substr(3, 2) == ", " && text[7] == ' ' && text[11] == ' ' && text[16] == ' ' &&
        text.substr(25) == " GMT") {
        auto d = parse_u64(text.substr(5, 2)), y = parse_u64(text.substr(12, 4));
        auto m = month_index(text.substr(8, 3));
        if (!d || !y || !m || !parse_clock(text, 17, hh, mm, ss)) return std::nullopt;
        return make_time(*y, *m, *d, hh, mm, ss);
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (text.size() == 24 && text[3] == ' ' && text[7] == ' ' && text[10] == ' ' && text[19] == ' ') {
        auto day_text = trim(text.substr(8, 2));
        auto d = parse_u64(day_text), y = parse_u64(text.substr(20, 4));
        auto m = month_index(text.substr(4, 3));
        if (!d || !y || !m || !parse_clock(text, 11, hh, mm, ss)) return std::nullopt;
        return make_time(*y, *m, *d, hh, mm, ss);
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    const auto comma = text.find(", ");
    if (comma != std::string_view::npos && comma >= 6 && text.size() == comma + 24 &&
        text.substr(comma + 20) == " GMT" && text[comma + 4] == '-' && text[comma + 8] == '-' &&
        text[comma + 11] == ' ') {
        auto d = parse_u64(text.substr(comma + 2, 2)), yy = parse_u64(text.substr(comma + 9, 2));
        auto m = month_index(text.substr(comma + 5, 3));
        if (!d || !yy || !m || !parse_clock(text, comma + 12, hh, mm, ss)) return std::nullopt;
        // RFC 9110 section 5.6.7: a two-digit year more than 50 years ahead is in the past.
        const std::uint64_t y = *yy < 70 ? 2000 + *yy : 1900 + *yy;
        return make_time(y, *m, *d, hh, mm, ss);
    }
    return std::nullopt;
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

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    while (i < text.size()) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1fu;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0fu;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return false;  // stray continuation byte or 0xf8..0xff
        }
        if (i + n >= text.size()) return false;  // truncated sequence
        for (std::size_t k = 1; k <= n; ++k) {
            const unsigned char cc = byte(i + k);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        // Overlong forms ("%c0%ae" for '.') are how traversal filters were bypassed before.
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

std::string percent_encode_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          std::string_view("-._~/!$&'()*+,;=:@").find(ch) != std::string_view::npos;
        if (keep) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0x0f]);
        }
    }
    return out;
}

namespace {

// Characters no Windows file name may contain (besides control bytes and the separators).
// ':' also stands for drive letters ("c:") and NTFS streams ("a.txt::$DATA").
constexpr std::string_view windows_forbidden = ":<>\"|?*";

// DOS device names: Win32 path parsing maps them to a device in any folder, in any case, with
// any extension ("nul.tar.gz") and with spaces before it ("CON .txt") — the rule git for
// Windows' is_valid_win32_path follows. COM0/LPT0 are not devices (files of those names exist).
constexpr std::array<std::string_view, 6> device_names{"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
// Windows 11 also takes COM and LPT with a superscript 1, 2 or 3 (U+00B9, U+00B2, U+00B3).
constexpr std::array<std::string_view, 3> superscript_digits{"\xc2\xb9", "\xc2\xb2", "\xc2\xb3"};

bool is_dos_device_name(std::string_view name) {
    std::string_view stem = name.substr(0, name.find('.'));
    while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
    for (std::string_view device : device_names) {
        if (iequals(stem, device)) return true;
    }
    if (stem.size() < 4 || (!iequals(stem.substr(0, 3), "COM") && !iequals(stem.substr(0, 3), "LPT"))) return false;
    const std::string_view digit = stem.substr(3);
    if (digit.size() == 1) return digit[0] >= '1' && digit[0] <= '9';
    return std::find(superscript_digits.begin(), superscript_digits.end(), digit) != superscript_digits.end();
}

}  // namespace

bool is_portable_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..") return false;
    for (char ch : name) {
        if (is_control(static_cast<unsigned char>(ch)) || ch == '/' || ch == '\\' ||
            windows_forbidden.find(ch) != std::string_view::npos)
            return false;
    }
    // Win32 path parsing strips trailing dots and spaces: "index.html." and "index.html " open
    // "index.html", ".. " opens the parent, ".hidden." a dotfile.
    if (name.back() == '.' || name.back() == ' ') return false;
    return !is_dos_device_name(name);
}

std::string NormalizedTarget::path() const {
    if (segments.empty()) return std::string(1, '/');
    std::string p;
    for (const auto& s : segments) {
        p += '/';
        p += s;
    }
    return p;
}

bool NormalizedTarget::has_dot_segment() const {
    return std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.front() == '.'; });
}

NormalizedTarget normalize_target(std::string_view target) {
    NormalizedTarget out;
    // absolute-form (RFC 9112 section 3.2.2): the scheme is case-insensitive; keep only the path.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            const auto slash = target.find_first_of("/?#", scheme.size());
            if (slash == std::string_view::npos) {
                target = "/";
            } else if (target[slash] != '/') {
                out.query = std::string(target.substr(slash));
                target = "/";
            } else {
                target = target.substr(slash);
            }
            break;
        }
    }
    // A fragment is never sent by clients (RFC 9112 section 3.2); treat '#' as the end of the path.
    const auto query_pos = target.find_first_of("?#");
    if (query_pos != std::string_view::npos) {
        out.query = std::string(target.substr(query_pos));
        target = target.substr(0, query_pos);
    }
    if (target.empty() || target.front() != '/') {
        out.error = TargetError::bad_form;
        return out;
    }
    // Decode exactly once: "%252e" stays "%2e" and is a file name, never "..".
    auto decoded = percent_decode(target);
    if (!decoded) {
        out.error = target.find("%00") != std::string_view::npos ? TargetError::bad_byte : TargetError::bad_escape;
        return out;
    }
    for (char ch : *decoded) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_control(c) || ch == '\\') {
            out.error = TargetError::bad_byte;
            return out;
        }
    }
    if (!is_valid_utf8(*decoded)) {
        out.error = TargetError::bad_utf8;
        return out;
    }
    // remove_dot_segments (RFC 3986 section 5.2.4) on the decoded path, so that "%2e%2e" is a
    // dot-segment too; empty segments ("//") collapse. Leaving the root is an error.
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") {
            if (out.segments.empty()) {
                out.error = TargetError::above_root;
                out.segments.clear();
                return out;
            }
            out.segments.pop_back();
            continue;
        }
        // The same answer on every OS: a name Windows would read differently from its bytes (a
        // stream, a device, a stripped trailing dot) is refused here, before anything is opened,
        // even where the file system would take it literally. Checked before a later ".." can
        // remove it, so no such segment is ever accepted.
        if (!is_portable_name(seg)) {
            out.error = TargetError::reserved_name;
            out.segments.clear();
            return out;
        }
        out.segments.emplace_back(seg);
    }
    // "/dir/." and "/dir/.." name a directory, as if they ended in '/'.
    const std::string_view last = std::string_view(*decoded).substr(decoded->rfind('/') + 1);
    out.trailing_slash = last.empty() || last == "." || last == "..";
    return out;
}

ParsedRange parse_range(std::string_view value, std::uint64_t size) {
    // RFC 9110 section 14.1.1: ranges-specifier = range-unit "=" range-set; the unit is
    // case-insensitive. Section 14.2: a server MAY ignore Range; anything we cannot parse is
    // ignored (200 with the whole file), never an error.
    ParsedRange none;
    value = trim(value);
    const auto eq = value.find('=');
    if (eq == std::string_view::npos || !iequals(trim(value.substr(0, eq)), "bytes")) return none;
    std::string_view spec = value.substr(eq + 1);

    std::array<ByteRange, max_ranges> ranges{};
    std::size_t count = 0;     // satisfiable ranges
    std::size_t members = 0;   // all syntactically valid members
    while (!spec.empty()) {
        const auto comma = spec.find(',');
        const std::string_view member = trim(spec.substr(0, comma));
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (member.empty()) continue;  // empty list elements are allowed (RFC 9110 section 5.6.1.2)
        if (++members > max_ranges) return none;
        const auto dash = member.find('-');
        if (dash == std::string_view::npos) return none;
        const auto first_text = trim(member.substr(0, dash));
        const auto last_text = trim(member.substr(dash + 1));
        if (first_text.empty()) {
            // suffix-range "-n": the last n bytes, clamped to the file (section 14.1.2); n == 0 or
            // an empty representation is unsatisfiable.
            auto n = parse_u64(last_text);
            if (!n) return none;
            if (*n == 0 || size == 0) continue;
            const std::uint64_t len = std::min(*n, size);
            ranges[count++] = {size - len, size - 1};
            continue;
        }
        auto first = parse_u64(first_text);
        if (!first) return none;
        std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
        if (!last_text.empty()) {
            auto l = parse_u64(last_text);
            if (!l || *l < *first) return none;  // last < first is invalid syntax: ignore the field
            last = *l;
        }
        // Satisfiable when first-pos is below the current length (section 14.1.1); last-pos
        // beyond the end is clipped to the last byte.
        if (*first >= size) continue;
        ranges[count++] = {*first, std::min(last, size - 1)};
    }
    if (members == 0) return none;
    ParsedRange out;
    if (count == 0) {
        out.result = RangeResult::unsatisfiable;
        return out;
    }
    // Merge overlapping or adjacent ranges (section 14.2 allows coalescing). All values are
    // below `size`, so last + 1 cannot overflow.
    std::sort(ranges.begin(), ranges.begin() + static_cast<std::ptrdiff_t>(count),
              [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
    ByteRange merged = ranges[0];
    for (std::size_t i = 1; i < count; ++i) {
        if (ranges[i].first > merged.last + 1) {
            out.result = RangeResult::disjoint;  // we send no multipart/byteranges: 200, whole file
            return out;
        }
        merged.last = std::max(merged.last, ranges[i].last);
    }
    out.result = RangeResult::satisfiable;
    out.range = merged;
    return out;
}

bool etag_list_matches_weak(std::string_view header, std::string_view etag) {
    if (is_star(header)) return true;
    const std::string_view opaque = etag.substr(0, 2) == "W/" ? etag.substr(2) : etag;
    std::size_t pos = 0;
    bool weak = false, bad = false;
    std::string_view tag;
    while (next_etag(header, pos, weak, tag, bad)) {
        if (tag == opaque) return true;
    }
    return false;
}

bool etag_list_matches_strong(std::string_view header, std::string_view etag) {
    if (is_star(header)) return true;
    if (etag.substr(0, 2) == "W/") return false;
    std::size_t pos = 0;
    bool weak = false, bad = false;
    std::string_view tag;
    while (next_etag(header, pos, weak, tag, bad)) {
        if (!weak && tag == etag) return true;
    }
    return false;
}

}  // namespace labtool::server::detail
