#include "explain.hpp"

#include <algorithm>

namespace labtool::cli {

namespace a = labtool::analysis;

namespace {

std::size_t utf8_length(unsigned char lead) {
    return lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : (lead >> 3) == 30 ? 4 : 1;
}

std::uint32_t code_point(std::string_view s, std::size_t at, std::size_t len) {
    const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
    if (len == 1 || at + len > s.size()) return b(0);
    if (len == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    if (len == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

/// East Asian wide and full-width characters (the ranges labtool's texts use, and their kin).
bool is_wide(std::uint32_t cp) {
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF) ||
           (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
           (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

}  // namespace

std::size_t display_width(std::string_view s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] == '\033') {   // an SGR colour sequence takes no room
            while (i < s.size() && s[i] != 'm') ++i;
            ++i;
            continue;
        }
        const std::size_t len = utf8_length(static_cast<unsigned char>(s[i]));
        w += is_wide(code_point(s, i, len)) ? 2 : 1;
        i += len;
    }
    return w;
}

std::string cut_to_width(const std::string& s, std::size_t width) {
    std::size_t end = 0;
    while (end < s.size()) {
        const std::size_t next = end + utf8_length(static_cast<unsigned char>(s[end]));
        if (next > s.size() || display_width(std::string_view(s).substr(0, next)) > width) break;
        end = next;
    }
    return s.substr(0, end);
}

std::vector<std::string> wrap_text(std::string_view text, std::size_t width, std::size_t first_indent,
                                   std::size_t indent) {
    // Tokens: a run of spaces, a run of narrow non-space characters (a word), or one wide
    // character (CJK text may break between any two characters).
    std::vector<std::string> lines;
    std::string current(first_indent, ' ');
    std::size_t used = first_indent;
    std::size_t start_used = first_indent;
    std::string pending_space;
    for (std::size_t i = 0; i < text.size();) {
        std::size_t j = i;
        bool space = text[i] == ' ';
        bool wide = false;
        if (space) {
            while (j < text.size() && text[j] == ' ') ++j;
        } else {
            const std::size_t len = utf8_length(static_cast<unsigned char>(text[i]));
            wide = is_wide(code_point(text, i, len));
            j = i + len;
            if (!wide)
                while (j < text.size() && text[j] != ' ') {
                    const std::size_t l = utf8_length(static_cast<unsigned char>(text[j]));
                    if (is_wide(code_point(text, j, l))) break;
                    j += l;
                }
        }
        const std::string_view token = text.substr(i, j - i);
        i = j;
        if (space) {
            pending_space = std::string(token);
            continue;
        }
        const std::size_t w = display_width(token);
        // Chinese closing punctuation never starts a line: it stays with what it closes.
        static constexpr std::string_view no_break_before[] = {"，", "。", "；", "：", "、", "）", "！", "？", "」", "』"};
        const bool closing = pending_space.empty() &&
                             std::find(std::begin(no_break_before), std::end(no_break_before), token) != std::end(no_break_before);
        if (!closing && used > start_used && used + pending_space.size() + w > width) {
            lines.push_back(current);
            current = std::string(indent, ' ');
            used = start_used = indent;
            pending_space.clear();
        }
        current += pending_space;
        used += pending_space.size();
        pending_space.clear();
        current += token;
        used += w;
    }
    lines.push_back(current);
    return lines;
}

std::string lane_name(Lang lang, a::Direction side, std::uint16_t port, const std::string& server_name) {
    const std::string who = side == a::Direction::client_to_server ? format_msg(lang, Msg::lane_client) : server_name;
    return who + " :" + std::to_string(port);
}

std::string duration_text(Lang lang, double seconds) {
    if (seconds < 1.0) return format_msg(lang, Msg::unit_ms, fmt::arg("n", fmt::format("{:.3f}", seconds * 1e3)));
    return format_msg(lang, Msg::unit_s, fmt::arg("n", fmt::format("{:.3f}", seconds)));
}

std::string rule_text(Lang lang, const a::AnalysisRule& r) {
    using F = a::AnalysisFlag;
    Msg m = Msg::rule_retransmission;
    switch (r.flag) {
        case F::retransmission: m = Msg::rule_retransmission; break;
        case F::fast_retransmission: m = Msg::rule_fast_retransmission; break;
        case F::spurious_retransmission: m = Msg::rule_spurious_retransmission; break;
        case F::out_of_order: m = Msg::rule_out_of_order; break;
        case F::lost_segment: m = Msg::rule_lost_segment; break;
        case F::ack_lost_segment: m = Msg::rule_ack_lost_segment; break;
        case F::duplicate_ack: m = Msg::rule_duplicate_ack; break;
        case F::zero_window: m = Msg::rule_zero_window; break;
        case F::zero_window_probe:
            m = r.variant == 1 ? Msg::rule_zero_window_probe_linux : Msg::rule_zero_window_probe;
            break;
        case F::zero_window_probe_ack: m = Msg::rule_zero_window_probe_ack; break;
        case F::window_full: m = Msg::rule_window_full; break;
        case F::window_update: m = Msg::rule_window_update; break;
        case F::keep_alive: m = Msg::rule_keep_alive; break;
        case F::keep_alive_ack: m = Msg::rule_keep_alive_ack; break;
        case F::reused_ports: m = Msg::rule_reused_ports; break;
    }
    // Every rule's numbers are offered; each text uses the ones its rule compared.
    return format_msg(lang, m, fmt::arg("seq", r.seq), fmt::arg("next", r.next), fmt::arg("len", r.len),
                      fmt::arg("bytes", r.bytes), fmt::arg("ack", r.ack), fmt::arg("window", r.window),
                      fmt::arg("old_window", r.old_window), fmt::arg("frame", r.frame), fmt::arg("count", r.count),
                      fmt::arg("peer_ack", r.peer_ack), fmt::arg("peer_window", r.peer_window),
                      fmt::arg("highest", r.highest), fmt::arg("ms", fmt::format("{:.3f}", r.ms)),
                      fmt::arg("limit_ms", fmt::format("{:.3f}", r.limit_ms)));
}

std::string flag_label(Lang lang, int flag_index) {
    static constexpr Msg labels[a::analysis_flag_count] = {
        Msg::flag_retransmission, Msg::flag_fast_retransmission, Msg::flag_spurious_retransmission,
        Msg::flag_out_of_order, Msg::flag_lost_segment, Msg::flag_ack_lost_segment, Msg::flag_duplicate_ack,
        Msg::flag_zero_window, Msg::flag_zero_window_probe, Msg::flag_zero_window_probe_ack, Msg::flag_window_full,
        Msg::flag_window_update, Msg::flag_keep_alive, Msg::flag_keep_alive_ack, Msg::flag_reused_ports,
    };
    if (flag_index < 0 || flag_index >= a::analysis_flag_count) return std::string(a::analysis_flag_name(flag_index));
    return format_msg(lang, labels[flag_index]);
}

std::string side_text(Lang lang, a::Direction d) {
    return format_msg(lang, d == a::Direction::client_to_server ? Msg::side_client : Msg::side_server);
}

std::string close_how_text(Lang lang, const a::ConnectionEnd& e) {
    const std::string first = e.closed_first ? side_text(lang, *e.closed_first) : std::string("?");
    switch (e.close_pattern) {
        case a::ClosePattern::simultaneous: return format_msg(lang, Msg::end_fin_crossed);
        case a::ClosePattern::three_packet:
        case a::ClosePattern::four_packet: return format_msg(lang, Msg::end_fin, fmt::arg("side", first));
        case a::ClosePattern::rst: return format_msg(lang, Msg::end_rst, fmt::arg("side", first));
        case a::ClosePattern::open: break;
    }
    return format_msg(lang, Msg::end_open);
}

std::string close_cell_text(Lang lang, const a::ConnectionEnd& e) {
    const std::string first = e.closed_first ? side_text(lang, *e.closed_first) : std::string("?");
    switch (e.close_pattern) {
        case a::ClosePattern::simultaneous: return format_msg(lang, Msg::close_crossed);
        case a::ClosePattern::three_packet:
        case a::ClosePattern::four_packet: return format_msg(lang, Msg::close_by_fin, fmt::arg("side", first));
        case a::ClosePattern::rst: return format_msg(lang, Msg::close_by_rst, fmt::arg("side", first));
        case a::ClosePattern::open: break;
    }
    return format_msg(lang, Msg::close_open);
}

std::optional<std::string> close_pattern_text(Lang lang, const a::ConnectionEnd& e) {
    if (!e.closed_first) return std::nullopt;
    const a::Direction first = *e.closed_first;
    const a::Direction second =
        first == a::Direction::client_to_server ? a::Direction::server_to_client : a::Direction::client_to_server;
    const auto args = [&](Msg m) {
        return format_msg(lang, m, fmt::arg("side", side_text(lang, second)), fmt::arg("other", side_text(lang, first)));
    };
    switch (e.close_pattern) {
        case a::ClosePattern::three_packet: return args(Msg::td_three);
        case a::ClosePattern::four_packet: return args(Msg::td_four_summary);
        case a::ClosePattern::simultaneous: return format_msg(lang, Msg::td_crossed_summary);
        default: return std::nullopt;
    }
}

ChecksumText checksum_text(Lang lang, const a::ChecksumCounts& counts, bool ipv6) {
    ChecksumText out;
    auto nonvalid = [](const auto& c) { return c[1] + c[2] + c[3] > 0; };
    if (!nonvalid(counts.tcp) && !nonvalid(counts.ipv4)) return out;
    static constexpr Msg kinds[] = {Msg::chk_valid, Msg::chk_invalid, Msg::chk_not_computed, Msg::chk_unverified};
    auto list = [&](const auto& c) {
        std::string text;
        for (std::size_t i = 0; i < c.size(); ++i)
            if (c[i]) text += (text.empty() ? "" : format_msg(lang, Msg::list_separator)) + format_msg(lang, kinds[i], fmt::arg("n", c[i]));
        return text.empty() ? format_msg(lang, Msg::rep_none) : text;
    };
    out.line = ipv6 ? format_msg(lang, Msg::chk_line_v6, fmt::arg("tcp", list(counts.tcp)))
                    : format_msg(lang, Msg::chk_line, fmt::arg("tcp", list(counts.tcp)), fmt::arg("ip", list(counts.ipv4)));
    if (counts.tcp[2] || counts.ipv4[2]) out.explanations.emplace_back(Msg::chk_explain, format_msg(lang, Msg::chk_explain));
    if (counts.tcp[1] || counts.ipv4[1])
        out.explanations.emplace_back(Msg::chk_explain_invalid, format_msg(lang, Msg::chk_explain_invalid));
    return out;
}

std::string late_teardown_text(Lang lang, const a::Teardown& e) {
    const std::string side = side_text(lang, e.from);
    if (!e.fin) return format_msg(lang, Msg::td_ack_again, fmt::arg("side", side), fmt::arg("frame", e.fin_frame));
    const a::TcpState sender = e.from == a::Direction::client_to_server ? e.client_state : e.server_state;
    return format_msg(lang, Msg::td_fin_again, fmt::arg("side", side), fmt::arg("frame", e.fin_frame),
                      fmt::arg("ms", fmt::format("{:.1f}", e.since_first_fin * 1000.0)),
                      fmt::arg("state", std::string(a::state_name(sender))));
}

}  // namespace labtool::cli
