// Explanations shared by the renderers (terminal text, HTML report): catalogue texts formatted
// with their named arguments, and the sentences more than one renderer prints.
#pragma once

#include "labtool/analysis/events.hpp"
#include "messages.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// Columns `text` takes in a terminal: CJK and other wide characters two, the rest one.
std::size_t display_width(std::string_view text);
/// The longest prefix of `s` (whole UTF-8 characters) that fits `width` columns.
std::string cut_to_width(const std::string& s, std::size_t width);
/// `text` broken into lines of at most `width` columns (the first after `first_indent`, the
/// rest after `indent` spaces): between words, and between CJK characters.
std::vector<std::string> wrap_text(std::string_view text, std::size_t width, std::size_t first_indent,
                                   std::size_t indent);

/// A lane of a sequence diagram: "client :52126", "labtool :3000" (`server_name` names the
/// server's lane), the same in the terminal ladder and the HTML report.
std::string lane_name(Lang lang, analysis::Direction side, std::uint16_t port, const std::string& server_name);

/// "0.163 ms" below a second, "2.000 s" from a second on (毫秒 / 秒 in Chinese).
std::string duration_text(Lang lang, double seconds);

/// The sentence of an analysis rule that fired, with its numbers ("seq 1 < next expected 1001").
std::string rule_text(Lang lang, const analysis::AnalysisRule& rule);
/// An analysis flag's display name (index 0..14): English its JSON name ("window_full"),
/// Chinese a term with that name in brackets ("窗口已满（window_full）").
std::string flag_label(Lang lang, int flag_index);

/// "the client" / "the server" (客户端 / 服务器).
std::string side_text(Lang lang, analysis::Direction d);

/// "closed with FIN; the client closed first", "aborted by RST from the server" … (end line).
std::string close_how_text(Lang lang, const analysis::ConnectionEnd& e);
/// The summary table's cell: "FIN by client", "FINs crossed", "RST by server", "open".
std::string close_cell_text(Lang lang, const analysis::ConnectionEnd& e);

/// The close as a whole: 3-packet, 4-packet or crossed FINs (nothing for a reset or no close).
std::optional<std::string> close_pattern_text(Lang lang, const analysis::ConnectionEnd& e);

/// A connection's checksums, when any was not valid: the counts, and the explanation of each
/// kind seen (keyed by message, so a renderer can say it once per run).
struct ChecksumText {
    std::string line;
    std::vector<std::pair<Msg, std::string>> explanations;
};
ChecksumText checksum_text(Lang lang, const analysis::ChecksumCounts& counts, bool ipv6);

/// Why a FIN came again after the connection ended, or what the new ACK of it means.
std::string late_teardown_text(Lang lang, const analysis::Teardown& e);

}  // namespace labtool::cli
