// The events the engine emits: plain facts with frame numbers, stream index and direction.
// Words and colours are added by renderers (cli/), never here.
#pragma once

#include "labtool/analysis/decode.hpp"
#include "labtool/analysis/seq_analysis.hpp"
#include "labtool/analysis/tcp_state.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace labtool::analysis {

enum class Direction { client_to_server, server_to_client };

/// Fields every event has. `frame` is the 1-based frame that completed the event (Wireshark's
/// numbering); `time` is seconds since the first frame of the capture.
struct EventBase {
    std::uint32_t stream = 0;
    std::uint64_t frame = 0;
    double time = 0.0;
};

struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;
};

/// A side's TCP state from a frame on (RFC 9293 §3.3.2): the sequence of these per side only
/// follows RFC 9293 transitions.
struct StateChange {
    TcpState state = TcpState::closed;
    std::uint64_t frame = 0;
};

/// What ended a data segment where it ended, as far as the capture shows.
enum class SegmentLimit : std::uint8_t {
    unknown,
    mss,          // it carried the receiver's MSS minus the options in it (or more: loopback)
    window,       // it filled the receiver's advertised window (Wireshark's window_full)
    write_end,    // PSH: the end of one write by the sender's application
};

/// How the connection was closed (RFC 9293 §3.6).
enum class ClosePattern : std::uint8_t {
    three_packet,   // the second FIN rode on the ACK of the first
    four_packet,    // the first FIN was acknowledged alone, the other FIN came later
    simultaneous,   // the FINs crossed: neither FIN acknowledged the other
    rst,            // aborted by a reset
    open,           // not closed by both sides in the capture
};


struct ChecksumCounts {
    std::array<std::uint32_t, checksum_status_count> ipv4{};   // IPv4 header checksum (IPv6 has none)
    std::array<std::uint32_t, checksum_status_count> tcp{};
};

/// How big a direction's segments could be, from the handshake, and what they were; with the
/// arithmetic for an Ethernet link carrying the same options.
struct SegmentSizing {
    bool mss_known = false;              // the receiver's SYN (with an MSS) was captured
    bool ipv6 = false;
    std::uint16_t mss = 0;               // announced by the receiver: payload bytes per segment it accepts
    std::uint32_t ip_header = 20;        // 20 (IPv4 without options) or 40 (IPv6)
    std::uint32_t largest_ip_packet = 0; // mss + ip_header + 20: the packet size that MSS stands for
    std::uint32_t option_bytes = 0;      // TCP option bytes in the sender's data segments (12: timestamps)
    std::uint32_t max_payload = 0;       // mss - option_bytes
    std::uint32_t largest = 0;           // largest payload seen in these segments
    std::uint64_t largest_frame = 0;
    std::uint32_t ethernet_mss = 0;      // 1500 - ip_header - 20
    std::uint32_t ethernet_payload = 0;  // ethernet_mss - option_bytes
    std::uint64_t ethernet_segments = 0; // ceil(bytes / ethernet_payload)
};

std::string_view close_pattern_name(ClosePattern p) noexcept;     // "three_packet" …
std::string_view segment_limit_name(SegmentLimit l) noexcept;     // "mss", "window", "write_end", "unknown"
std::string_view checksum_status_name(ChecksumStatus c) noexcept; // "valid", "invalid", "not_computed", "unverified"

/// "127.0.0.1:52126" or "[::1]:3000".
std::string to_string(const Endpoint& endpoint);

/// ASCII case-insensitive equality, as HTTP field names compare (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// First packet of a connection. `handshake_seen` is false when the capture picked the
/// connection up mid-stream (then sequence numbers are relative to the first byte seen).
struct ConnectionOpened : EventBase {
    Endpoint client;
    Endpoint server;
    bool handshake_seen = true;
    /// Another connection of the same client to the same server was still open (browsers
    /// open a few in parallel): its stream number.
    std::optional<std::uint32_t> alongside;
};

