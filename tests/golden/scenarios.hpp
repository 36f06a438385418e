// Hand-built loopback captures for the scenario golden tests (scenario_test.cpp) and for
// `labtool_make_scenarios <dir>`: short scripted TCP/HTTP conversations as Linux lo, Windows Npcap
// loopback and macOS lo0 put them on the wire (see /work/shared/field-notes*.md), written as
// classic pcap files.
#pragma once

#include "packet_builder.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace labtool::test::scenarios {

namespace tcp_flags {
constexpr std::uint8_t fin = 0x01;
constexpr std::uint8_t syn = 0x02;
constexpr std::uint8_t rst = 0x04;
constexpr std::uint8_t psh = 0x08;
constexpr std::uint8_t ack = 0x10;
}  // namespace tcp_flags

struct TimedFrame {
    std::uint64_t ts_us = 0;                // microseconds since the epoch
    std::vector<std::uint8_t> bytes;
};

struct Capture {
    analysis::LinkType link = analysis::LinkType::ethernet;
    std::vector<TimedFrame> frames;
};

enum class Os { linux_lo, windows_npcap, macos_lo0 };

/// How one system's loopback puts TCP on the wire.
struct Profile {
    Os os = Os::linux_lo;
    analysis::LinkType link = analysis::LinkType::ethernet;
    bool v6 = false;
    Checksum tcp_checksum = Checksum::offload;
    bool ipv4_checksum = true;
    bool timestamps = true;               // timestamp option on every segment
    std::uint16_t mss = 65495;
    std::uint8_t wscale = 7;
    std::uint8_t ttl = 64;
    std::uint16_t syn_window = 65495;     // window field of the SYN and the SYN-ACK (never scaled)
    std::uint16_t synack_window = 65483;
    std::uint32_t window_bytes = 65536;   // default receive window after the handshake, in bytes
};

/// Linux `lo`: Ethernet with zero MACs, TCP checksum offload (pseudo-header sum only), valid IPv4
/// header checksums, timestamps, MSS 65495 (IPv4) / 65476 (IPv6).
inline Profile linux_lo(bool v6 = false) {
    Profile p;
    p.v6 = v6;
    p.mss = v6 ? 65476 : 65495;
    p.syn_window = v6 ? 65476 : 65495;
    p.synack_window = v6 ? 65464 : 65483;
    return p;
}

/// Windows Npcap loopback: DLT_NULL (AF_INET 2, little-endian), both checksums 0, no timestamps,
/// TTL 128, SYN options MSS, NOP, WS 8, NOP, NOP, SACK_PERM.
inline Profile windows_npcap() {
    Profile p;
    p.os = Os::windows_npcap;
    p.link = analysis::LinkType::null;
    p.tcp_checksum = Checksum::zero;
    p.ipv4_checksum = false;
    p.timestamps = false;
    p.mss = 65495;
    p.wscale = 8;
    p.ttl = 128;
    p.syn_window = 65535;
    p.synack_window = 65535;
    p.window_bytes = 10233u << 8;   // 2,619,648: what Windows advertises on loopback
    return p;
}

/// macOS lo0: DLT_NULL (AF_INET 2, little-endian), valid checksums, timestamps on every segment,
/// MSS 16344 (MTU 16384), wscale 6, SACK permitted.
inline Profile macos_lo0() {
    Profile p;
    p.os = Os::macos_lo0;
    p.link = analysis::LinkType::null;
    p.tcp_checksum = Checksum::valid;
    p.ipv4_checksum = true;
    p.timestamps = true;
    p.mss = 16344;
    p.wscale = 6;
    p.syn_window = 65535;
    p.synack_window = 65535;
    p.window_bytes = 6379u << 6;    // 408,256
    return p;
}

/// Shared time line of a capture, in microseconds since the epoch.
struct Clock {
    std::uint64_t now_us = 0;
};

enum class Side { client, server };

struct SendOptions {
    std::optional<std::uint32_t> ack;            // instead of everything the peer has sent
    std::optional<std::uint32_t> window_bytes;   // new receive window of the sender, from here on
};

