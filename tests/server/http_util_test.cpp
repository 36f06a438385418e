// Unit tests for the file server's pure helpers: request-target normalisation, UTF-8, Range
// parsing with merging, entity-tag lists and the three HTTP-date formats.
#include "http_util.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace labtool::server::detail;

TEST(NormalizeTarget, RemovesDotSegmentsAndEmptySegments) {
    auto t = normalize_target("/a/./b/../c//d?x=1");
    ASSERT_EQ(t.error, TargetError::none);
    EXPECT_EQ(t.segments, (std::vector<std::string>{"a", "c", "d"}));
    EXPECT_EQ(t.query, "?x=1");
    EXPECT_FALSE(t.trailing_slash);
    EXPECT_TRUE(normalize_target("/a/b/..").trailing_slash);
    EXPECT_TRUE(normalize_target("/").trailing_slash);
    EXPECT_EQ(normalize_target("/%2e%2e/x").error, TargetError::above_root);
    EXPECT_EQ(normalize_target("/a/%2E%2E/%2e%2e/x").error, TargetError::above_root);
    EXPECT_EQ(normalize_target("/%252e%252e/x").segments, (std::vector<std::string>{"%2e%2e", "x"}));
}

TEST(NormalizeTarget, RejectsBadBytes) {
    EXPECT_EQ(normalize_target("/%zz").error, TargetError::bad_escape);
    EXPECT_EQ(normalize_target("/%2").error, TargetError::bad_escape);
    EXPECT_EQ(normalize_target("/%00").error, TargetError::bad_byte);
    EXPECT_EQ(normalize_target("/a%5cb").error, TargetError::bad_byte);
    EXPECT_EQ(normalize_target("/%0a").error, TargetError::bad_byte);
    EXPECT_EQ(normalize_target("/%c0%ae").error, TargetError::bad_utf8);
    EXPECT_EQ(normalize_target("/%ed%a0%80").error, TargetError::bad_utf8);
    EXPECT_EQ(normalize_target("*").error, TargetError::bad_form);
    EXPECT_EQ(normalize_target("index.html").error, TargetError::bad_form);
    EXPECT_EQ(normalize_target("/%C3%BC").segments, (std::vector<std::string>{"\xc3\xbc"}));
}

TEST(NormalizeTarget, AbsoluteForm) {
    auto t = normalize_target("http://example.com:8080/a/b?q");
    ASSERT_EQ(t.error, TargetError::none);
    EXPECT_EQ(t.path(), "/a/b");
    EXPECT_EQ(t.query, "?q");
    EXPECT_EQ(normalize_target("HTTP://h").path(), "/");
    EXPECT_EQ(normalize_target("http://h?x").query, "?x");
}

// The Windows path rules apply on every OS, so that a request gets the same answer everywhere.
TEST(NormalizeTarget, BackslashIsMalformedRawOrEncoded) {
    for (const char* t : {"/a\\b", "/a%5cb", "/a%5Cb", "/C:%5Cwindows%5Cwin.ini", "/..%5c..%5csecret",
                          "/%2e%2e%5csecret", "/%5c%5cserver%5cshare", "/sub/%5c"})
        EXPECT_EQ(normalize_target(t).error, TargetError::bad_byte) << t;
}

TEST(NormalizeTarget, ColonIsReservedDrivesAndStreams) {
    for (const char* t : {"/c:/windows/win.ini", "/C:", "/c%3a/x", "/C%3A", "/index.html::$DATA",
                          "/index.html:$DATA", "/name.txt:stream", "/a/b:c/d", "/:", "/sub/..:/x",
                          "/..::$INDEX_ALLOCATION/secret"})
        EXPECT_EQ(normalize_target(t).error, TargetError::reserved_name) << t;
}