/// One of the three handshake packets (RFC 9293 §3.5).
struct Handshake : EventBase {
    int step = 1;                        // 1 SYN, 2 SYN-ACK, 3 ACK
    Direction from = Direction::client_to_server;
    std::uint32_t seq_raw = 0;
    std::uint32_t ack_raw = 0;           // 0 on step 1
    std::uint32_t seq_rel = 0;
    std::uint32_t ack_rel = 0;
    std::uint32_t peer_isn = 0;          // steps 2, 3: the ISN this packet acknowledges
    bool ack_is_peer_isn_plus_1 = false; // steps 2, 3: ack_raw == peer_isn + 1
    std::uint16_t window = 0;            // raw window field
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;
    bool sack_perm = false;
    bool timestamps = false;
    bool retransmission = false;         // a repeated SYN or SYN-ACK
    TcpState client_state = TcpState::closed;  // after this packet
    TcpState server_state = TcpState::closed;
};

/// A segment of a message as it travelled: the frame, its relative seq and payload length.
struct SegmentRef {
    std::uint64_t frame = 0;
    std::uint32_t seq_rel = 0;
    std::uint32_t len = 0;
    std::uint64_t acked_by = 0;          // frame of the first ACK covering it; 0 = not yet
    std::uint8_t flags = 0;              // the segment's TCP flags (PSH, FIN …)
    double time = 0.0;                   // when it was captured (seconds since the first frame)
    SegmentLimit limit = SegmentLimit::unknown;
};

struct HttpHeader {
    std::string name;
    std::string value;
};

/// An HTTP/1.x request, parsed from the client's reassembled byte stream.
struct HttpRequest : EventBase {
    Direction from = Direction::client_to_server;
    std::string method;
    std::string uri;
    std::string version;                 // "HTTP/1.1"
    std::vector<HttpHeader> headers;     // in order, as sent (capped)
    std::uint64_t header_bytes = 0;
    std::uint64_t body_bytes = 0;
    bool headers_truncated = false;      // only the request line was captured
    std::vector<SegmentRef> segments;    // the first 32 and the last 32 (see segment_count)
    std::uint64_t segment_count = 0;     // every segment that carried it
    std::uint32_t index = 0;             // 0-based request number on this connection
    /// Another connection of the same client to the same server was still waiting for the
    /// answer to this request (HTTP/1.1 answers one at a time per connection): its stream and URI.
    /// More than 256 requests were waiting for answers on this connection: from here on labtool
    /// does not pair responses with requests (it could pair them wrongly).
    bool pairing_stopped = false;
    std::optional<std::uint32_t> busy_stream;
    std::optional<std::string> busy_uri;
};

/// An HTTP/1.x response, paired in order with the request it answers (RFC 9112 §9.3.2).
struct HttpResponse : EventBase {
    Direction from = Direction::server_to_client;
    int status = 0;
    std::string reason;
    std::string version;
    std::vector<HttpHeader> headers;
    std::optional<std::uint64_t> content_length;
    std::optional<std::string> content_range;
    std::optional<std::string> content_type;
    bool chunked = false;
    std::vector<std::uint64_t> chunk_sizes;  // chunked: each chunk's size in order (the last is 0)
    bool multipart_byteranges = false;   // a 206 carrying several ranges (RFC 9110 §14.6)
    std::uint64_t header_bytes = 0;
    std::uint64_t body_bytes = 0;        // body bytes seen (decoded size for chunked)
    bool complete = true;                // false: the connection ended before the body did
    bool headers_truncated = false;      // only the status line was captured
    std::optional<std::string> request_method;
    std::optional<std::string> request_uri;
    std::uint64_t request_frame = 0;     // 0: no request seen for it
    std::optional<double> time_since_request;  // seconds from the request's frame to this one
    std::optional<double> time_to_first_byte;  // seconds from the request to the first segment of this response
    std::vector<SegmentRef> segments;    // the TCP segments that carried it, headers included:
                                         // the first 32 and the last 32 when there are more
    std::uint64_t segment_count = 0;     // every segment that carried it
    std::uint32_t index = 0;
    bool interim = false;                // 1xx other than 101: the final response follows (RFC 9110 §15.2)
    /// Content-Range "bytes first-last/complete" parsed (206); whole_file: it covers every byte.
    std::optional<std::uint64_t> range_first;
    std::optional<std::uint64_t> range_last;
    std::optional<std::uint64_t> range_complete;
    bool range_whole_file = false;
    std::optional<double> keep_alive_timeout;   // Keep-Alive: timeout=N, seconds
    /// Segment facts: how many ended at the MSS, at the receiver's window, at a write (PSH).
    std::uint32_t ended_by_mss = 0;
    std::uint32_t ended_by_window = 0;
    std::uint32_t ended_by_write = 0;
    std::uint32_t psh_segments = 0;
    SegmentSizing sizing;
    /// A reset (or the end of the capture) cut it off: bytes announced but not seen.
    std::optional<std::uint64_t> bytes_missing;
    bool cut_by_reset = false;
};