/// One scripted TCP connection between 127.0.0.1 (or ::1) ports: keeps each side's sequence
/// number (SYN and FIN count one), timestamps (tsval in ms, tsecr echoing the peer's latest),
/// IPv4 ids and receive windows, and refuses to send data beyond the peer's advertised window.
class Conversation {
public:
    Conversation(const Profile& profile, Capture& out, Clock& clock, std::uint16_t client_port,
                 std::uint16_t server_port, std::uint32_t client_isn, std::uint32_t server_isn,
                 std::uint32_t client_ts_base = 0, std::uint32_t server_ts_base = 0,
                 std::uint16_t client_ip_id = 0, std::uint16_t server_ip_id = 0)
        : p_(profile), out_(out), clock_(clock), start_us_(clock.now_us) {
        out_.link = p_.link;
        c_.port = client_port;
        s_.port = server_port;
        c_.snd_nxt = client_isn;
        s_.snd_nxt = server_isn;
        c_.ts_base = client_ts_base;
        s_.ts_base = server_ts_base;
        c_.ip_id = client_ip_id;
        s_.ip_id = server_ip_id;
        c_.window_bytes = s_.window_bytes = p_.window_bytes;
    }

    /// Sends one segment `after_us` after the previous packet of the capture.
    void send(Side from, std::uint64_t after_us, std::uint8_t flags, const std::string& payload = {},
              const SendOptions& opt = {}) {
        using namespace tcp_flags;
        clock_.now_us += after_us;
        Peer& me = from == Side::client ? c_ : s_;
        Peer& peer = from == Side::client ? s_ : c_;
        if (opt.window_bytes) me.window_bytes = *opt.window_bytes;

        TcpSpec s;
        s.v6 = p_.v6;
        s.sport = me.port;
        s.dport = peer.port;
        s.seq = me.snd_nxt;
        s.ack = (flags & ack) ? opt.ack.value_or(peer.snd_nxt) : 0;
        s.flags = flags;
        s.payload = payload;
        s.tcp_checksum = p_.tcp_checksum;
        s.ipv4_checksum = p_.ipv4_checksum;
        s.ttl = p_.ttl;
        // Linux sends its SYN-ACK (DF set, no socket yet) with IP id 0.
        const bool synack = (flags & syn) && (flags & ack);
        s.ip_id = (p_.os == Os::linux_lo && synack) ? std::uint16_t{0} : me.ip_id++;
        const std::uint32_t tsval = me.ts_base + static_cast<std::uint32_t>((clock_.now_us - start_us_) / 1000);
        std::uint32_t window_bytes = 0;
        if (flags & syn) {
            s.window = synack ? p_.synack_window : p_.syn_window;
            window_bytes = s.window;
            s.options = syn_options_for(synack, tsval, me.ts_recent);
        } else {
            s.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(65535, me.window_bytes >> p_.wscale));
            window_bytes = static_cast<std::uint32_t>(s.window) << p_.wscale;
            if (p_.timestamps) {
                s.timestamps = true;
                s.tsval = tsval;
                s.tsecr = me.ts_recent;
            }
        }
        if (!payload.empty() && peer.acked) {
            const std::uint32_t in_flight_end = me.snd_nxt + static_cast<std::uint32_t>(payload.size()) - peer.last_ack;
            if (in_flight_end > peer.last_window)
                throw std::logic_error("scenario sends beyond the peer's advertised window");
        }
        if (flags & ack) {
            me.acked = true;
            me.last_ack = s.ack;
            me.last_window = window_bytes;
        }
        if (p_.timestamps) peer.ts_recent = tsval;
        me.snd_nxt += static_cast<std::uint32_t>(payload.size()) + ((flags & (syn | fin)) ? 1u : 0u);
        out_.frames.push_back(TimedFrame{clock_.now_us, with_link(p_.link, ip_packet(s), p_.v6)});
    }

    void client(std::uint64_t after_us, std::uint8_t flags, const std::string& payload = {}, const SendOptions& opt = {}) {
        send(Side::client, after_us, flags, payload, opt);
    }
    void server(std::uint64_t after_us, std::uint8_t flags, const std::string& payload = {}, const SendOptions& opt = {}) {
        send(Side::server, after_us, flags, payload, opt);
    }

    /// SYN, SYN-ACK, ACK; the first `after_us` after the previous packet, then loopback delays.
    void handshake(std::uint64_t after_us) {
        using namespace tcp_flags;
        client(after_us, syn);
        server(27, syn | ack);
        client(14, ack);
    }

    std::uint32_t next_seq(Side side) const { return side == Side::client ? c_.snd_nxt : s_.snd_nxt; }
    /// Bytes `side` may still send before the peer's advertised window is full.
    std::uint32_t usable_window(Side side) const {
        const Peer& me = side == Side::client ? c_ : s_;
        const Peer& peer = side == Side::client ? s_ : c_;
        return peer.last_window - (me.snd_nxt - peer.last_ack);
    }

