// JSON lines: one object per event, field names documented in the README's schema section.
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
        if (with_ack) j["acked_by"] = s.acked_by ? json(s.acked_by) : json(nullptr);
        list.push_back(std::move(j));
    }
    return list;
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
        }
        j["record_path"] = opt(s.record_path);
        if (s.record_path) j["recorded"] = s.recorded;
        j["warning"] = opt(s.warning);
        out_ << j.dump() << '\n';
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
        for (const auto& [flag, rule] : pa.rules) {
            const auto bit = static_cast<std::uint32_t>(flag);
            int index = 0;
            while (index < a::analysis_flag_count && (1u << index) != bit) ++index;
            rules[std::string(a::analysis_flag_name(index))] = rule;
        }
        j["analysis"] = std::move(flags);
        j["analysis_rules"] = std::move(rules);
        j["duplicate_ack_num"] = pa.dup_ack_num ? json(pa.dup_ack_num) : json(nullptr);
        j["duplicate_ack_frame"] = pa.dup_ack_num ? json(pa.dup_ack_frame) : json(nullptr);
        j["acks_frame"] = pa.acks_frame ? json(pa.acks_frame) : json(nullptr);
        j["ack_rtt"] = opt(pa.ack_rtt);
        // SACK edges are in the peer's sequence space: relative to the same base as `ack`.
        const std::uint32_t peer_base = e.ack_raw - e.ack_rel;
        json sack = json::array();
        json sack_raw = json::array();
        for (const auto& [le, re] : pa.sack) {
            sack.push_back({le - peer_base, re - peer_base});
            sack_raw.push_back({le, re});
        }
        j["sack"] = std::move(sack);
        j["sack_raw"] = std::move(sack_raw);
        j["dsack"] = pa.dsack;
        j["ts_val"] = opt(e.ts_val);
        j["ts_ecr"] = opt(e.ts_ecr);
    }
    static void fill(json& j, const a::ConnectionOpened& e) {
        j["client"] = a::to_string(e.client);
        j["server"] = a::to_string(e.server);
        j["handshake_seen"] = e.handshake_seen;
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
        j["segments"] = e.segments.size();
        j["segment_list"] = segments_json(e.segments, false);
        j["frames"] = frames_json(e.segments);
    }
    static void fill(json& j, const a::HttpRequest& e) {
        fill_message(j, e);
        j["method"] = e.method;
        j["uri"] = e.uri;
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
    }
    static void fill(json& j, const a::ResponseAcked& e) {
        j["from"] = side_name(e.from);
        j["response_index"] = e.response_index;
        j["request_uri"] = opt(e.request_uri);
        j["status"] = e.status;
        j["ack"] = e.ack_rel;
        j["ack_frames"] = e.ack_frames;
        j["segment_list"] = segments_json(e.segments, true);
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
    }

    std::ostream& out_;
};

}  // namespace

std::unique_ptr<Renderer> make_json_renderer(std::ostream& out) { return std::make_unique<JsonRenderer>(out); }

}  // namespace labtool::cli
