// The teaching text: one catalogue per language (English, Simplified Chinese), looked up by key.
// Renderers format these with named arguments ({isn}, {ack} …); no sentence is written anywhere
// else, and a test fails when a key is missing from either catalogue.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace labtool::cli {

enum class Lang { en, zh };

/// --lang, or from LC_ALL / LC_MESSAGES / LANG ("zh_CN.UTF-8" → zh); English otherwise.
Lang lang_from_environment();
bool parse_lang(std::string_view text, Lang& out);

enum class Msg : int {
#define LABTOOL_MSG(name) name,
#include "messages.def"
#undef LABTOOL_MSG
    count_
};
inline constexpr std::size_t msg_count = static_cast<std::size_t>(Msg::count_);

/// The text of `m` in `lang`; empty when the catalogue lacks it (the catalogue test catches that).
std::string_view text(Lang lang, Msg m);
/// The key's name, for tests and error messages.
std::string_view msg_name(Msg m);

}  // namespace labtool::cli