TEST(NormalizeTarget, TrailingDotOrSpaceIsReserved) {
    for (const char* t : {"/.hidden.", "/.hidden%20", "/secret.txt.", "/secret.txt%20", "/index.html%2e",
                          "/index.html%2E", "/index.html.%20.", "/sub./file.txt", "/sub%20/file.txt", "/%20",
                          "/...", "/..%2e", "/.../secret.txt", "/.. /secret.txt", "/..%20/secret.txt",
                          "/. /x", "/sub/.%20", "/a/b.. "})
        EXPECT_EQ(normalize_target(t).error, TargetError::reserved_name) << t;
    // "." and ".." themselves are dot-segments, removed as before.
    EXPECT_EQ(normalize_target("/sub/./x/..").error, TargetError::none);
    EXPECT_EQ(normalize_target("/sub/%2e/x/%2e%2e/").path(), "/sub");
}

TEST(NormalizeTarget, DosDeviceNamesAreReserved) {
    for (const char* t : {"/CON", "/con", "/Con", "/con.txt", "/nul", "/NUL.tar.gz", "/AUX.html", "/prn",
                          "/a/COM1", "/a/Com1.log", "/COM9", "/lpt1", "/LPT9.txt", "/CONIN$", "/conout$",
                          "/CONOUT$.txt", "/CON%20.txt", "/con%20%20.txt", "/nul%20", "/nul.", "/COM%C2%B9",
                          "/com%C2%B2.txt", "/LPT%C2%B3", "/CON/index.html", "/CON/../index.html"})
        EXPECT_EQ(normalize_target(t).error, TargetError::reserved_name) << t;
    // Names that only look like devices stay ordinary files.
    for (const char* t : {"/console", "/CONS.txt", "/nul_device", "/null", "/COM10", "/COM0", "/LPT0.txt",
                          "/com", "/LPT", "/xCON", "/CONx.txt", "/COM1x", "/my.con", "/a.nul.txt", "/%20CON",
                          "/COM%C2%B9x", "/COM%C2%B4", "/CONIN", "/CONOUT"}) {
        const auto r = normalize_target(t);
        EXPECT_EQ(r.error, TargetError::none) << t;
        EXPECT_EQ(r.segments.size(), 1u) << t;
    }
}

TEST(NormalizeTarget, CharactersWindowsForbidsAreReserved) {
    for (const char* t : {"/foo<bar", "/foo>bar", "/foo\"bar", "/foo|bar", "/foo*bar", "/foo%3Cbar", "/foo%3ebar",
                          "/foo%22bar", "/foo%7Cbar", "/foo%7cbar", "/foo%2Abar", "/foo%3Fbar", "/foo%3fbar?q",
                          "/dir%3F/x", "/*", "/%3F"})
        EXPECT_EQ(normalize_target(t).error, TargetError::reserved_name) << t;
    // A raw '?' starts the query, it is not part of the name.
    const auto q = normalize_target("/foo?bar");
    EXPECT_EQ(q.error, TargetError::none);
    EXPECT_EQ(q.path(), "/foo");
    EXPECT_EQ(q.query, "?bar");
    // Control bytes stay malformed (400), whatever else the segment holds.
    for (const char* t : {"/a%01b", "/a%1fb", "/a%7fb", "/a%09b", "/con%0a"})
        EXPECT_EQ(normalize_target(t).error, TargetError::bad_byte) << t;
}

TEST(NormalizeTarget, OrdinaryNamesStillWork) {
    // UTF-8, spaces inside, a '~' with digits (8.3 aliases are the Windows backend's job), and the
    // sub-delimiters Windows allows.
    const std::vector<std::pair<std::string, std::string>> cases{
        {"/%E5%AE%9E%E9%AA%8C.html", "\xe5\xae\x9e\xe9\xaa\x8c.html"},
        {"/\xe5\xae\x9e\xe9\xaa\x8c.html", "\xe5\xae\x9e\xe9\xaa\x8c.html"},
        {"/my%20page.html", "my page.html"},
        {"/%20leading.txt", " leading.txt"},
        {"/PROGRA~1", "PROGRA~1"},
        {"/HIDDEN~1.TXT", "HIDDEN~1.TXT"},
        {"/a.b.c", "a.b.c"},
        {"/%2541.txt", "%41.txt"},
        {"/a;b=c,d&e+f!g$h'i(j)k@l", "a;b=c,d&e+f!g$h'i(j)k@l"},
        {"/archive.tar.gz", "archive.tar.gz"},
        {"/%C3%BC", "\xc3\xbc"},
        {"/COM%C2%B9x", "COM\xc2\xb9x"},
    };
    for (const auto& [target, name] : cases) {
        const auto t = normalize_target(target);
        EXPECT_EQ(t.error, TargetError::none) << target;
        EXPECT_EQ(t.segments, (std::vector<std::string>{name})) << target;
    }
}

