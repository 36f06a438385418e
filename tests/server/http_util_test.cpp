// Unit tests for the file server's pure helpers: request-target normalisation, UTF-8, Range
// parsing with merging, entity-tag lists and the three HTTP-date formats.
#include "http_util.hpp"

#include <gtest/gtest.h>

#include <string>
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

}  // namespace
