// Both catalogues have every message, and each translation uses exactly the same named
// arguments as the English text (a missing or extra {name} would fail at run time).
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