TEST(NormalizeTarget, DotfilesAreStillRecognisedByName) {
    EXPECT_TRUE(normalize_target("/.hidden").has_dot_segment());
    EXPECT_TRUE(normalize_target("/%2ehidden").has_dot_segment());
    EXPECT_TRUE(normalize_target("/sub/.git/config").has_dot_segment());
    EXPECT_TRUE(normalize_target("/.a~1").has_dot_segment());
    EXPECT_FALSE(normalize_target("/HIDDEN~1").has_dot_segment());  // an alias: the backend's job
    // Dotfile spellings Windows would strip to ".hidden" are refused before the dotfile rule.
    EXPECT_EQ(normalize_target("/.hidden.").error, TargetError::reserved_name);
    EXPECT_EQ(normalize_target("/.hidden%20").error, TargetError::reserved_name);
    EXPECT_EQ(normalize_target("/.hidden::$DATA").error, TargetError::reserved_name);
}

TEST(IsPortableName, SegmentRules) {
    EXPECT_TRUE(is_portable_name("index.html"));
    EXPECT_TRUE(is_portable_name(".env"));  // hidden by another rule, not by this one
    EXPECT_TRUE(is_portable_name("\xe5\xae\x9e\xe9\xaa\x8c.html"));
    EXPECT_TRUE(is_portable_name("a b"));
    for (const char* n : {"", ".", "..", "...", "a.", "a ", "a/b", "a\\b", "a:b", "a<b", "a>b", "a\"b", "a|b",
                          "a?b", "a*b", "a\tb", "a\x7f", "CON", "con.txt", "Nul .x", "COM3", "lpt\xc2\xb3.txt",
                          "CONIN$", "conout$.log"})
        EXPECT_FALSE(is_portable_name(n)) << n;
    EXPECT_FALSE(is_portable_name(std::string_view("a\0b", 3)));
}

TEST(NormalizeTarget, ErrorsLeaveNoSegments) {
    for (const char* t : {"/a/CON", "/a/b:c", "/a/b.", "/../x", "/a%5cb"}) {
        const auto r = normalize_target(t);
        EXPECT_NE(r.error, TargetError::none) << t;
        EXPECT_TRUE(r.segments.empty()) << t;
    }
}

TEST(PercentEncodePath, EncodesWhatIsNotSafe) {
    EXPECT_EQ(percent_encode_path("/\xc3\xbc dir/"), "/%C3%BC%20dir/");
    EXPECT_EQ(percent_encode_path("/a?b#c%d\\"), "/a%3Fb%23c%25d%5C");
}

