// Explanations shared by the renderers (terminal text, HTML report): catalogue texts formatted
// with their named arguments, and the sentences more than one renderer prints.
#pragma once

#include "labtool/analysis/events.hpp"
#include "messages.hpp"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

namespace labtool::cli {

/// The catalogue text of `m` in `lang`, formatted with named arguments (fmt::arg). A text that
/// does not format comes back with "[format error: key]" appended, which the tests look for.
template <typename... Args>
std::string format_msg(Lang lang, Msg m, Args&&... args) {
    const std::string_view f = text(lang, m);
    try {
        return fmt::format(fmt::runtime(f), std::forward<Args>(args)...);
    } catch (const fmt::format_error&) {
        return std::string(f) + " [format error: " + std::string(msg_name(m)) + "]";
    }
}

/// "the client" / "the server" (客户端 / 服务器).
std::string side_text(Lang lang, analysis::Direction d);

/// Why a FIN came again after the connection ended, or what the new ACK of it means.
std::string late_teardown_text(Lang lang, const analysis::Teardown& e);

}  // namespace labtool::cli