/// The client's ACKs covered the last byte of a response.
struct ResponseAcked : EventBase {
    Direction from = Direction::client_to_server;
    std::uint32_t response_index = 0;
    std::optional<std::string> request_uri;
    int status = 0;
    std::uint32_t ack_rel = 0;
    std::vector<SegmentRef> segments;    // with acked_by filled in (the response's kept list)
    std::uint64_t segment_count = 0;
    std::vector<std::uint64_t> ack_frames;  // the distinct ACK frames that acknowledged them
};

/// A packet of the connection teardown: each FIN, and each packet that first acknowledges one.
struct Teardown : EventBase {
    int step = 1;
    Direction from = Direction::client_to_server;
    std::uint8_t flags = 0;
    std::uint32_t seq_rel = 0;
    std::uint32_t ack_rel = 0;
    std::uint32_t seq_raw = 0;
    std::uint32_t ack_raw = 0;
    std::uint32_t len = 0;
    bool fin = false;
    bool acks_fin = false;               // acknowledges the peer's FIN (ack = FIN's seq + 1)
    TcpState client_state = TcpState::closed;  // after this packet
    TcpState server_state = TcpState::closed;
    /// After the connection ended: a FIN sent again (its sender never got the ACK), or the new
    /// ACK of such a FIN. fin_frame: for a FIN again, the frame of its first copy; for the ACK,
    /// the frame of the resent FIN it acknowledges.
    bool after_end = false;
    std::uint64_t fin_frame = 0;
    double since_first_fin = 0;          // seconds from the first copy to this one (a FIN again)
    /// This FIN does not acknowledge the peer's FIN sent before it: the two FINs crossed
    /// (simultaneous close, RFC 9293 §3.6 figure 13), on both FIN steps.
    bool crossed = false;
    /// The second FIN rides on the ACK of the first: a 3-packet close (set on that packet).
    bool merged_with_ack = false;
    /// The first FIN of the connection: seconds since the connection's previous packet, and
    /// the Keep-Alive timeout the sender announced (when it sent one).
    std::optional<double> idle_before;
    std::optional<double> keep_alive_timeout;
    bool idle_close = false;             // the sender closed after the idle time it announced
    /// The receiver of a FIN that also acknowledges its own FIN skips FIN-WAIT-2.
    bool skips_fin_wait_2 = false;
    std::optional<Direction> enters_time_wait;   // the side that entered TIME-WAIT with this packet
    std::optional<double> after_peer_fin;    // the second FIN: seconds after the first one
};

/// A packet with RST: the connection is aborted (RFC 9293 §3.5.2).
struct Reset : EventBase {
    Direction from = Direction::client_to_server;
    std::uint8_t flags = 0;
    std::uint32_t seq_rel = 0;
    std::uint32_t seq_raw = 0;
    TcpState client_state_before = TcpState::closed;
    TcpState server_state_before = TcpState::closed;
    bool after_end = false;              // the connection had already ended (a late RST)
};

/// Bytes of one direction that were never captured (or cut by the snaplen): the byte stream
/// has a hole; HTTP parsing resumes at the next message it recognises.
enum class GapReason : std::uint8_t {
    not_captured,   // the capture does not have these bytes (loss before the capture point, snaplen)
    buffer_full,    // labtool gave them up: its buffer for out-of-order data was full
};

