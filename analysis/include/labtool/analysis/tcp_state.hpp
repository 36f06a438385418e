// TCP connection states of RFC 9293 §3.3.2 and their standard names.
#pragma once

#include <string_view>

namespace labtool::analysis {

enum class TcpState {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};

/// RFC 9293 spelling: "CLOSED", "SYN-SENT", "FIN-WAIT-1", "TIME-WAIT" …
std::string_view state_name(TcpState state) noexcept;

}  // namespace labtool::analysis
