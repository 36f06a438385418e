// JSON lines: one object per event, field names documented in the README's schema section.
#include "explain.hpp"
#include "renderer.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace labtool::cli {
namespace {

using nlohmann::json;
namespace a = labtool::analysis;

const char* side_name(a::Direction d) { return d == a::Direction::client_to_server ? "client" : "server"; }

std::string state(a::TcpState s) { return std::string(a::state_name(s)); }

template <typename T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json headers_json(const std::vector<a::HttpHeader>& headers) {
    // Lowercase names (RFC 9110 §5.1: case-insensitive); repeated fields joined with ", ".
    json out = json::object();
    for (const auto& h : headers) {
        std::string name = h.name;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (out.contains(name)) out[name] = out[name].get<std::string>() + ", " + h.value;
        else out[name] = h.value;
    }
    return out;
}

json segments_json(const std::vector<a::SegmentRef>& segs, bool with_ack) {
    json list = json::array();
    for (const auto& s : segs) {
        json j{{"frame", s.frame}, {"seq", s.seq_rel}, {"len", s.len}};
        if (!with_ack) {
            j["psh"] = (s.flags & a::tcp_flag::psh) != 0;
            j["limit"] = a::segment_limit_name(s.limit);
        }
        if (with_ack) j["acked_by"] = s.acked_by ? json(s.acked_by) : json(nullptr);
        list.push_back(std::move(j));
    }
    return list;
}

json states_json(const std::vector<a::StateChange>& states) {
    json list = json::array();
    for (const auto& s : states) list.push_back({{"state", std::string(a::state_name(s.state))}, {"frame", s.frame}});
    return list;
}

json checksum_json(const std::array<std::uint32_t, a::checksum_status_count>& counts) {
    json j = json::object();
    for (int i = 0; i < a::checksum_status_count; ++i)
        j[std::string(a::checksum_status_name(static_cast<a::ChecksumStatus>(i)))] = counts[static_cast<std::size_t>(i)];
    return j;
}

json frames_json(const std::vector<a::SegmentRef>& segs) {
    json list = json::array();
    for (const auto& s : segs) list.push_back(s.frame);
    return list;
}

class JsonRenderer final : public Renderer {
public:
    explicit JsonRenderer(std::ostream& out) : out_(out) {}

    void on_event(const a::Event& event) override {
        const a::EventBase& b = a::base_of(event);
        json j{{"event", a::event_name(event)}, {"stream", b.stream}, {"frame", b.frame},
               {"time", b.time}};
        std::visit([&](const auto& e) { fill(j, e); }, event);
        out_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }

    void flush() override { out_.flush(); }

    void on_summary(const RunSummary& s) override {
        json j{{"event", "summary"},
               {"frames", s.engine.frames},
               {"tcp_frames", s.engine.tcp_frames},
               {"ignored_frames", s.engine.ignored},
               {"truncated_frames", s.engine.truncated},
               {"invalid_frames", s.engine.invalid},
               {"connections", s.engine.connections},
               {"requests", s.engine.requests},
               {"responses", s.engine.responses},
               {"payload_bytes", s.engine.payload_bytes},
               {"late_frames", s.engine.late_frames},
               {"duration", s.engine.frames ? s.engine.last_time - s.engine.first_time : 0.0},
               {"live", s.live}};
        if (s.live) {
            j["captured"] = s.captured;
            j["dropped"] = s.dropped;
            j["not_analysed"] = s.not_analysed;
            if (s.record_path) {
                j["record_error"] = opt(s.record_error);
                j["recorded_without_comment"] = s.recorded_without_comment;
            }
        }
        j["record_path"] = opt(s.record_path);
        if (s.record_path) j["recorded"] = s.recorded;
        j["warning"] = opt(s.warning);
        // Paths and warnings may hold bytes that are not UTF-8 (a file name): replaced, never thrown.
        out_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }

    void on_comment(std::uint64_t frame, const std::string& comment) override {
        json j{{"event", "comment"}, {"frame", frame}, {"comment", comment}};
        out_ << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }

private:
    static void fill(json& j, const a::PacketInfo& e) {
        j["from"] = side_name(e.from);
        j["flags"] = a::flags_to_string(e.flags);
        j["seq"] = e.seq_rel;
        j["ack"] = e.ack_rel;
        j["seq_raw"] = e.seq_raw;
        j["ack_raw"] = e.ack_raw;
        j["len"] = e.len;
        j["next_seq"] = e.next_seq_rel;
        const auto& pa = e.analysis;
        j["window"] = pa.window;
        j["window_raw"] = e.window_raw;
        j["window_scale"] = pa.window_scale;
        j["bytes_in_flight"] = opt(pa.bytes_in_flight);
        json flags = json::array();
        json rules = json::object();
        for (int i = 0; i < a::analysis_flag_count; ++i)
            if (pa.flags & (1u << i)) flags.push_back(a::analysis_flag_name(i));
        for (const auto& rule : pa.rules)   // keys and values in English, whatever --lang says
            rules[std::string(a::analysis_flag_name(a::analysis_flag_index(rule.flag)))] = rule_text(Lang::en, rule);
        j["analysis"] = std::move(flags);
        j["analysis_rules"] = std::move(rules);
        j["duplicate_ack_num"] = pa.dup_ack_num ? json(pa.dup_ack_num) : json(nullptr);
        j["duplicate_ack_frame"] = pa.dup_ack_num ? json(pa.dup_ack_frame) : json(nullptr);
        j["acks_frame"] = pa.acks_frame ? json(pa.acks_frame) : json(nullptr);
        j["ack_rtt"] = opt(pa.ack_rtt);
        json sack = json::array();
        json sack_raw = json::array();
        for (const auto& [le, re] : e.sack_rel) sack.push_back({le, re});
        for (const auto& [le, re] : pa.sack) sack_raw.push_back({le, re});
        j["sack"] = std::move(sack);
        j["sack_raw"] = std::move(sack_raw);
        j["dsack"] = pa.dsack;
        j["ts_val"] = opt(e.ts_val);
        j["ts_ecr"] = opt(e.ts_ecr);
        j["option_bytes"] = e.option_bytes;
        j["tcp_checksum"] = a::checksum_status_name(e.tcp_checksum);
        j["ip_checksum"] = a::checksum_status_name(e.ip_checksum);
    }
    static void fill(json& j, const a::ConnectionOpened& e) {
        j["client"] = a::to_string(e.client);
        j["server"] = a::to_string(e.server);
        j["handshake_seen"] = e.handshake_seen;
        j["alongside"] = opt(e.alongside);
    }
    static void fill(json& j, const a::Handshake& e) {
        j["from"] = side_name(e.from);
        j["step"] = e.step;
        j["seq_raw"] = e.seq_raw;
        j["ack_raw"] = e.ack_raw;
        j["seq"] = e.seq_rel;
        j["ack"] = e.ack_rel;
        j["window"] = e.window;
        if (e.step != 3) {
            j["mss"] = opt(e.mss);
            j["wscale"] = opt(e.wscale);
            j["sack_perm"] = e.sack_perm;
            j["timestamps"] = e.timestamps;
        }
        if (e.step != 1) {
            j["peer_isn"] = e.peer_isn;
            j["ack_is_peer_isn_plus_1"] = e.ack_is_peer_isn_plus_1;
        }
        j["retransmission"] = e.retransmission;
        j["client_state"] = state(e.client_state);
        j["server_state"] = state(e.server_state);
    }
    /// The fields requests and responses share.
    template <typename Message>
    static void fill_message(json& j, const Message& e) {
        j["from"] = side_name(e.from);
        j["index"] = e.index;
        j["version"] = e.version;
        j["headers"] = headers_json(e.headers);
        j["header_bytes"] = e.header_bytes;
        j["body_bytes"] = e.body_bytes;
        j["headers_truncated"] = e.headers_truncated;
        j["segments"] = e.segment_count;
        j["segment_list"] = segments_json(e.segments, false);
        j["segments_listed"] = e.segments.size();
        j["frames"] = frames_json(e.segments);
    }
    static void fill(json& j, const a::HttpRequest& e) {
        fill_message(j, e);
        j["method"] = e.method;
        j["uri"] = e.uri;
        j["pairing_stopped"] = e.pairing_stopped;
    }
    static void fill(json& j, const a::HttpResponse& e) {
        fill_message(j, e);
        j["status"] = e.status;
        j["reason"] = e.reason;
        j["content_length"] = opt(e.content_length);
        j["content_range"] = opt(e.content_range);
        j["content_type"] = opt(e.content_type);
        j["chunked"] = e.chunked;
        j["chunk_sizes"] = e.chunk_sizes;
        j["multipart_byteranges"] = e.multipart_byteranges;
        j["complete"] = e.complete;
        j["time_since_request"] = opt(e.time_since_request);
        j["time_to_first_byte"] = opt(e.time_to_first_byte);
        j["reassembled_in"] = e.frame;
        j["request_method"] = opt(e.request_method);
        j["request_uri"] = opt(e.request_uri);
        j["request_frame"] = e.request_frame ? json(e.request_frame) : json(nullptr);
        j["range_first"] = opt(e.range_first);
        j["range_last"] = opt(e.range_last);
        j["range_complete"] = opt(e.range_complete);
        j["range_whole_file"] = e.range_whole_file;
        j["keep_alive_timeout"] = opt(e.keep_alive_timeout);
        j["ended_by"] = {{"mss", e.ended_by_mss}, {"window", e.ended_by_window}, {"write_end", e.ended_by_write}};
        j["psh_segments"] = e.psh_segments;
        const a::SegmentSizing& z = e.sizing;
        j["sizing"] = {{"mss", z.mss_known ? json(z.mss) : json(nullptr)},
                       {"ip_version", z.ipv6 ? 6 : 4},
                       {"largest_ip_packet", z.mss_known ? json(z.largest_ip_packet) : json(nullptr)},
                       {"option_bytes", z.option_bytes},
                       {"max_payload", z.mss_known ? json(z.max_payload) : json(nullptr)},
                       {"largest", z.largest},
                       {"largest_frame", z.largest_frame},
                       {"ethernet_mss", z.ethernet_mss},
                       {"ethernet_payload", z.ethernet_payload},
                       {"ethernet_segments", z.ethernet_segments}};
        j["bytes_missing"] = opt(e.bytes_missing);
        j["cut_by_reset"] = e.cut_by_reset;
    }
    static void fill(json& j, const a::ResponseAcked& e) {
        j["from"] = side_name(e.from);
        j["response_index"] = e.response_index;
        j["request_uri"] = opt(e.request_uri);
        j["status"] = e.status;
        j["ack"] = e.ack_rel;
        j["ack_frames"] = e.ack_frames;
        j["segment_list"] = segments_json(e.segments, true);
        j["segments"] = e.segment_count;
    }
    static void fill(json& j, const a::Teardown& e) {
        j["from"] = side_name(e.from);
        j["step"] = e.step;
        j["flags"] = a::flags_to_string(e.flags);
        j["seq"] = e.seq_rel;
        j["ack"] = e.ack_rel;
        j["seq_raw"] = e.seq_raw;
        j["ack_raw"] = e.ack_raw;
        j["len"] = e.len;
        j["fin"] = e.fin;
        j["acks_fin"] = e.acks_fin;
        j["client_state"] = state(e.client_state);
        j["server_state"] = state(e.server_state);
        j["after_end"] = e.after_end;
        if (e.after_end) j["fin_frame"] = e.fin_frame;
        j["crossed"] = e.crossed;
        j["merged_with_ack"] = e.merged_with_ack;
        j["skips_fin_wait_2"] = e.skips_fin_wait_2;
        j["enters_time_wait"] = e.enters_time_wait ? json(side_name(*e.enters_time_wait)) : json(nullptr);
        j["idle_before"] = opt(e.idle_before);
        j["keep_alive_timeout"] = opt(e.keep_alive_timeout);
        j["idle_close"] = e.idle_close;
        j["after_peer_fin"] = opt(e.after_peer_fin);
    }
    static void fill(json& j, const a::Reset& e) {
        j["from"] = side_name(e.from);
        j["flags"] = a::flags_to_string(e.flags);
        j["seq"] = e.seq_rel;
        j["seq_raw"] = e.seq_raw;
        j["client_state_before"] = state(e.client_state_before);
        j["server_state_before"] = state(e.server_state_before);
        j["after_end"] = e.after_end;
    }
    static void fill(json& j, const a::StreamGap& e) {
        j["from"] = side_name(e.from);
        j["seq"] = e.seq_rel;
        j["bytes"] = e.bytes;
        j["reason"] = e.reason == a::GapReason::buffer_full ? "buffer_full" : "not_captured";
    }
    static void fill(json& j, const a::HttpParseError& e) {
        j["from"] = side_name(e.from);
        j["reason"] = e.reason;
    }
    static void fill(json& j, const a::ConnectionEnd& e) {
        j["client"] = a::to_string(e.client);
        j["server"] = a::to_string(e.server);
        j["close_kind"] = e.close_kind == a::CloseKind::fin ? "fin" : e.close_kind == a::CloseKind::rst ? "rst" : "open";
        j["closed_first"] = e.closed_first ? json(side_name(*e.closed_first)) : json(nullptr);
        j["client_state"] = state(e.client_state);
        j["server_state"] = state(e.server_state);
        j["client_packets"] = e.client_to_server.packets;
        j["server_packets"] = e.server_to_client.packets;
        j["client_bytes"] = e.client_to_server.bytes;
        j["server_bytes"] = e.server_to_client.bytes;
        j["requests"] = e.requests;
        j["responses"] = e.responses;
        j["first_frame"] = e.first_frame;
        j["duration"] = e.duration;
        j["handshake_seen"] = e.handshake_seen;
        j["gap_bytes"] = e.gap_bytes;
        j["completeness"] = e.completeness;
        j["conn_state"] = e.conn_state;
        j["history"] = e.history;
        json counts = json::object();
        for (int i = 0; i < a::analysis_flag_count; ++i)
            counts[std::string(a::analysis_flag_name(i))] = e.analysis_counts[static_cast<std::size_t>(i)];
        j["analysis_counts"] = std::move(counts);
        j["initial_rtt"] = opt(e.initial_rtt);
        j["close_pattern"] = a::close_pattern_name(e.close_pattern);
        j["teardown_packets"] = e.teardown_packets;
        j["client_states"] = states_json(e.client_states);
        j["server_states"] = states_json(e.server_states);
        j["checksums"] = {{"tcp", checksum_json(e.checksums.tcp)}, {"ipv4", checksum_json(e.checksums.ipv4)}};
        j["client_mss"] = opt(e.client_to_server.mss);
        j["server_mss"] = opt(e.server_to_client.mss);
        j["client_timestamps"] = e.client_to_server.timestamps;
        j["server_timestamps"] = e.server_to_client.timestamps;
        j["client_largest_segment"] = e.client_to_server.largest_segment;
        j["server_largest_segment"] = e.server_to_client.largest_segment;
        j["unused"] = e.unused;
        j["preconnect"] = e.preconnect;
        j["alongside"] = opt(e.alongside);
    }

    std::ostream& out_;
};

}  // namespace

std::unique_ptr<Renderer> make_json_renderer(std::ostream& out) { return std::make_unique<JsonRenderer>(out); }

}  // namespace labtool::cli
