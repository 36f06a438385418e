// Both catalogues have every message, and each translation uses exactly the same named
// arguments as the English text (a missing or extra {name} would fail at run time).
#include "explain.hpp"
#include "messages.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>

namespace labtool::cli {
namespace {

std::set<std::string> placeholders(std::string_view text) {
    std::set<std::string> names;
    static const std::regex re(R"(\{([a-z_]+)\})");
    const std::string s(text);
    for (std::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it) names.insert((*it)[1]);
    return names;
}

TEST(Messages, EveryKeyIsInBothCatalogues) {
    for (std::size_t i = 0; i < msg_count; ++i) {
        const auto m = static_cast<Msg>(i);
        EXPECT_FALSE(text(Lang::en, m).empty()) << "English lacks " << msg_name(m);
        EXPECT_FALSE(text(Lang::zh, m).empty()) << "Chinese lacks " << msg_name(m);
    }
}

TEST(Messages, TranslationsUseTheSameArguments) {
    for (std::size_t i = 0; i < msg_count; ++i) {
        const auto m = static_cast<Msg>(i);
        EXPECT_EQ(placeholders(text(Lang::en, m)), placeholders(text(Lang::zh, m))) << msg_name(m);
    }
}

// Every analysis rule (each flag, and both zero-window-probe variants) formats in both
// languages with all its numbers set; the English sentences are the ones labtool always printed.
TEST(Messages, EveryAnalysisRuleFormats) {
    namespace a = labtool::analysis;
    std::set<std::string> texts[2];
    for (int i = 0; i < a::analysis_flag_count; ++i) {
        for (std::uint8_t variant = 0; variant < 2; ++variant) {
            const auto flag = static_cast<a::AnalysisFlag>(1u << i);
            if (variant == 1 && flag != a::AnalysisFlag::zero_window_probe) continue;
            const a::AnalysisRule r{flag, variant, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13.5, 14.25};
            for (const Lang lang : {Lang::en, Lang::zh}) {
                const std::string t = rule_text(lang, r);
                EXPECT_FALSE(t.empty()) << a::analysis_flag_name(i) << " variant " << int(variant);
                EXPECT_EQ(t.find("[format error"), std::string::npos) << t;
                EXPECT_EQ(t.find('{'), std::string::npos) << t;
                texts[lang == Lang::zh].insert(t);
            }
        }
        EXPECT_EQ(flag_label(Lang::en, i), a::analysis_flag_name(i));
        const std::string zh = flag_label(Lang::zh, i);
        EXPECT_NE(zh.find("（" + std::string(a::analysis_flag_name(i)) + "）"), std::string::npos) << zh;
    }
    EXPECT_EQ(texts[0].size(), 16u);   // one distinct sentence per rule
    EXPECT_EQ(texts[1].size(), 16u);
    a::AnalysisRule r{a::AnalysisFlag::retransmission};
    r.seq = 1;
    r.next = 1001;
    EXPECT_EQ(rule_text(Lang::en, r), "seq 1 < next expected 1001");
    r = {a::AnalysisFlag::out_of_order};
    r.seq = 1;
    r.next = 3001;
    r.ms = 1;
    r.limit_ms = 2;
    EXPECT_EQ(rule_text(Lang::en, r), "seq 1 < next expected 3001, 1.000 ms after it (< 2.000 ms)");
    r = {a::AnalysisFlag::zero_window_probe, 1};
    r.seq = 1000;
    r.next = 1001;
    EXPECT_EQ(rule_text(Lang::en, r), "len 0 at seq 1000 = next expected 1001 - 1 while the peer's window is 0 (Linux probe)");
}

// setenv/unsetenv, or their Windows equivalent (_putenv_s; an empty value removes the variable).
void set_env(const char* name, const char* value) {
#ifdef _WIN32
    ::_putenv_s(name, value != nullptr ? value : "");
#else
    if (value != nullptr) ::setenv(name, value, 1);
    else ::unsetenv(name);
#endif
}

TEST(Messages, LanguageFromTheLocale) {
    Lang l = Lang::en;
    EXPECT_TRUE(parse_lang("zh", l));
    EXPECT_EQ(l, Lang::zh);
    EXPECT_FALSE(parse_lang("fr", l));
    set_env("LC_ALL", "zh_CN.UTF-8");
    EXPECT_EQ(lang_from_environment(), Lang::zh);
    set_env("LC_ALL", "C.UTF-8");
    EXPECT_EQ(lang_from_environment(), Lang::en);
    set_env("LC_ALL", nullptr);
}

}  // namespace
}  // namespace labtool::cli