TEST(ParseRange, FormsAndMerging) {
    auto r = parse_range("bytes=0-9,5-20", 100);
    EXPECT_EQ(r.result, RangeResult::satisfiable);
    EXPECT_EQ(r.range.first, 0u);
    EXPECT_EQ(r.range.last, 20u);
    EXPECT_EQ(parse_range("bytes=0-9,10-19", 100).range.last, 19u);
    EXPECT_EQ(parse_range("bytes=0-9,11-19", 100).result, RangeResult::disjoint);
    EXPECT_EQ(parse_range("bytes=-5", 100).range.first, 95u);
    EXPECT_EQ(parse_range("bytes=-500", 100).range.first, 0u);
    EXPECT_EQ(parse_range("bytes=90-500", 100).range.last, 99u);
    EXPECT_EQ(parse_range("bytes=100-", 100).result, RangeResult::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=-0", 100).result, RangeResult::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=0-", 0).result, RangeResult::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=5-2", 100).result, RangeResult::none);
    EXPECT_EQ(parse_range("items=0-1", 100).result, RangeResult::none);
    EXPECT_EQ(parse_range("bytes=18446744073709551616-", 100).result, RangeResult::none);
    EXPECT_EQ(parse_range("bytes=0-18446744073709551615", 100).range.last, 99u);
    std::string many = "bytes=";
    for (std::size_t i = 0; i <= max_ranges; ++i) many += std::to_string(i) + "-" + std::to_string(i) + ",";
    EXPECT_EQ(parse_range(many, 100).result, RangeResult::none);
}

TEST(EntityTags, WeakAndStrongComparison) {
    EXPECT_TRUE(etag_list_matches_weak("\"a\", W/\"x\"", "\"x\""));
    EXPECT_TRUE(etag_list_matches_weak("*", "\"x\""));
    EXPECT_FALSE(etag_list_matches_weak("\"y\"", "\"x\""));
    EXPECT_TRUE(etag_list_matches_strong("\"a\", \"x\"", "\"x\""));
    EXPECT_FALSE(etag_list_matches_strong("W/\"x\"", "\"x\""));
    EXPECT_TRUE(etag_list_matches_strong(" * ", "\"x\""));
}

TEST(HttpDate, ThreeFormatsAndRoundTrip) {
    const auto a = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    const auto b = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT");
    const auto c = parse_http_date("Sun Nov  6 08:49:37 1994");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(*a, *c);
    EXPECT_EQ(http_date(*a), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_FALSE(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("yesterday"));
}

// Seconds since the epoch of a parsed date, or a marker when it did not parse.
long long epoch_seconds(std::string_view text) {
    const auto d = parse_http_date(text);
    if (!d) return -1'000'000'000'000'000LL;
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(d->time_since_epoch()).count());
}

TEST(HttpDate, YearsBeyondNanosecondClocksAreExactAndOrdered) {
    // After 2262-04-11 and before 1677 a count of nanoseconds overflows 64 bits (UBSan: signed
    // overflow); dates are whole seconds, so every year 0000-9999 is exact.
    EXPECT_EQ(epoch_seconds("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
    EXPECT_EQ(epoch_seconds("Fri Dec 31 23:59:59 9999"), 253402300799LL);  // asctime
    EXPECT_EQ(epoch_seconds("Sat, 12 Apr 2262 00:00:00 GMT"), 9223372800LL);  // just past the ns limit
    EXPECT_EQ(epoch_seconds("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    EXPECT_EQ(epoch_seconds("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
    EXPECT_EQ(epoch_seconds("Sat, 01 Jan 1600 00:00:00 GMT"), -11676096000LL);
    EXPECT_EQ(epoch_seconds("Mon, 01 Jan 0001 00:00:00 GMT"), -62135596800LL);
    EXPECT_EQ(epoch_seconds("Tuesday, 31-Dec-69 23:59:59 GMT"), 3155759999LL);  // RFC 850: 2069
    EXPECT_LT(*parse_http_date("Sun, 13 Sep 2020 12:26:40 GMT"), *parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"));
    EXPECT_GT(*parse_http_date("Sun, 13 Sep 2020 12:26:40 GMT"), *parse_http_date("Mon, 01 Jan 0001 00:00:00 GMT"));
    // No format has more than four digits of year, or a sign: invalid, so the header is ignored.
    EXPECT_FALSE(parse_http_date("Sun, 01 Jan 99999 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun Jan  1 00:00:00 99999"));
    EXPECT_FALSE(parse_http_date("Sun, 01 Jan -999 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 01 Jan 2262 24:00:00 GMT"));
}

}  // namespace
