// Names of the TCP states as RFC 9293 §3.3.2 spells them.
#include "labtool/analysis/tcp_state.hpp"

namespace labtool::analysis {

std::string_view state_name(TcpState state) noexcept {
    switch (state) {
        case TcpState::closed: return "CLOSED";
        case TcpState::listen: return "LISTEN";
        case TcpState::syn_sent: return "SYN-SENT";
        case TcpState::syn_received: return "SYN-RECEIVED";
        case TcpState::established: return "ESTABLISHED";
        case TcpState::fin_wait_1: return "FIN-WAIT-1";
        case TcpState::fin_wait_2: return "FIN-WAIT-2";
        case TcpState::close_wait: return "CLOSE-WAIT";
        case TcpState::closing: return "CLOSING";
        case TcpState::last_ack: return "LAST-ACK";
        case TcpState::time_wait: return "TIME-WAIT";
    }
    return "UNKNOWN";
}

}  // namespace labtool::analysis
