#include "explain.hpp"

namespace labtool::cli {

namespace a = labtool::analysis;

std::string side_text(Lang lang, a::Direction d) {
    return format_msg(lang, d == a::Direction::client_to_server ? Msg::side_client : Msg::side_server);
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