struct StreamGap : EventBase {
    Direction from = Direction::client_to_server;
    std::uint32_t seq_rel = 0;
    std::uint64_t bytes = 0;
    GapReason reason = GapReason::not_captured;
};

/// Bytes that could not be parsed as HTTP/1.x (another protocol, or garbage).
struct HttpParseError : EventBase {
    Direction from = Direction::client_to_server;
    std::string reason;
};

/// One TCP frame with its numbers and Wireshark-style analysis (emitted when
/// EngineOptions::emit_packets is set), before the higher-level events of the same frame.
struct PacketInfo : EventBase {
    Direction from = Direction::client_to_server;
    std::uint8_t flags = 0;
    std::uint32_t seq_rel = 0;
    std::uint32_t ack_rel = 0;           // 0 when the ACK flag is not set
    std::uint32_t seq_raw = 0;
    std::uint32_t ack_raw = 0;
    std::uint32_t len = 0;
    std::uint32_t next_seq_rel = 0;      // seq + len (+1 for SYN or FIN)
    ChecksumStatus ip_checksum = ChecksumStatus::valid;   // IPv4 only (IPv6: valid)
    ChecksumStatus tcp_checksum = ChecksumStatus::valid;
    std::uint8_t option_bytes = 0;       // TCP option bytes in this segment
    std::uint16_t window_raw = 0;
    std::optional<std::uint32_t> ts_val;
    std::optional<std::uint32_t> ts_ecr;
    PacketAnalysis analysis;             // flags, rules, window (scaled), bytes in flight, RTT, SACK
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sack_rel;  // SACK edges, relative like `ack`
};

enum class CloseKind { fin, rst, open };

struct DirectionTotals {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;            // TCP payload bytes
    std::uint32_t largest_segment = 0;  // largest payload in one segment
    std::uint64_t largest_frame = 0;
    std::optional<std::uint16_t> mss;   // announced in this side's SYN
    bool timestamps = false;            // this side's segments carry the timestamp option
};

/// One per connection: when it is fully closed, reset, or the capture ended.
struct ConnectionEnd : EventBase {
    Endpoint client;
    Endpoint server;
    CloseKind close_kind = CloseKind::open;
    std::optional<Direction> closed_first;   // who sent the first FIN (or the RST)
    TcpState client_state = TcpState::closed;
    TcpState server_state = TcpState::closed;
    DirectionTotals client_to_server;
    DirectionTotals server_to_client;
    std::uint32_t requests = 0;
    std::uint32_t responses = 0;
    std::uint64_t first_frame = 0;
    double duration = 0.0;
    bool handshake_seen = true;
    std::uint64_t gap_bytes = 0;
    int completeness = 0;                // Wireshark's tcp.completeness bitmask
    std::string conn_state;              // Zeek's conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, …
    std::string history;                 // Zeek's history letters (client upper case)
    std::array<std::uint32_t, analysis_flag_count> analysis_counts{};
    std::optional<double> initial_rtt;   // seconds, SYN to the handshake's ACK
    ClosePattern close_pattern = ClosePattern::open;
    std::uint32_t teardown_packets = 0;  // FINs and the packets that first acknowledged them
    std::vector<StateChange> client_states;   // from the first frame on
    std::vector<StateChange> server_states;
    ChecksumCounts checksums;
    /// No request was sent on it; preconnect: and it was opened while another connection of
    /// the same client to the same server was open (a browser's spare connection).
    bool unused = false;
    bool preconnect = false;
    std::optional<std::uint32_t> alongside;   // see ConnectionOpened
};

using Event = std::variant<PacketInfo, ConnectionOpened, Handshake, HttpRequest, HttpResponse, ResponseAcked,
                           Teardown, Reset, StreamGap, HttpParseError, ConnectionEnd>;

/// The common fields of any event.
const EventBase& base_of(const Event& event) noexcept;

/// Stable machine name of the event kind: "handshake", "http_request", …
std::string_view event_name(const Event& event) noexcept;

}  // namespace labtool::analysis