private:
    struct Peer {
        std::uint16_t port = 0;
        std::uint32_t snd_nxt = 0;
        std::uint32_t ts_base = 0;
        std::uint32_t ts_recent = 0;      // latest tsval received from the peer
        std::uint16_t ip_id = 0;
        std::uint32_t window_bytes = 0;   // receive window this side advertises
        bool acked = false;               // has sent an ACK yet
        std::uint32_t last_ack = 0;       // latest ack this side sent
        std::uint32_t last_window = 0;    // latest window this side advertised, in bytes
    };

    std::vector<std::uint8_t> syn_options_for(bool synack, std::uint32_t tsval, std::uint32_t tsecr) const {
        const auto hi = static_cast<std::uint8_t>(p_.mss >> 8);
        const auto lo = static_cast<std::uint8_t>(p_.mss);
        std::vector<std::uint8_t> o;
        switch (p_.os) {
            case Os::linux_lo:   // MSS, SACK_PERM, TS, NOP, WS
                o = {2, 4, hi, lo, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, p_.wscale};
                put32(o, 8, tsval);
                put32(o, 12, tsecr);
                break;
            case Os::windows_npcap:   // MSS, NOP, WS, NOP, NOP, SACK_PERM
                o = {2, 4, hi, lo, 1, 3, 3, p_.wscale, 1, 1, 4, 2};
                break;
            case Os::macos_lo0:
                if (!synack) {   // MSS, NOP, WS, NOP, NOP, TS, SACK_PERM, EOL, EOL
                    o = {2, 4, hi, lo, 1, 3, 3, p_.wscale, 1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 4, 2, 0, 0};
                    put32(o, 12, tsval);
                    put32(o, 16, tsecr);
                } else {         // MSS, NOP, WS, SACK_PERM, TS
                    o = {2, 4, hi, lo, 1, 3, 3, p_.wscale, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
                    put32(o, 12, tsval);
                    put32(o, 16, tsecr);
                }
                break;
        }
        return o;
    }

    Profile p_;
    Capture& out_;
    Clock& clock_;
    std::uint64_t start_us_;
    Peer c_;
    Peer s_;
};

// ---- HTTP content -------------------------------------------------------------------------------

inline const std::string chrome_linux_ua =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
inline const std::string chrome_windows_ua =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
inline const std::string safari_macos_ua =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

inline std::string get_request(const std::string& path, const std::string& host, const std::string& user_agent,
                               const std::string& accept, const std::string& extra = {}) {
    return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: " + user_agent + "\r\nAccept: " + accept +
           "\r\n" + extra + "\r\n";
}

inline std::string response_head(const std::string& status, const std::string& content_type, std::size_t length,
                                  const std::string& extra = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n") {
    return "HTTP/1.1 " + status + "\r\nContent-Type: " + content_type + "\r\nContent-Length: " +
           std::to_string(length) + "\r\n" + extra + "\r\n";
}

/// A small lab page of about 600 bytes.
inline std::string html_page() {
    return "<!DOCTYPE html>\n"
           "<html lang=\"en\">\n"
           "<head>\n"
           "  <meta charset=\"utf-8\">\n"
           "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "  <title>labtool lab page</title>\n"
           "  <link rel=\"icon\" href=\"data:,\">\n"
           "  <style>body { font-family: sans-serif; margin: 2em auto; max-width: 40em; }</style>\n"
           "</head>\n"
           "<body>\n"
           "  <h1>Hello from the loopback lab</h1>\n"
           "  <p>This page travels over TCP from the server on port 3000 to your browser.</p>\n"
           "  <p>Open the capture with <code>labtool replay</code> to read the conversation.</p>\n"
           "  <img src=\"/logo.png\" alt=\"labtool logo\" width=\"120\" height=\"120\">\n"
           "</body>\n"
           "</html>\n";
}

/// `n` bytes of file content starting with `magic` (a file signature), then a fixed pattern.
inline std::string file_body(std::size_t n, const std::string& magic) {
    std::string b(n, '\0');
    std::uint32_t x = 2463534242u;
    for (std::size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = static_cast<char>(x & 0xff);
    }
    std::copy_n(magic.begin(), std::min(magic.size(), n), b.begin());
    return b;
}

// ---- Scenarios ----------------------------------------------------------------------------------

using namespace tcp_flags;
inline constexpr std::uint16_t server_port = 3000;
inline constexpr std::uint64_t second = 1000000;
// 2024-06-20 10:00:00 UTC, plus a few seconds per scenario.
inline constexpr std::uint64_t epoch_base = 1718877600ull * second;

/// The client's request and the server's one-segment answer with the lab page, then the
/// client's ACK. Linux lo, 127.0.0.1:port → :3000.
inline void page_exchange(Conversation& c, const std::string& response_extra =
                                               "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n") {
    const std::string accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    c.client(182, psh | ack, get_request("/", "localhost:3000", chrome_linux_ua, accept));
    const std::string body = html_page();
    c.server(347, psh | ack, response_head("200 OK", "text/html", body.size(), response_extra) + body);
    c.client(31, ack);
}

/// Both sides close at once: the server's FIN does not acknowledge the client's FIN.
inline Capture simultaneous_close() {
    Capture cap;
    Clock clock{epoch_base + 11 * second + 204117};
    Conversation c(linux_lo(), cap, clock, 41862, server_port, 2716450197u, 1045623718u, 3380214567u, 918273645u, 47213);
    c.handshake(0);
    page_exchange(c);
    const std::uint32_t client_fin = c.next_seq(Side::client);
    c.client(1204, fin | ack);
    c.server(3, fin | ack, {}, SendOptions{client_fin, std::nullopt});   // crossed: does not cover the client's FIN
    c.client(19, ack);
    c.server(4, ack);
    return cap;
}

/// Client closes; the server only ACKs, then closes 2.0 s later (client in FIN-WAIT-2).
inline Capture fin_wait_2_close() {
    Capture cap;
    Clock clock{epoch_base + 23 * second + 518306};
    Conversation c(linux_lo(), cap, clock, 38240, server_port, 886712043u, 3012945561u, 1204556781u, 2870019352u, 10551);
    c.handshake(0);
    page_exchange(c);
    c.client(2315, fin | ack);
    c.server(22, ack);
    c.server(2 * second, fin | ack);
    c.client(35, ack);
    return cap;
}

/// Keep-alive response, exactly 5.0 s of silence, then the server closes (3-packet close).
inline Capture server_idle_close() {
    Capture cap;
    Clock clock{epoch_base + 37 * second + 90412};
    Conversation c(linux_lo(), cap, clock, 51718, server_port, 3937160021u, 402711389u, 655102934u, 4011276120u, 30990);
    c.handshake(0);
    page_exchange(c);
    c.server(5 * second, fin | ack);
    c.client(58, fin | ack);
    c.server(16, ack);
    return cap;
}

/// Windows Npcap loopback: a 300,000-byte download in 65,495-byte segments, 4-packet close.
inline Capture windows_npcap_capture() {
    Capture cap;
    Clock clock{epoch_base + 52 * second + 731005};
    Conversation c(windows_npcap(), cap, clock, 52814, server_port, 1572006383u, 2240398616u, 0, 0, 40411, 40412);
    c.handshake(0);
    c.client(412, psh | ack, get_request("/big.bin", "localhost:3000", chrome_windows_ua, "*/*",
                                         "Accept-Encoding: gzip, deflate, br, zstd\r\n"));
    const std::size_t length = 300000;
    const std::string body = file_body(length, "LABTOOL-BIN\n");
    c.server(520, psh | ack, response_head("200 OK", "application/octet-stream", length));
    std::size_t off = 0;
    int since_ack = 1;   // the header segment
    while (off < length) {
        const std::size_t n = std::min<std::size_t>(65495, length - off);
        const bool last = off + n == length;
        c.server(38, last ? (psh | ack) : ack, body.substr(off, n));
        off += n;
        if (++since_ack == 2 || last) {
            c.client(21, ack);
            since_ack = 0;
        }
    }
    c.client(1870, fin | ack);
    c.server(24, ack);
    c.server(163, fin | ack);
    c.client(19, ack);
    return cap;
}

/// macOS lo0: a 100,000-byte image limited by the client's small receive window (49,152-byte
/// buffer the app drains slowly: 40,960, then 45,056, then 49,152 bytes advertised): segments that
/// end exactly at the window edge (8,181 and 12,392 bytes, shorter than 16,332), ACKs opening the
/// window again.
inline Capture macos_lo0_capture() {
    Capture cap;
    Clock clock{epoch_base + 68 * second + 312770};
    Conversation c(macos_lo0(), cap, clock, 61005, server_port, 3188213740u, 1436093377u, 1083211446u, 2917342210u, 18821, 7133);
    const std::uint32_t rcvbuf = 49152;   // 768 << 6
    const std::uint32_t first_window = 40960;   // 640 << 6: part of the buffer still unread
    c.client(0, syn);
    c.server(61, syn | ack);
    c.client(43, ack, {}, SendOptions{std::nullopt, first_window});
    c.client(655, psh | ack, get_request("/photo.jpg", "localhost:3000", safari_macos_ua,
                                         "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
                                         "Accept-Language: en-GB,en;q=0.9\r\nConnection: keep-alive\r\n"));
    const std::size_t length = 100000;
    const std::string body = file_body(length, std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00", 20));
    c.server(410, psh | ack, response_head("200 OK", "image/jpeg", length, "Accept-Ranges: bytes\r\nConnection: keep-alive\r\n"));
    std::size_t off = 0;
    // Window after each client ACK: the app catches up with the buffer step by step.
    const std::uint32_t reopen[] = {45056, rcvbuf, rcvbuf, rcvbuf};
    int acks = 0;
    while (off < length) {
        const std::size_t room = c.usable_window(Side::server);
        const std::size_t n = std::min<std::size_t>({16332, room, length - off});
        const bool last = off + n == length;
        c.server(29, last ? (psh | ack) : ack, body.substr(off, n));
        off += n;
        if (last || n == room) c.client(52, ack, {}, SendOptions{std::nullopt, reopen[acks++]});
    }
    c.client(2431, fin | ack);
    c.server(47, fin | ack);
    c.client(22, ack);
    return cap;
}

/// Linux lo over IPv6: a Range request for an MP3 answered 206; the client aborts with RST,ACK
/// after four 65,464-byte body segments (about 1.18 MB never sent).
inline Capture reset_mid_response() {
    Capture cap;
    Clock clock{epoch_base + 81 * second + 664109};
    Conversation c(linux_lo(true), cap, clock, 46834, server_port, 620418873u, 2981540722u, 2045338771u, 733501846u);
    c.handshake(0);
    c.client(903, psh | ack, get_request("/audio.mp3", "localhost:3000", chrome_linux_ua, "*/*",
                                         "Accept-Encoding: identity;q=1, *;q=0\r\nRange: bytes=0-\r\n"));
    const std::size_t total = 1441764;
    c.server(288, psh | ack,
             response_head("206 Partial Content", "audio/mpeg", total,
                           "Accept-Ranges: bytes\r\nContent-Range: bytes 0-1441763/1441764\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"));
    c.client(24, ack, {}, SendOptions{std::nullopt, 1536u << 7});
    const std::string body = file_body(4 * 65464, std::string("ID3\x04\x00\x00\x00\x00\x00\x23", 10));
    for (int i = 0; i < 4; ++i) {
        const bool write_end = i % 2 == 1;
        c.server(41, write_end ? (psh | ack) : ack, body.substr(static_cast<std::size_t>(i) * 65464, 65464));
        if (write_end) c.client(33, ack, {}, SendOptions{std::nullopt, (i == 1 ? 3072u : 5120u) << 7});
    }
    c.client(612, rst | ack);
    return cap;
}

/// A connection opened and closed 1 s later by the client without a request (curl -m, a port probe).
inline Capture curl_idle() {
    Capture cap;
    Clock clock{epoch_base + 95 * second + 5113};
    Conversation c(linux_lo(), cap, clock, 33354, server_port, 1799210367u, 3566410190u, 2209743356u, 1511064273u, 61420);
    c.handshake(0);
    c.client(second, fin | ack);
    c.server(36, fin | ack);
    c.client(12, ack);
    return cap;
}

/// Chromium: connection A carries GET / and GET /logo.png; connection B is a preconnect opened while
/// A is busy and never used; the server closes B, then A, each after 5 s idle.
inline Capture two_connections() {
    Capture cap;
    Clock clock{epoch_base + 104 * second + 417339};
    const Profile p = linux_lo();
    Conversation a(p, cap, clock, 50000, server_port, 2390671194u, 3114068257u, 1466703388u, 3902111845u, 22081);
    Conversation b(p, cap, clock, 50002, server_port, 4168330518u, 1290054402u, 3035218766u, 610877411u, 9377);
    const std::string accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    a.handshake(0);
    a.client(204, psh | ack, get_request("/", "localhost:3000", chrome_linux_ua, accept));
    b.client(96, syn);                                  // preconnect
    const std::string page = html_page();
    a.server(71, psh | ack, response_head("200 OK", "text/html", page.size()) + page);
    b.server(9, syn | ack);
    a.client(12, ack);
    b.client(8, ack);
    const std::string logo = file_body(2048, "\x89PNG\r\n\x1a\n");
    a.client(31422, psh | ack, get_request("/logo.png", "localhost:3000", chrome_linux_ua,
                                           "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
                                           "Referer: http://localhost:3000/\r\n"));
    a.server(203, psh | ack, response_head("200 OK", "image/png", logo.size()) + logo);
    a.client(27, ack);
    // B's last packet was its handshake ACK, 31,652 µs before A's last one.
    b.server(5 * second - 31652, fin | ack);
    b.client(47, fin | ack);
    b.server(13, ack);
    a.server(31652 - 60, fin | ack);
    a.client(44, fin | ack);
    a.server(11, ack);
    return cap;
}

struct Scenario {
    const char* name;
    Capture (*make)();
};

inline const std::vector<Scenario>& all() {
    static const std::vector<Scenario> list = {
        {"simultaneous_close", simultaneous_close},
        {"fin_wait_2_close", fin_wait_2_close},
        {"server_idle_close", server_idle_close},
        {"windows_npcap", windows_npcap_capture},
        {"macos_lo0", macos_lo0_capture},
        {"reset_mid_response", reset_mid_response},
        {"curl_idle", curl_idle},
        {"two_connections", two_connections},
    };
    return list;
}

// ---- Classic pcap writer ------------------------------------------------------------------------

/// Writes `cap` as a classic little-endian pcap: magic a1b2c3d4 (µs), version 2.4, snaplen 262144,
/// the link type as its DLT number (1 Ethernet, 0 NULL).
inline void write_pcap(const std::filesystem::path& path, const Capture& cap) {
    std::string s;
    auto u32 = [&s](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    auto u16 = [&s](std::uint16_t v) {
        s.push_back(static_cast<char>(v & 0xff));
        s.push_back(static_cast<char>(v >> 8));
    };
    u32(0xa1b2c3d4u);
    u16(2);
    u16(4);
    u32(0);        // thiszone
    u32(0);        // sigfigs
    u32(262144);   // snaplen
    u32(static_cast<std::uint32_t>(cap.link));
    for (const auto& f : cap.frames) {
        u32(static_cast<std::uint32_t>(f.ts_us / second));
        u32(static_cast<std::uint32_t>(f.ts_us % second));
        u32(static_cast<std::uint32_t>(f.bytes.size()));
        u32(static_cast<std::uint32_t>(f.bytes.size()));
        s.append(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace labtool::test::scenarios
