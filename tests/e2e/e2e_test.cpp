// End-to-end tests of the real labtool binary: live capture on lo with curl and headless Chromium,
// record → replay equality, tshark as an independent oracle, link-type rewrites, and bad input.
// Live tests skip without capture permission unless LABTOOL_REQUIRE_LIVE=1 (then they fail).

#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <limits>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "events.hpp"
#include "pcap_file.hpp"
#include "process.hpp"

#ifndef LABTOOL_BINARY
#error "LABTOOL_BINARY must be defined (path of the labtool executable)"
#endif
#ifndef LABTOOL_WWW_DIR
#error "LABTOOL_WWW_DIR must be defined (source folder of the built-in page)"
#endif

namespace {

using namespace e2e;
using namespace std::chrono_literals;

const std::string labtool = LABTOOL_BINARY;
const fs::path www_dir = LABTOOL_WWW_DIR;
constexpr auto command_timeout = 30s;
constexpr auto curl_timeout = 20s;   // curl itself has --max-time 10

std::uint64_t www_size(const std::string& name) { return fs::file_size(www_dir / name); }

// ---------------------------------------------------------------------------------------------
// A live session: labtool run --record --format json, some traffic, SIGINT.

struct LiveSession {
    bool started = false;
    bool no_permission = false;
    std::string problem;   // why it did not start, with labtool's stderr
    std::uint16_t port = 0;
    fs::path pcap;
    std::optional<int> exit_code;
    std::string out;
    std::string err;
    std::vector<json> events;
};

LiveSession run_live(const TempDir& dir, const std::function<void(std::uint16_t)>& traffic,
                     const std::string& name = "live") {
    LiveSession s;
    s.port = free_port();
    s.pcap = dir / (name + ".pcap");
    LiveRun run({labtool, "run", "--port", std::to_string(s.port), "--record", s.pcap.string(), "--format", "json",
                 "--no-color"},
                dir.path(), name);
    if (!run.wait_ready()) {
        s.no_permission = run.no_permission();
        s.problem = "labtool run did not report \"serving\" within 10 s (exit code " +
                    (run.exit_code() ? std::to_string(*run.exit_code()) : std::string("none: still running")) +
                    "); stderr:\n" + run.err();
        return s;
    }
    s.started = true;
    traffic(s.port);
    // Let the last teardown packets reach the capture ring before asking labtool to stop.
    std::this_thread::sleep_for(500ms);
    s.exit_code = run.stop();
    s.out = run.out();
    s.err = run.err();
    s.events = parse_lines(s.out);
    return s;
}

// Skips (locally) or fails (LABTOOL_REQUIRE_LIVE=1) when capture is not permitted; fails when
// labtool did not start for any other reason.
#define E2E_REQUIRE_STARTED(session)                                                                          \
    do {                                                                                                      \
        if ((session).no_permission) {                                                                        \
            if (e2e::require_live())                                                                          \
                FAIL() << "LABTOOL_REQUIRE_LIVE=1 but capture is not permitted:\n" << (session).problem;      \
            else                                                                                              \
                GTEST_SKIP() << "live capture not permitted (needs root or CAP_NET_RAW):\n" << (session).problem; \
        }                                                                                                     \
        ASSERT_TRUE((session).started) << (session).problem;                                                  \
    } while (0)


// curl with a bounded run time; returns what -w printed (status codes).
std::string curl(const TempDir& dir, std::vector<std::string> args) {
    std::vector<std::string> argv{"curl", "-s", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv, dir.path(), curl_timeout);
    EXPECT_FALSE(r.timed_out) << "curl timed out: " << ::testing::PrintToString(argv);
    EXPECT_EQ(r.exit_code, 0) << "curl failed: " << ::testing::PrintToString(argv) << "\n" << r.err;
    return r.out;
}

std::string base_url(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

// The standard curl scenario: 4 single-request connections, then one connection with 2 requests.
struct CurlCodes {
    std::vector<std::string> codes;
};

std::function<void(std::uint16_t)> standard_curl_traffic(const TempDir& dir, CurlCodes& c) {
    return [&dir, &c](std::uint16_t port) {
        const auto base = base_url(port);
        c.codes.push_back(curl(dir, {"-o", "/dev/null", "-w", "%{http_code}", base + "/"}));
        c.codes.push_back(curl(dir, {"-o", "/dev/null", "-w", "%{http_code}", base + "/logo.jpg"}));
        c.codes.push_back(curl(dir, {"-o", "/dev/null", "-w", "%{http_code}", "-r", "0-", base + "/audio.mp3"}));
        c.codes.push_back(curl(dir, {"-o", "/dev/null", "-w", "%{http_code}", base + "/missing.html"}));
        c.codes.push_back(curl(dir, {"-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} ", base + "/",
                                     base + "/logo.jpg"}));
    };
}

LiveSession run_replay(const TempDir& dir, const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{labtool, "replay", file.string(), "--format", "json", "--no-color"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_command(argv, dir.path(), command_timeout);
    LiveSession s;
    s.started = true;
    s.exit_code = r.timed_out ? std::nullopt : std::optional<int>(r.exit_code);
    s.out = r.out;
    s.err = r.err;
    s.events = parse_lines(r.out);
    return s;
}

std::uint32_t u32(const json& v) { return static_cast<std::uint32_t>(v.get<std::uint64_t>()); }

// Frames must never go backwards in the output (events are emitted in capture order).
void expect_frames_in_order(const std::vector<json>& events, const std::string& what) {
    long long last = 0;
    for (const auto& e : without_summary(events)) {
        const auto f = e.at("frame").get<long long>();
        EXPECT_GE(f, last) << what << ": frame numbers go backwards at " << e.dump();
        last = std::max(last, f);
    }
}

// ---------------------------------------------------------------------------------------------
// Per-connection checks shared by the curl tests.

struct ExpectedExchange {
    std::string uri;
    int status;
    std::optional<std::uint64_t> content_length;   // checked when set
    std::optional<std::string> range_header;
    std::optional<std::string> content_range;
};

void check_handshake(const std::vector<json>& ev, int stream) {
    SCOPED_TRACE("stream " + std::to_string(stream) + " handshake");
    const auto hs = of_kind(ev, "handshake");
    ASSERT_EQ(hs.size(), 3u);
    const char* from[] = {"client", "server", "client"};
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(hs[i].value("step", 0), i + 1) << hs[i].dump();
        EXPECT_EQ(hs[i].value("from", ""), from[i]) << hs[i].dump();
    }
    EXPECT_LT(hs[0].at("frame").get<long long>(), hs[1].at("frame").get<long long>());
    EXPECT_LT(hs[1].at("frame").get<long long>(), hs[2].at("frame").get<long long>());
    const std::uint32_t client_isn = u32(hs[0].at("seq_raw"));
    const std::uint32_t server_isn = u32(hs[1].at("seq_raw"));
    EXPECT_EQ(u32(hs[1].at("ack_raw")), static_cast<std::uint32_t>(client_isn + 1u)) << "SYN-ACK must ack client ISN+1";
    EXPECT_EQ(u32(hs[2].at("ack_raw")), static_cast<std::uint32_t>(server_isn + 1u)) << "ACK must ack server ISN+1";
    EXPECT_EQ(u32(hs[2].at("seq_raw")), static_cast<std::uint32_t>(client_isn + 1u));
    EXPECT_EQ(hs[1].value("peer_isn", json()), hs[0].at("seq_raw"));
    EXPECT_EQ(hs[1].value("ack_is_peer_isn_plus_1", false), true);
    EXPECT_EQ(hs[2].value("ack_is_peer_isn_plus_1", false), true);
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(hs[i].contains("mss") && hs[i].at("mss").is_number_integer()) << "no mss: " << hs[i].dump();
        EXPECT_GT(hs[i].at("mss").get<int>(), 0);
        EXPECT_EQ(hs[i].value("seq", -1), 0);
    }
    EXPECT_EQ(hs[0].value("client_state", ""), "SYN-SENT");
    EXPECT_EQ(hs[1].value("server_state", ""), "SYN-RECEIVED");
    EXPECT_EQ(hs[2].value("client_state", ""), "ESTABLISHED");
    EXPECT_EQ(hs[2].value("server_state", ""), "ESTABLISHED");
}

void check_exchanges(const std::vector<json>& ev, int stream, const std::string& host,
                     const std::vector<ExpectedExchange>& expected) {
    SCOPED_TRACE("stream " + std::to_string(stream) + " HTTP");
    const auto reqs = of_kind(ev, "http_request");
    const auto resps = of_kind(ev, "http_response");
    ASSERT_EQ(reqs.size(), expected.size());
    ASSERT_EQ(resps.size(), expected.size());
    EXPECT_EQ(of_kind(ev, "response_acked").size(), expected.size()) << "every response is acknowledged";
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& x = expected[i];
        const auto& q = reqs[i];
        const auto& r = resps[i];
        SCOPED_TRACE(x.uri);
        EXPECT_EQ(q.value("method", ""), "GET");
        EXPECT_EQ(q.value("uri", ""), x.uri);
        EXPECT_EQ(q.value("version", ""), "HTTP/1.1");
        ASSERT_TRUE(q.contains("headers") && q.at("headers").is_object()) << q.dump();
        EXPECT_EQ(q.at("headers").value("host", ""), host);
        if (x.range_header) {
            EXPECT_EQ(q.at("headers").value("range", ""), *x.range_header);
        }
        EXPECT_GE(q.value("segments", 0), 1);

        EXPECT_EQ(r.value("status", 0), x.status) << r.dump();
        EXPECT_EQ(r.value("request_uri", ""), x.uri);
        EXPECT_EQ(r.value("request_frame", json()), q.at("frame"));
        EXPECT_GT(r.at("frame").get<long long>(), q.at("frame").get<long long>());
        EXPECT_EQ(r.value("complete", false), true) << r.dump();
        if (x.content_length) {
            ASSERT_TRUE(r.at("content_length").is_number_integer()) << r.dump();
            EXPECT_EQ(r.at("content_length").get<std::uint64_t>(), *x.content_length);
        }
        if (x.content_range) {
            EXPECT_EQ(r.value("content_range", json()), json(*x.content_range));
        } else {
            EXPECT_TRUE(r.value("content_range", json()).is_null()) << r.dump();
        }
        const int segments = r.value("segments", 0);
        EXPECT_GE(segments, 1);
        ASSERT_TRUE(r.at("segment_list").is_array());
        EXPECT_EQ(r.at("segment_list").size(), static_cast<std::size_t>(segments));
        std::uint64_t carried = 0;
        for (const auto& seg : r.at("segment_list")) carried += seg.at("len").get<std::uint64_t>();
        if (r.at("content_length").is_number_integer() && r.contains("header_bytes")) {
            EXPECT_EQ(carried, r.at("header_bytes").get<std::uint64_t>() + r.at("content_length").get<std::uint64_t>())
                << "segment_list lengths must add up to header + body bytes";
        }
        ASSERT_TRUE(r.at("frames").is_array() && !r.at("frames").empty());
        EXPECT_EQ(r.at("frames").back(), r.at("frame")) << "a response is reported on its last segment's frame";
    }
}

void check_client_close(const std::vector<json>& ev, int stream, std::size_t requests) {
    SCOPED_TRACE("stream " + std::to_string(stream) + " teardown");
    const auto td = of_kind(ev, "teardown");
    ASSERT_GE(td.size(), 3u) << "expected FIN, FIN, ACK at least";
    for (std::size_t i = 0; i < td.size(); ++i) EXPECT_EQ(td[i].value("step", 0), static_cast<int>(i + 1)) << td[i].dump();
    EXPECT_EQ(td.front().value("from", ""), "client");
    EXPECT_EQ(td.front().value("fin", false), true);
    EXPECT_EQ(td.front().value("client_state", ""), "FIN-WAIT-1");
    EXPECT_NE(td.front().value("flags", "").find("FIN"), std::string::npos);
    EXPECT_EQ(td.back().value("client_state", ""), "TIME-WAIT");
    EXPECT_EQ(td.back().value("server_state", ""), "CLOSED");
    int fins = 0;
    for (const auto& t : td) fins += t.value("fin", false) ? 1 : 0;
    EXPECT_EQ(fins, 2) << "one FIN per side";

    const auto ends = of_kind(ev, "connection_end");
    ASSERT_EQ(ends.size(), 1u);
    const auto& end = ends[0];
    EXPECT_EQ(ev.back(), end) << "connection_end is the stream's last event";
    EXPECT_EQ(end.value("close_kind", ""), "fin");
    EXPECT_EQ(end.value("closed_first", json()), json("client"));
    EXPECT_EQ(end.value("client_state", ""), "TIME-WAIT");
    EXPECT_EQ(end.value("server_state", ""), "CLOSED");
    EXPECT_EQ(end.value("requests", -1), static_cast<int>(requests));
    EXPECT_EQ(end.value("responses", -1), static_cast<int>(requests));
}

std::vector<std::vector<ExpectedExchange>> standard_expectations() {
    const auto mp3 = www_size("audio.mp3");
    return {
        {{"/", 200, www_size("index.html"), std::nullopt, std::nullopt}},
        {{"/logo.jpg", 200, www_size("logo.jpg"), std::nullopt, std::nullopt}},
        {{"/audio.mp3", 206, mp3, std::string("bytes=0-"),
          "bytes 0-" + std::to_string(mp3 - 1) + "/" + std::to_string(mp3)}},
        {{"/missing.html", 404, std::nullopt, std::nullopt, std::nullopt}},
        {{"/", 200, www_size("index.html"), std::nullopt, std::nullopt},
         {"/logo.jpg", 200, www_size("logo.jpg"), std::nullopt, std::nullopt}},
    };
}

// ---------------------------------------------------------------------------------------------

TEST(E2E, CurlLive) {
    TempDir dir;
    CurlCodes codes;
    const auto s = run_live(dir, standard_curl_traffic(dir, codes));
    E2E_REQUIRE_STARTED(s);
    ASSERT_TRUE(s.exit_code.has_value()) << "labtool did not stop within 20 s of SIGINT (killed)";
    EXPECT_EQ(*s.exit_code, 0) << s.err;
    EXPECT_EQ(codes.codes, (std::vector<std::string>{"200", "200", "206", "404", "200 200 "}))
        << "what curl itself saw";
    ASSERT_FALSE(s.events.empty()) << "no events on stdout; stderr:\n" << s.err;
    EXPECT_EQ(s.events.back().value("event", ""), "summary") << "the summary is printed last";
    for (const auto& e : s.events) {
        for (const char* k : {"event", "stream", "frame", "time"})
            if (e.value("event", "") != "summary") {
                EXPECT_TRUE(e.contains(k)) << "missing " << k << ": " << e.dump();
            }
    }
    expect_frames_in_order(s.events, "live");

    const auto events = without_summary(s.events);
    for (const char* bad : {"reset", "gap", "http_error"})
        EXPECT_TRUE(of_kind(events, bad).empty()) << "unexpected " << bad << ": " << of_kind(events, bad)[0].dump();

    const auto streams = by_stream(events);
    const auto expected = standard_expectations();
    ASSERT_EQ(streams.size(), expected.size()) << "one connection per curl invocation";
    const std::string host = "127.0.0.1:" + std::to_string(s.port);
    int idx = 0;
    for (const auto& [stream, ev] : streams) {
        EXPECT_EQ(stream, idx) << "streams count from 0";
        const auto conns = of_kind(ev, "connection");
        ASSERT_EQ(conns.size(), 1u);
        EXPECT_EQ(ev.front(), conns[0]) << "connection is the stream's first event";
        EXPECT_EQ(conns[0].value("server", ""), host);
        EXPECT_EQ(conns[0].value("client", "").rfind("127.0.0.1:", 0), 0u) << conns[0].dump();
        EXPECT_EQ(conns[0].value("handshake_seen", false), true);
        check_handshake(ev, stream);
        check_exchanges(ev, stream, host, expected[static_cast<std::size_t>(idx)]);
        check_client_close(ev, stream, expected[static_cast<std::size_t>(idx)].size());
        ++idx;
    }

    // The MP3 arrives in many segments on loopback (1.4 MB > one 64 KiB segment).
    const auto mp3 = of_kind(streams.at(2), "http_response");
    ASSERT_EQ(mp3.size(), 1u);
    EXPECT_GT(mp3[0].value("segments", 0), 1) << mp3[0].dump();

    const json sum = summary_of(s.events);
    ASSERT_TRUE(sum.is_object()) << "no summary line";
    EXPECT_EQ(sum.value("dropped", -1), 0);
    EXPECT_EQ(sum.value("captured", -1), sum.value("recorded", -2));
    EXPECT_EQ(sum.value("frames", -1), sum.value("captured", -2));
    EXPECT_EQ(sum.value("connections", -1), 5);
    EXPECT_EQ(sum.value("requests", -1), 6);
    EXPECT_EQ(sum.value("responses", -1), 6);
    EXPECT_EQ(sum.value("live", false), true);
    EXPECT_TRUE(sum.value("warning", json()).is_null()) << sum.dump();

    const auto file = read_pcap(s.pcap);
    EXPECT_EQ(file.link_type, dlt_en10mb) << "Linux lo captures as Ethernet";
    EXPECT_EQ(static_cast<long long>(file.records.size()), sum.value("recorded", -1LL))
        << "the recording holds every recorded packet";
}

TEST(E2E, ReplayMatchesLive) {
    TempDir dir;
    CurlCodes codes;
    const auto s = run_live(dir, standard_curl_traffic(dir, codes));
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    ASSERT_FALSE(s.events.empty());

    const auto r = run_replay(dir, s.pcap);
    ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.err;
    EXPECT_TRUE(same_events(without_summary(s.events), without_summary(r.events)))
        << "replaying the recording must give the live events (time included)";

    const json ls = summary_of(s.events);
    const json rs = summary_of(r.events);
    ASSERT_TRUE(rs.is_object());
    EXPECT_EQ(rs.value("live", true), false);
    for (const char* k : {"frames", "connections", "requests", "responses", "tcp_frames", "payload_bytes"})
        EXPECT_EQ(ls.value(k, json()), rs.value(k, json())) << k;
    EXPECT_EQ(rs.value("frames", -1), ls.value("recorded", -2));

    // --port keeps frame numbers of the whole file: filtering on the recorded port changes nothing,
    // filtering on another port leaves no connection.
    const auto same_port = run_replay(dir, s.pcap, {"--port", std::to_string(s.port)});
    ASSERT_EQ(same_port.exit_code, std::optional<int>(0)) << same_port.err;
    EXPECT_TRUE(same_events(without_summary(s.events), without_summary(same_port.events))) << "--port " << s.port;
    const auto other_port = run_replay(dir, s.pcap, {"--port", std::to_string(s.port == 1 ? 2 : s.port - 1)});
    ASSERT_EQ(other_port.exit_code, std::optional<int>(0)) << other_port.err;
    EXPECT_TRUE(without_summary(other_port.events).empty()) << other_port.out;
    EXPECT_EQ(summary_of(other_port.events).value("connections", -1), 0);
}

// tshark fields, one line per frame.
struct TsharkFrame {
    long long frame = 0;
    int stream = -1;
    bool syn = false, ack = false, fin = false, rst = false;
    std::uint32_t seq_raw = 0, ack_raw = 0;
    std::string method, uri, code;
};

// GET /audio.mp3, read the first bytes of the response, then an abortive close (SO_LINGER 0):
// the client's kernel sends RST instead of FIN. (curl --max-time is not reliable for this on
// loopback: the whole file can fit in the socket buffers before curl gives up.)
void aborted_download(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        FAIL() << "connect to 127.0.0.1:" << port << " failed";
    }
    const std::string req = "GET /audio.mp3 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nRange: bytes=0-\r\n\r\n";
    EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    char buf[4096];
    EXPECT_GT(::recv(fd, buf, sizeof buf, 0), 0) << "no response bytes";
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
}

bool flag(const std::string& v) { return v == "1" || v == "True" || v == "true"; }

constexpr int aborted_downloads = 3;

TEST(E2E, TsharkOracle) {
    E2E_REQUIRE_TOOL(on_path("tshark"), "tshark (on PATH)");
    TempDir dir;
    CurlCodes codes;
    const auto standard = standard_curl_traffic(dir, codes);
    const auto s = run_live(dir, [&](std::uint16_t port) {
        standard(port);
        // Connections that end with RST: downloads the client aborts. The server usually still
        // has segments in flight, which the client's closed port answers with more RSTs
        // (RFC 9293 §3.10.7.1); three tries make that case near certain.
        for (int i = 0; i < aborted_downloads; ++i) aborted_download(port);
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    const auto events = without_summary(s.events);
    ASSERT_FALSE(events.empty());

    const auto t = run_command({"tshark", "-2", "-r", s.pcap.string(), "-o", "tcp.desegment_tcp_streams:TRUE", "-T",
                                "fields", "-E", "separator=,", "-E", "aggregator=|", "-e", "frame.number", "-e",
                                "tcp.stream", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
                                "-e", "tcp.flags.reset", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e",
                                "http.request.method", "-e", "http.request.uri", "-e", "http.response.code"},
                               dir.path(), 60s);
    ASSERT_FALSE(t.timed_out) << "tshark timed out";
    ASSERT_EQ(t.exit_code, 0) << t.err;

    std::map<long long, TsharkFrame> ts;
    std::istringstream in(t.out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto f = split(line, ',');
        ASSERT_EQ(f.size(), 11u) << "unexpected tshark line: " << line;
        TsharkFrame x;
        x.frame = std::stoll(f[0]);
        x.stream = std::stoi(f[1]);
        x.syn = flag(f[2]);
        x.ack = flag(f[3]);
        x.fin = flag(f[4]);
        x.rst = flag(f[5]);
        x.seq_raw = static_cast<std::uint32_t>(std::stoull(f[6]));
        x.ack_raw = static_cast<std::uint32_t>(std::stoull(f[7]));
        x.method = f[8];
        x.uri = f[9];
        x.code = f[10];
        ts[x.frame] = x;
    }
    const json sum = summary_of(s.events);
    ASSERT_EQ(static_cast<long long>(ts.size()), sum.value("recorded", -1LL)) << "tshark sees every recorded frame";

    // Every frame labtool names belongs to the same stream in tshark.
    for (const auto& e : events) {
        const auto f = e.at("frame").get<long long>();
        ASSERT_TRUE(ts.count(f)) << "labtool names frame " << f << " which tshark does not have";
        EXPECT_EQ(ts[f].stream, e.at("stream").get<int>()) << "tcp.stream differs for frame " << f << ": " << e.dump();
    }

    // SYNs: tshark's SYN frames are labtool's handshake steps 1 and 2, with the same ISNs.
    std::map<long long, std::uint32_t> tshark_syn, labtool_syn;
    for (const auto& [f, x] : ts)
        if (x.syn) tshark_syn[f] = x.seq_raw;
    for (const auto& h : of_kind(events, "handshake"))
        if (h.at("step") == 1 || h.at("step") == 2) labtool_syn[h.at("frame").get<long long>()] = u32(h.at("seq_raw"));
    EXPECT_EQ(labtool_syn, tshark_syn) << "SYN frames and ISNs (frame → seq_raw)";
    for (const auto& h : of_kind(events, "handshake")) {
        const auto f = h.at("frame").get<long long>();
        EXPECT_EQ(u32(h.at("ack_raw")), ts[f].ack_raw) << "ack_raw of frame " << f;
        EXPECT_EQ(u32(h.at("seq_raw")), ts[f].seq_raw) << "seq_raw of frame " << f;
    }

    // HTTP requests and responses: same frames, URIs and status codes.
    std::map<long long, std::pair<std::string, std::string>> tshark_req, labtool_req;
    std::map<long long, std::string> tshark_resp, labtool_resp;
    for (const auto& [f, x] : ts) {
        if (!x.method.empty()) tshark_req[f] = {x.method, x.uri};
        if (!x.code.empty()) tshark_resp[f] = x.code;
    }
    for (const auto& q : of_kind(events, "http_request"))
        labtool_req[q.at("frame").get<long long>()] = {q.value("method", ""), q.value("uri", "")};
    // tshark shows a response only once its body is reassembled: compare complete ones.
    for (const auto& r : of_kind(events, "http_response"))
        if (r.value("complete", false)) labtool_resp[r.at("frame").get<long long>()] = std::to_string(r.value("status", 0));
    EXPECT_EQ(labtool_req, tshark_req) << "request frames (frame → method, uri)";
    EXPECT_EQ(labtool_resp, tshark_resp) << "response frames (frame → status)";
    EXPECT_EQ(tshark_req.size(), 6u + aborted_downloads);
    EXPECT_EQ(tshark_resp.size(), 6u);

    // FINs and RSTs.
    std::set<long long> tshark_fin, labtool_fin, tshark_rst;
    for (const auto& [f, x] : ts) {
        if (x.fin) tshark_fin.insert(f);
        if (x.rst) tshark_rst.insert(f);
    }
    for (const auto& td : of_kind(events, "teardown"))
        if (td.value("fin", false)) labtool_fin.insert(td.at("frame").get<long long>());
    EXPECT_EQ(labtool_fin, tshark_fin) << "FIN frames";
    const auto labtool_rst = frames_of(of_kind(events, "reset"));
    std::set<long long> missing, extra;
    std::set_difference(tshark_rst.begin(), tshark_rst.end(), labtool_rst.begin(), labtool_rst.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(labtool_rst.begin(), labtool_rst.end(), tshark_rst.begin(), tshark_rst.end(),
                        std::inserter(extra, extra.end()));
    EXPECT_TRUE(missing.empty())
        << "LABTOOL BUG: RST frames " << ::testing::PrintToString(missing)
        << " have no `reset` event. They are RSTs that arrive after the connection's first RST (the client's "
           "closed port answering server segments still in flight): the engine ends the connection on the first "
           "RST and then only counts late packets (analysis/src/engine.cpp, on_segment: `if (c.ended) return;`). "
           "tshark RST frames: " << ::testing::PrintToString(tshark_rst)
        << ", labtool reset frames: " << ::testing::PrintToString(labtool_rst);
    EXPECT_TRUE(extra.empty()) << "reset events on frames without RST: " << ::testing::PrintToString(extra);
    EXPECT_EQ(tshark_fin.size(), 10u) << "5 connections × 2 FINs";
    EXPECT_GE(tshark_rst.size(), static_cast<std::size_t>(aborted_downloads)) << "each aborted download ends with RST";
    const auto ends = of_kind(events, "connection_end");
    ASSERT_EQ(ends.size(), 5u + aborted_downloads);
    for (std::size_t i = 5; i < ends.size(); ++i) {
        EXPECT_EQ(ends[i].value("close_kind", ""), "rst") << ends[i].dump();
        EXPECT_EQ(ends[i].value("closed_first", json()), json("client")) << ends[i].dump();
    }
}

TEST(E2E, ChromiumLoadsPage) {
    E2E_REQUIRE_TOOL(fs::exists(chromium_binary), chromium_binary.string());
    TempDir dir;
    Result browser;
    const auto s = run_live(dir, [&](std::uint16_t port) {
        auto argv = chromium_argv(dir / "chromium-profile", 5000);
        argv.insert(argv.end(), {"--dump-dom", base_url(port) + "/"});
        browser = run_command(argv, dir.path(), 75s);
        std::this_thread::sleep_for(1s);
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    ASSERT_FALSE(browser.timed_out) << "chromium did not finish";
    EXPECT_EQ(browser.exit_code, 0) << "chromium failed:\n" << browser.err;

    // The page title, read from the source page.
    const std::string page = read_text(www_dir / "index.html");
    const auto t0 = page.find("<title>");
    const auto t1 = page.find("</title>");
    ASSERT_TRUE(t0 != std::string::npos && t1 != std::string::npos);
    const std::string title = page.substr(t0 + 7, t1 - t0 - 7);
    EXPECT_NE(browser.out.find(title), std::string::npos) << "title not in the DOM:\n" << browser.out.substr(0, 2000);

    const auto events = without_summary(s.events);
    EXPECT_GE(of_kind(events, "connection").size(), 1u);
    EXPECT_GE(of_kind(events, "teardown").size(), 1u);

    auto response_for = [&](const json& req) -> json {
        for (const auto& r : of_kind(events, "http_response"))
            if (r.at("stream") == req.at("stream") && r.value("request_frame", json()) == req.at("frame")) return r;
        return nullptr;
    };
    bool index_ok = false, logo_ok = false, mp3_ok = false;
    for (const auto& q : of_kind(events, "http_request")) {
        if (q.value("method", "") != "GET") continue;
        const json r = response_for(q);
        if (!r.is_object()) continue;
        const auto uri = q.value("uri", "");
        const int status = r.value("status", 0);
        if (uri == "/" && status == 200) index_ok = true;
        if (uri == "/logo.jpg" && status == 200) logo_ok = true;
        if (uri == "/audio.mp3" && q.at("headers").contains("range") && status == 206) mp3_ok = true;
    }
    EXPECT_TRUE(index_ok) << "GET / → 200";
    EXPECT_TRUE(logo_ok) << "GET /logo.jpg → 200";
    EXPECT_TRUE(mp3_ok) << "GET /audio.mp3 with a Range header → 206";
    bool multi = false;
    for (const auto& r : of_kind(events, "http_response")) multi = multi || r.value("segments", 0) > 1;
    EXPECT_TRUE(multi) << "at least one response carried in several segments";

    const json sum = summary_of(s.events);
    EXPECT_EQ(sum.value("dropped", -1), 0);
    EXPECT_EQ(sum.value("captured", -1), sum.value("recorded", -2));

    const auto r = run_replay(dir, s.pcap);
    ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.err;
    EXPECT_TRUE(same_events(events, without_summary(r.events))) << "replay of the Chromium recording";
}

TEST(E2E, LinkTypeConversions) {
    TempDir dir;
    const auto s = run_live(dir, [&](std::uint16_t port) {
        const auto base = base_url(port);
        curl(dir, {"-o", "/dev/null", "-o", "/dev/null", base + "/", base + "/logo.jpg"});
        curl(dir, {"-o", "/dev/null", "-r", "0-", base + "/audio.mp3"});
        curl(dir, {"-o", "/dev/null", base + "/missing.html"});
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;

    const auto original = run_replay(dir, s.pcap);
    ASSERT_EQ(original.exit_code, std::optional<int>(0)) << original.err;
    const auto base_events = without_summary(original.events);
    ASSERT_EQ(of_kind(base_events, "http_response").size(), 4u);
    const auto base_summary = summary_of(original.events);

    const auto eth = read_pcap(s.pcap);
    ASSERT_EQ(eth.link_type, dlt_en10mb);

    auto check = [&](const std::string& name, const fs::path& file, const std::vector<std::string>& ignored) {
        SCOPED_TRACE(name);
        const auto r = run_replay(dir, file);
        ASSERT_EQ(r.exit_code, std::optional<int>(0)) << name << ": " << r.err;
        EXPECT_TRUE(same_events(base_events, without_summary(r.events), ignored)) << name;
        const auto sum = summary_of(r.events);
        EXPECT_EQ(sum.value("frames", -1), base_summary.value("frames", -2)) << name;
        EXPECT_EQ(sum.value("invalid_frames", -1), 0) << name;
        EXPECT_EQ(sum.value("ignored_frames", -1), 0) << name;
    };

    {   // (a) DLT_NULL, AF_INET = 2 in host (little-endian) order, as on macOS lo0 / Npcap.
        const auto f = dir / "null-ipv4.pcap";
        write_pcap(f, replace_ethernet(eth, dlt_null, null_header(2)));
        check("DLT_NULL IPv4", f, {});
    }
    {   // (b) LINUX_SLL2, as `tcpdump -i any` writes.
        const auto f = dir / "sll2.pcap";
        write_pcap(f, replace_ethernet(eth, dlt_linux_sll2, sll2_header_ipv4()));
        check("LINUX_SLL2", f, {});
    }
    // (c) IPv4 rewritten as IPv6 (::1 ↔ ::1) in DLT_NULL with the IPv6 families of macOS (30),
    // FreeBSD (28) and the BSDs/Windows (24). Addresses then print as [::1]:port.
    for (std::uint32_t af : {30u, 28u, 24u}) {
        const auto f = dir / ("null-ipv6-af" + std::to_string(af) + ".pcap");
        write_pcap(f, ethernet_ipv4_to_null_ipv6(eth, af));
        const auto r = run_replay(dir, f);
        ASSERT_EQ(r.exit_code, std::optional<int>(0)) << "AF " << af << ": " << r.err;
        // The same events, except the addresses and what depends on the IP version: the segment
        // sizing (an IPv6 header is 40 bytes) and the checksums (the rewrite keeps the IPv4 ones).
        EXPECT_TRUE(same_events(base_events, without_summary(r.events), {"client", "server", "sizing", "checksums"}))
            << "IPv6 AF " << af;
        for (const auto& resp : of_kind(r.events, "http_response")) {
            EXPECT_EQ(resp["sizing"].value("ip_version", 0), 6) << resp.dump();
            EXPECT_EQ(resp["sizing"].value("ethernet_mss", 0), 1440) << resp.dump();
        }
        for (const auto& c : of_kind(r.events, "connection")) {
            EXPECT_EQ(c.value("client", "").rfind("[::1]:", 0), 0u) << c.dump();
            EXPECT_EQ(c.value("server", ""), "[::1]:" + std::to_string(s.port)) << c.dump();
        }
    }
    // (d) pcapng (editcap or tshark), when available.
    {
        const auto f = dir / "eth.pcapng";
        std::optional<Result> conv;
        if (on_path("editcap"))
            conv = run_command({"editcap", "-F", "pcapng", s.pcap.string(), f.string()}, dir.path(), 60s);
        else if (on_path("tshark"))
            conv = run_command({"tshark", "-F", "pcapng", "-r", s.pcap.string(), "-w", f.string()}, dir.path(), 60s);
        if (conv) {
            ASSERT_EQ(conv->exit_code, 0) << conv->err;
            check("pcapng", f, {});
        } else {
            std::cout << "[ NOTE     ] editcap/tshark not available: pcapng conversion not tested\n";
        }
    }
    {   // (e) DLT_LOOP (OpenBSD): like DLT_NULL, but the family is in network byte order.
        const auto f = dir / "loop-ipv4.pcap";
        write_pcap(f, replace_ethernet(eth, dlt_loop, {0, 0, 0, 2}));
        check("DLT_LOOP IPv4", f, {});
    }
}

TEST(E2E, BadInput) {
    TempDir dir;
    {   // Missing file.
        const auto r = run_command({labtool, "replay", (dir / "does-not-exist.pcap").string(), "--lang", "en"},
                                   dir.path(), command_timeout);
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_EQ(r.err.rfind("labtool: error:", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line:\n" << r.err;
        // The same error in Chinese: the prefix from the catalogue, the library's reason as it is.
        const auto zh = run_command({labtool, "replay", (dir / "does-not-exist.pcap").string(), "--lang", "zh"},
                                    dir.path(), command_timeout);
        EXPECT_EQ(zh.exit_code, 1);
        EXPECT_EQ(zh.err.rfind("labtool：错误：", 0), 0u) << zh.err;
        EXPECT_EQ(std::count(zh.err.begin(), zh.err.end(), '\n'), 1) << "one line:\n" << zh.err;
    }
    {   // A text file.
        const auto f = dir / "notes.txt";
        write_text(f, "this is not a capture, just some text\nsecond line\n");
        const auto r = run_command({labtool, "replay", f.string(), "--lang", "en"}, dir.path(), command_timeout);
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_EQ(r.err.rfind("labtool: error:", 0), 0u) << r.err;
        EXPECT_NE(r.err.find("not a capture"), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line:\n" << r.err;
    }
    {   // Usage errors, help and version.
        const auto bad = run_command({labtool, "replay", "--no-such-option", "x.pcap"}, dir.path(), command_timeout);
        EXPECT_EQ(bad.exit_code, 2) << bad.err;
        const auto bad_run = run_command({labtool, "run", "--no-such-option"}, dir.path(), command_timeout);
        EXPECT_EQ(bad_run.exit_code, 2) << bad_run.err;
        const auto bad_top = run_command({labtool, "--no-such-option"}, dir.path(), command_timeout);
        EXPECT_EQ(bad_top.exit_code, 2) << bad_top.err;
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{labtool, "--help"}, std::vector<std::string>{labtool, "run", "--help"},
              std::vector<std::string>{labtool, "replay", "--help"}}) {
            const auto h = run_command(args, dir.path(), command_timeout);
            EXPECT_EQ(h.exit_code, 0) << ::testing::PrintToString(args);
            EXPECT_NE((h.out + h.err).find("Examples"), std::string::npos) << ::testing::PrintToString(args) << h.out;
        }
        const auto v = run_command({labtool, "--version"}, dir.path(), command_timeout);
        EXPECT_EQ(v.exit_code, 0);
        EXPECT_NE(v.out.find("labtool"), std::string::npos) << v.out;
    }

    // The rest needs a live capture: a real recording to cut, and `run` reaching its listen().
    const auto s = run_live(dir, [&](std::uint16_t port) {
        curl(dir, {"-o", "/dev/null", base_url(port) + "/"});
        curl(dir, {"-o", "/dev/null", base_url(port) + "/logo.jpg"});
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    {   // A capture cut off 10 bytes before the end of its last record.
        const auto whole = read_text(s.pcap);
        ASSERT_GT(whole.size(), 100u);
        const auto cut = dir / "cut.pcap";
        write_text(cut, whole.substr(0, whole.size() - 10));
        const auto r = run_replay(dir, cut);
        EXPECT_EQ(r.exit_code, std::optional<int>(1)) << r.err;
        EXPECT_FALSE(of_kind(r.events, "http_response").empty()) << "events for what is there:\n" << r.out;
        EXPECT_FALSE(of_kind(r.events, "connection").empty());
        std::string lower = r.err;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        EXPECT_NE(lower.find("warning"), std::string::npos) << "a warning on stderr:\n" << r.err;
        const auto sum = summary_of(r.events);
        const auto full = summary_of(s.events);
        if (sum.is_object()) {
            EXPECT_EQ(sum.value("frames", -1LL), full.value("frames", -1LL) - 1) << "all but the cut record";
        }
    }
    {   // A port already in use.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ASSERT_EQ(::listen(fd, 4), 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        const auto port = std::to_string(ntohs(addr.sin_port));
        const auto r = run_command({labtool, "run", "--port", port, "--no-color", "--lang", "en"}, dir.path(), command_timeout);
        const auto zh = run_command({labtool, "run", "--port", port, "--no-color", "--lang", "zh"}, dir.path(), command_timeout);
        ::close(fd);
        EXPECT_FALSE(r.timed_out) << "labtool run on a busy port kept running";
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("already in use"), std::string::npos) << r.err;
        EXPECT_EQ(zh.exit_code, 1) << zh.err;
        EXPECT_NE(zh.err.find("labtool：错误：端口 " + port + " 已被其他程序占用"), std::string::npos) << zh.err;
    }
}

TEST(E2E, IPv6Live) {
    TempDir dir;
    std::string code;
    const auto s = run_live(dir, [&](std::uint16_t port) {
        code = curl(dir, {"-g", "-o", "/dev/null", "-w", "%{http_code}", "http://[::1]:" + std::to_string(port) + "/"});
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    EXPECT_EQ(code, "200");
    const auto events = without_summary(s.events);
    const auto conns = of_kind(events, "connection");
    ASSERT_EQ(conns.size(), 1u) << s.out;
    EXPECT_EQ(conns[0].value("client", "").rfind("[::1]:", 0), 0u) << conns[0].dump();
    EXPECT_EQ(conns[0].value("server", ""), "[::1]:" + std::to_string(s.port));
    const auto stream = conns[0].at("stream").get<int>();
    check_handshake(by_stream(events)[stream], stream);
    const auto resps = of_kind(events, "http_response");
    ASSERT_EQ(resps.size(), 1u);
    EXPECT_EQ(resps[0].value("status", 0), 200);
    EXPECT_EQ(resps[0].value("request_uri", ""), "/");
    EXPECT_EQ(resps[0].value("content_length", json()), json(www_size("index.html")));
    check_client_close(by_stream(events)[stream], stream, 1);
    EXPECT_EQ(summary_of(s.events).value("dropped", -1), 0);

    const auto r = run_replay(dir, s.pcap);
    ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.err;
    EXPECT_TRUE(same_events(events, without_summary(r.events))) << "replay of the IPv6 recording";
}

// When the server ends the connection after a response (Connection: close, HTTP/1.0), the
// response's last segment carries its FIN: one packet less than a separate FIN, as nginx does,
// and what the capture then explains as "FIN on the last data segment".
TEST(E2E, ServerSendsItsFinOnTheLastDataSegmentWhenItCloses) {
    if (std::string_view(LABTOOL_PLATFORM_BACKEND) != "linux")
        GTEST_SKIP() << "MSG_MORE is a Linux fast path: the " LABTOOL_PLATFORM_BACKEND
                        " backend sends its FIN in a segment of its own";
    TempDir dir;
    std::vector<std::string> codes;
    const auto s = run_live(dir, [&](std::uint16_t port) {
        const auto url = base_url(port) + "/";
        codes.push_back(curl(dir, {"-o", "/dev/null", "-w", "%{http_code}", "-H", "Connection: close", url}));
        codes.push_back(curl(dir, {"-0", "-o", "/dev/null", "-w", "%{http_code}", url}));
    });
    E2E_REQUIRE_STARTED(s);
    ASSERT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    EXPECT_EQ(codes, (std::vector<std::string>{"200", "200"}));
    const auto streams = by_stream(without_summary(s.events));
    ASSERT_EQ(streams.size(), 2u) << s.out;
    for (const auto& [stream, ev] : streams) {
        const auto resp = of_kind(ev, "http_response");
        ASSERT_EQ(resp.size(), 1u) << "stream " << stream;
        const auto bytes = resp[0].value("header_bytes", 0LL) + resp[0].value("body_bytes", 0LL);
        const auto td = of_kind(ev, "teardown");
        ASSERT_FALSE(td.empty()) << "stream " << stream;
        EXPECT_EQ(td[0].value("from", ""), "server") << td[0].dump();
        EXPECT_TRUE(td[0].value("fin", false)) << td[0].dump();
        EXPECT_EQ(td[0].value("len", -1LL), bytes) << "the FIN rides on the whole response: " << td[0].dump();
        EXPECT_EQ(td[0].value("frame", -1LL), resp[0].value("frame", -2LL)) << "the response's last frame";
        const auto end = of_kind(ev, "connection_end");
        ASSERT_EQ(end.size(), 1u);
        EXPECT_EQ(end[0].value("closed_first", ""), "server") << end[0].dump();
    }
}

}  // namespace

namespace e2e {
namespace {

// `--record s.pcapng`: every packet carries labtool's explanation as a comment that tshark shows
// (frame.comment), in the language asked for; labtool replays its own pcapng to the same events.
TEST(E2E, PcapngRecordingKeepsTheWordsInChineseAndEnglish) {
    E2E_REQUIRE_TOOL(on_path("tshark"), "tshark");
    for (const std::string lang : {"zh", "en"}) {
        SCOPED_TRACE(lang);
        TempDir dir;
        const std::uint16_t port = free_port();
        const fs::path rec = dir / "s.pcapng";
        LiveRun run({labtool, "run", "--port", std::to_string(port), "--record", rec.string(), "--lang", lang,
                     "--no-color"},
                    dir.path(), "run");
        LiveSession s;
        if (!run.wait_ready()) {
            s.no_permission = run.no_permission();
            s.problem = run.err();
        } else {
            s.started = true;
        }
        E2E_REQUIRE_STARTED(s);
        curl(dir, {"-o", "/dev/null", base_url(port) + "/"});
        std::this_thread::sleep_for(500ms);
        ASSERT_EQ(run.stop(), std::optional<int>(0)) << run.err();
        const std::string text = run.out();
        EXPECT_EQ(text.find("[format error"), std::string::npos) << text;
        if (lang == "zh") {
            EXPECT_NE(text.find("SYN 占用一个序号"), std::string::npos) << text;
            EXPECT_NE(text.find("汇总"), std::string::npos) << text;
        } else {
            EXPECT_NE(text.find("a SYN consumes one sequence number"), std::string::npos) << text;
        }
        const auto t = run_command({"tshark", "-r", rec.string(), "-T", "fields", "-e", "frame.number", "-e",
                                    "frame.comment"},
                                   dir.path(), command_timeout);
        ASSERT_EQ(t.exit_code, 0) << t.err;
        const auto lines = split(t.out, '\n');
        ASSERT_GE(lines.size(), 9u) << t.out;   // handshake, request, response, ack, 3-packet close
        const std::string first = lines[0];
        EXPECT_EQ(first.rfind("1\t", 0), 0u) << first;
        EXPECT_NE(first.find(lang == "zh" ? "三次握手 1/3" : "handshake 1/3"), std::string::npos) << first;
        std::size_t commented = 0;
        for (const auto& l : lines)
            if (l.find('\t') != std::string::npos && l.substr(l.find('\t') + 1).size() > 0) ++commented;
        EXPECT_GE(commented, 7u) << t.out;
        // labtool reads its own pcapng back to the same events as the live run.
        const auto replay = run_command({labtool, "replay", rec.string(), "--lang", lang, "--no-color"}, dir.path(),
                                        command_timeout);
        EXPECT_EQ(replay.exit_code, 0) << replay.err;
        const auto live_events = text.substr(0, text.find(lang == "zh" ? "汇总" : "Summary"));
        const auto replay_events = replay.out.substr(replay.out.find('\n') + 1);   // after the file comment
        EXPECT_EQ(replay_events.substr(0, replay_events.find(lang == "zh" ? "汇总" : "Summary")), live_events);
    }
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// `labtool doctor` reports the loopback device, capture permission and a busy port with a fix.
TEST(E2E, DoctorFindsABusyPort) {
    TempDir dir;
    const std::uint16_t port = free_port();
    // Occupy the port: doctor must say so, with a fix, and exit 1 (this needs no capture rights).
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ASSERT_EQ(::listen(fd, 1), 0);
        const auto busy = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "en"}, dir.path(), command_timeout);
        ::close(fd);
        EXPECT_EQ(busy.exit_code, 1) << busy.out;
        EXPECT_NE(busy.out.find("Address already in use"), std::string::npos) << busy.out;
        EXPECT_NE(busy.out.find("fix:"), std::string::npos) << busy.out;
    }
    // The port free again: everything passes, when capture is permitted.
    const auto r = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "en"}, dir.path(), command_timeout);
    EXPECT_NE(r.out.find("loopback device:"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Address already in use"), std::string::npos) << r.out;
    if (r.out.find("no permission to capture") != std::string::npos) {
        EXPECT_EQ(r.exit_code, 1);
        if (require_live()) FAIL() << "LABTOOL_REQUIRE_LIVE=1 but capture is not permitted:\n" << r.out;
        GTEST_SKIP() << "capture not permitted:\n" << r.out;
    }
    EXPECT_EQ(r.exit_code, 0) << r.out;
}

// Every address `localhost` resolves to, in the resolver's order (no AI_ADDRCONFIG, as doctor).
std::vector<std::string> localhost_addresses() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    addrinfo* list = nullptr;
    std::vector<std::string> out;
    if (::getaddrinfo("localhost", nullptr, &hints, &list) != 0) return out;
    for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* bytes = a->ai_family == AF_INET6
                                ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr)
                                : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr);
        if (::inet_ntop(a->ai_family, bytes, text, sizeof text) == nullptr) continue;
        if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
    }
    ::freeaddrinfo(list);
    return out;
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : separator) + i;
    return s;
}

// `labtool doctor --lang zh`: every line in Chinese (commands, paths and the system's own error
// text aside), the same checks and exit code as in English, and the localhost line listing every
// address localhost resolves to, in order.
TEST(E2E, DoctorSpeaksChinese) {
    TempDir dir;
    const std::uint16_t port = free_port();
    const auto addresses = localhost_addresses();
    ASSERT_FALSE(addresses.empty()) << "localhost does not resolve here";
    const auto check_chinese = [&](const std::string& out) {
        static const std::regex sentence(R"(\b[A-Za-z]{2,} [a-z]{2,} [a-z]{2,} [a-z]{2,}\b)");
        std::istringstream lines(out);
        std::string line;
        int n = 0;
        while (std::getline(lines, line)) {
            if (line.empty()) continue;
            ++n;
            // A CJK character (U+4E00..U+9FFF starts with 0xE4..0xE9 in UTF-8).
            EXPECT_TRUE(std::any_of(line.begin(), line.end(),
                                    [](char c) { return static_cast<unsigned char>(c) >= 0xE4 && static_cast<unsigned char>(c) <= 0xE9; }))
                << "a line without Chinese: " << line;
            const std::string system_text = std::strerror(EADDRINUSE);  // ec.message(), as the system says it
            if (const auto at = line.find(system_text); at != std::string::npos) line.erase(at, system_text.size());
            EXPECT_FALSE(std::regex_search(line, sentence)) << "an English sentence: " << line;
        }
        EXPECT_GE(n, 6) << out;
        EXPECT_EQ(out.find("fix:"), std::string::npos) << out;
    };
    {   // The port busy: a problem with its fix, exit 1, as in English.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ASSERT_EQ(::listen(fd, 1), 0);
        const auto zh = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "zh"}, dir.path(), command_timeout);
        const auto en = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "en"}, dir.path(), command_timeout);
        ::close(fd);
        EXPECT_EQ(zh.exit_code, 1) << zh.out;
        EXPECT_EQ(en.exit_code, 1) << en.out;
        check_chinese(zh.out);
        EXPECT_NE(zh.out.find("labtool doctor：检查本机捕获所需的条件"), std::string::npos) << zh.out;
        EXPECT_NE(zh.out.find("127.0.0.1 上的端口 " + std::to_string(port) + "："), std::string::npos) << zh.out;
        EXPECT_NE(zh.out.find("解决办法：停止占用它的程序（"), std::string::npos) << zh.out;
        EXPECT_NE(zh.out.find("个问题需要解决"), std::string::npos) << zh.out;
        // As many checks, problems and fixes in both languages.
        for (const char* mark : {"✓", "✗", "·"}) {
            const auto count = [&](const std::string& s) {
                std::size_t k = 0;
                for (auto at = s.find(mark); at != std::string::npos; at = s.find(mark, at + 1)) ++k;
                return k;
            };
            EXPECT_EQ(count(zh.out), count(en.out)) << mark << "\n" << zh.out << "\n" << en.out;
        }
        // localhost: every address, in order, and what a browser and labtool do with them.
        EXPECT_NE(en.out.find("localhost resolves to " + joined(addresses, ", ") + "; a browser may use either loopback "
                              "address, IPv6 ::1 or IPv4 127.0.0.1"),
                  std::string::npos) << en.out;
        EXPECT_NE(en.out.find("`labtool run` listens on both 127.0.0.1 and ::1, and captures both"), std::string::npos) << en.out;
        EXPECT_EQ(en.out.find("resolves first to"), std::string::npos) << en.out;
        EXPECT_NE(zh.out.find("localhost 解析为 " + joined(addresses, "、") + "；浏览器可能使用任一回环地址"), std::string::npos)
            << zh.out;
        EXPECT_NE(zh.out.find("`labtool run` 默认同时监听 127.0.0.1 和 ::1"), std::string::npos) << zh.out;
    }
    // The port free: the same exit code in both languages (0 when capture is permitted).
    const auto zh = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "zh"}, dir.path(), command_timeout);
    const auto en = run_command({labtool, "doctor", "--port", std::to_string(port), "--lang", "en"}, dir.path(), command_timeout);
    check_chinese(zh.out);
    EXPECT_EQ(zh.exit_code, en.exit_code) << zh.out << "\n" << en.out;
    EXPECT_NE(zh.out.find("端口 " + std::to_string(port) + " 在 127.0.0.1 上空闲"), std::string::npos) << zh.out;
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// `labtool report`, the real binary: an HTML file from a capture, or the page on stdout with
// `-o -`; a comment a student added in Wireshark is shown beside its packet, escaped.
TEST(E2E, ReportWritesTheDiagramWithWiresharkComments) {
    E2E_REQUIRE_TOOL(on_path("editcap"), "editcap (wireshark-common)");
    TempDir dir;
    const fs::path commented = dir / "commented.pcapng";
    const auto conv = run_command({"editcap", "-F", "pcapng", "-a", "3:a student's <note>", LABTOOL_GOLDEN_PCAP,
                                   commented.string()},
                                  dir.path(), 60s);
    ASSERT_EQ(conv.exit_code, 0) << conv.err;
    const fs::path html = dir / "report.html";
    const auto r = run_command({labtool, "report", commented.string(), "-o", html.string(), "--title", "lab 1"},
                               dir.path(), command_timeout);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string page = read_text(html);
    EXPECT_NE(page.find("<svg"), std::string::npos);
    EXPECT_NE(page.find("lab 1"), std::string::npos);
    EXPECT_NE(page.find("a student&#39;s &lt;note&gt;"), std::string::npos) << "the Wireshark comment, escaped";
    EXPECT_EQ(page.find("<note>"), std::string::npos);
    const auto out = run_command({labtool, "report", LABTOOL_GOLDEN_PCAP, "-o", "-"}, dir.path(), command_timeout);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out.rfind("<!DOCTYPE html>", 0), 0u) << out.out.substr(0, 200);
    const auto missing = run_command({labtool, "report", (dir / "nope.pcap").string(), "-o", "-"}, dir.path(),
                                     command_timeout);
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("nope.pcap"), std::string::npos) << missing.err;
}

// Issue 4 as a user sees it: Chromium plays the MP3 from `labtool serve` with a Range request,
// seeks it, and a reload revalidates with 304s (Cache-Control: max-age=0).
TEST(E2E, ChromiumPlaysSeeksAndRevalidates) {
    E2E_REQUIRE_TOOL(fs::exists(chromium_binary), chromium_binary.string());
    TempDir dir;
    const fs::path root = dir / "site";
    fs::create_directories(root);
    fs::copy_file(www_dir / "audio.mp3", root / "audio.mp3");
    write_text(root / "index.html",
               "<!doctype html><html><head><meta charset=\"utf-8\"><title>seek</title></head><body>"
               "<audio id=\"a\" src=\"audio.mp3\" preload=\"auto\"></audio><p id=\"s\">start</p><script>"
               "const a=document.getElementById('a'),s=document.getElementById('s');"
               "a.addEventListener('loadedmetadata',()=>{s.textContent='duration '+Math.round(a.duration);a.currentTime=80;});"
               "a.addEventListener('seeked',()=>{s.textContent+=' seeked '+Math.round(a.currentTime);});"
               "</script></body></html>");
    const std::uint16_t port = free_port();
    LiveRun srv({labtool, "serve", "--port", std::to_string(port), "--root", root.string()}, dir.path(), "serve");
    ASSERT_TRUE(srv.wait_ready()) << srv.err();
    auto load = [&] {  // the same profile both times: the second load is a reload
        auto argv = chromium_argv(dir / "profile", 8000);
        argv.insert(argv.end(), {"--dump-dom", base_url(port) + "/"});
        return run_command(argv, dir.path(), 75s);
    };
    const auto first = load();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("duration 90 seeked 80"), std::string::npos) << first.out;
    const auto second = load();
    ASSERT_EQ(second.exit_code, 0) << second.err;
    ASSERT_EQ(srv.stop(), std::optional<int>(0));
    const std::string log = srv.err();
    EXPECT_NE(log.find("GET /audio.mp3 206"), std::string::npos) << log;   // Range: bytes=0-
    EXPECT_NE(log.find("GET / 200"), std::string::npos) << log;
    EXPECT_NE(log.find("GET / 304"), std::string::npos) << log;            // the reload revalidated
}

// ---------------------------------------------------------------------------------------------
// Damaged files, far-out timestamps and names that are not UTF-8: whatever was read is analysed,
// the summary is the last line, and `report` leaves a whole page or none.

/// A little-endian pcapng built block by block from the golden capture's frames.
class Pcapng {
public:
    Pcapng() {
        std::string body;
        u32(body, 0x1A2B3C4D);
        u16(body, 1);
        u16(body, 0);
        u32(body, 0xFFFFFFFF);  // section length unknown
        u32(body, 0xFFFFFFFF);
        block(0x0A0D0D0A, body);
    }
    /// An interface: link type, optional if_tsresol byte and if_tsoffset seconds.
    Pcapng& idb(std::uint16_t link, std::optional<std::uint8_t> tsresol = std::nullopt,
                std::optional<std::int64_t> tsoffset = std::nullopt) {
        std::string body;
        u16(body, link);
        u16(body, 0);
        u32(body, 262144);
        if (tsresol) {
            u16(body, 9);
            u16(body, 1);
            body += static_cast<char>(*tsresol);
            body.append(3, '\0');
        }
        if (tsoffset) {
            u16(body, 14);
            u16(body, 8);
            u32(body, static_cast<std::uint32_t>(static_cast<std::uint64_t>(*tsoffset)));
            u32(body, static_cast<std::uint32_t>(static_cast<std::uint64_t>(*tsoffset) >> 32));
        }
        if (tsresol || tsoffset) u32(body, 0);  // opt_endofopt
        return block(1, body);
    }
    Pcapng& epb(std::uint32_t interface, std::uint64_t ts, const PcapRecord& r) {
        std::string body;
        u32(body, interface);
        u32(body, static_cast<std::uint32_t>(ts >> 32));
        u32(body, static_cast<std::uint32_t>(ts));
        u32(body, static_cast<std::uint32_t>(r.data.size()));
        u32(body, r.orig_len);
        body.append(r.data.begin(), r.data.end());
        body.append((4 - body.size() % 4) % 4, '\0');
        return block(6, body);
    }
    /// Raw bytes (a damaged block).
    Pcapng& raw(const std::string& bytes) {
        bytes_ += bytes;
        return *this;
    }
    [[nodiscard]] const std::string& bytes() const { return bytes_; }

    static void u16(std::string& s, std::uint16_t v) {
        s += static_cast<char>(v & 0xFF);
        s += static_cast<char>(v >> 8);
    }
    static void u32(std::string& s, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
    }

private:
    Pcapng& block(std::uint32_t type, const std::string& body) {
        const auto total = static_cast<std::uint32_t>(12 + body.size());
        u32(bytes_, type);
        u32(bytes_, total);
        bytes_ += body;
        u32(bytes_, total);
        return *this;
    }
    std::string bytes_;
};

std::uint64_t micros(const PcapRecord& r) { return std::uint64_t{r.ts_sec} * 1'000'000 + r.ts_frac / 1000; }

/// Text output's last paragraph, from its last line that starts with `marker` (after the indent)
/// to the end, wrapped lines joined with single spaces.
std::string last_paragraph(const std::string& text, const std::string& marker) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    std::string joined;
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        const auto start = it->find_first_not_of(' ');
        joined = it->substr(start) + (joined.empty() ? "" : " " + joined);
        if (it->compare(start, marker.size(), marker) == 0) return joined;
    }
    return "(no line starting with " + marker + ")";
}

/// Files in `dir` whose names contain `part` (a report's temporary file left behind).
std::vector<std::string> leftovers(const fs::path& dir, const std::string& part) {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(part) != std::string::npos) found.push_back(e.path().filename().string());
    return found;
}

TEST(E2E, DamagedPcapngStillEndsWithTheSummary) {
    TempDir dir;
    const PcapFile golden = read_pcap(LABTOOL_GOLDEN_PCAP);
    ASSERT_GT(golden.records.size(), 20u);
    constexpr std::size_t before = 10;  // frames read before the damage
    struct Variant {
        std::string name;
        std::string damage;   // bytes put after frame `before`
        std::string because;  // in the warning
    };
    std::string bad_length;   // a block whose length is not a multiple of 4
    Pcapng::u32(bad_length, 6);
    Pcapng::u32(bad_length, 0x13);
    bad_length.append(16, '\0');
    std::string huge_length;  // a block claiming 16 MiB in a file of 40 KiB
    Pcapng::u32(huge_length, 6);
    Pcapng::u32(huge_length, 16 * 1024 * 1024);
    const std::vector<Variant> variants = {
        {"two-links", Pcapng().idb(101).bytes().substr(28), "different from the type of the first interface"},
        {"bad-length", bad_length, "not a multiple of 4"},
        {"huge-length", huge_length, "cut off by the end of the file"},
    };
    for (const Variant& v : variants) {
        SCOPED_TRACE(v.name);
        Pcapng f;
        f.idb(1);
        for (std::size_t i = 0; i < before; ++i) f.epb(0, micros(golden.records[i]), golden.records[i]);
        f.raw(v.damage);
        for (std::size_t i = before; i < golden.records.size(); ++i) f.epb(0, micros(golden.records[i]), golden.records[i]);
        const fs::path file = dir / (v.name + ".pcapng");
        write_text(file, f.bytes());

        const auto r = run_replay(dir, file);
        EXPECT_EQ(r.exit_code, std::optional<int>(1)) << r.err;
        ASSERT_FALSE(r.events.empty()) << r.err;
        const json& sum = r.events.back();
        EXPECT_EQ(sum.value("event", ""), "summary") << "the summary is the last line:\n" << r.out;
        EXPECT_EQ(sum.value("frames", -1LL), static_cast<long long>(before)) << sum.dump();
        const std::string warning = sum.value("warning", "");
        EXPECT_NE(warning.find(v.because), std::string::npos) << warning;
        EXPECT_TRUE(std::regex_search(warning, std::regex("packet 1[01]\\b.*byte [0-9]+"))) << "says where: " << warning;
        EXPECT_NE(r.err.find("labtool: warning:"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("labtool: error:"), std::string::npos) << r.err;

        const auto text = run_command({labtool, "replay", file.string(), "--no-color", "--lang", "en"}, dir.path(),
                                      command_timeout);
        EXPECT_EQ(text.exit_code, 1) << text.err;
        EXPECT_NE(text.out.find("frames read " + std::to_string(before)), std::string::npos) << text.out;
        EXPECT_NE(last_paragraph(text.out, "warning: ").find(v.because), std::string::npos)
            << "the summary's warning last:\n" << text.out;

        const fs::path html = dir / (v.name + ".html");
        const auto rep = run_command({labtool, "report", file.string(), "-o", html.string(), "--lang", "en"},
                                     dir.path(), command_timeout);
        EXPECT_EQ(rep.exit_code, 1) << rep.err;
        const std::string page = read_text(html);
        EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << page.substr(0, 200);
        EXPECT_NE(page.find("</html>"), std::string::npos) << "a whole page";
        EXPECT_NE(page.find(v.because), std::string::npos) << "the warning in the page";
        EXPECT_EQ(leftovers(dir.path(), ".part"), std::vector<std::string>{}) << "no temporary file left";
    }

    {   // A report that cannot be written leaves nothing behind (and no 0-byte page).
        const fs::path missing_dir = dir / "no-such-folder" / "r.html";
        const auto rep = run_command({labtool, "report", LABTOOL_GOLDEN_PCAP, "-o", missing_dir.string()}, dir.path(),
                                     command_timeout);
        EXPECT_EQ(rep.exit_code, 1);
        EXPECT_FALSE(fs::exists(missing_dir));
    }
    {   // An older report stays as it was until the new one is whole.
        const fs::path html = dir / "kept.html";
        write_text(html, "old report");
        const auto rep = run_command({labtool, "report", (dir / "two-links.pcapng").string(), "-o", html.string()},
                                     dir.path(), command_timeout);
        EXPECT_EQ(rep.exit_code, 1) << rep.err;
        EXPECT_EQ(read_text(html).rfind("<!DOCTYPE html>", 0), 0u);
    }
}

TEST(E2E, FarOutPcapngTimestampsReplayWithoutUndefinedBehaviour) {
    // Run against the LABTOOL_SANITIZE build: UBSan reports "runtime error" on stderr.
    TempDir dir;
    const PcapFile golden = read_pcap(LABTOOL_GOLDEN_PCAP);
    constexpr std::int64_t year_2500 = 16'725'225'600;
    Pcapng f;
    f.idb(1, 9, year_2500)                                        // 0: ns, offset to 2500
        .idb(1, 0x80 | 63)                                        // 1: 2^-63 s
        .idb(1, 19, std::numeric_limits<std::int64_t>::min())     // 2: 10^-19 s, offset to -2^63 s
        .idb(1, 0, std::numeric_limits<std::int64_t>::max());     // 3: seconds, offset to +2^63 s
    const std::uint64_t stamps[] = {0, 1, 1ULL << 63, ~std::uint64_t{0}, 16'725'225'600'000'000ULL};
    std::size_t n = 0;
    for (std::size_t i = 0; i < golden.records.size(); ++i) {
        f.epb(static_cast<std::uint32_t>(i % 4), stamps[i % std::size(stamps)], golden.records[i]);
        ++n;
    }
    f.idb(1, 0x80 | 100);  // a corrupted if_tsresol: reading stops here
    f.epb(4, 1, golden.records[0]);
    const fs::path file = dir / "far-out.pcapng";
    write_text(file, f.bytes());
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{"--format", "json"}, std::vector<std::string>{"--ladder"},
          std::vector<std::string>{"-v"}}) {
        SCOPED_TRACE(::testing::PrintToString(extra));
        std::vector<std::string> argv{labtool, "replay", file.string(), "--no-color"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        const auto r = run_command(argv, dir.path(), command_timeout);
        EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << "\n" << r.err;
        EXPECT_EQ(r.err.find("runtime error"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("if_tsresol"), std::string::npos) << r.err;
        if (extra[0] == "--format") {
            const auto events = parse_lines(r.out);
            ASSERT_FALSE(events.empty());
            EXPECT_EQ(events.back().value("event", ""), "summary");
            EXPECT_EQ(events.back().value("frames", -1LL), static_cast<long long>(n));
        }
    }
    const auto rep = run_command({labtool, "report", file.string(), "-o", (dir / "r.html").string()}, dir.path(),
                                 command_timeout);
    EXPECT_EQ(rep.exit_code, 1) << rep.err;
    EXPECT_EQ(rep.err.find("runtime error"), std::string::npos) << rep.err;
}

/// `text` with the first `from` replaced by `to` (of the same length) in the first record holding it.
bool patch_record(PcapFile& f, const std::string& from, const std::string& to) {
    for (PcapRecord& r : f.records) {
        const std::string bytes(r.data.begin(), r.data.end());
        const auto at = bytes.find(from);
        if (at == std::string::npos) continue;
        std::copy(to.begin(), to.end(), r.data.begin() + static_cast<std::ptrdiff_t>(at));
        return true;
    }
    return false;
}

TEST(E2E, NamesAndHttpThatAreNotUtf8) {
    TempDir dir;
    PcapFile golden = read_pcap(LABTOOL_GOLDEN_PCAP);
    // A URI and a header value with bytes that are no UTF-8 (a lone continuation byte, a cut
    // sequence), the same lengths so the captured lengths stay true.
    ASSERT_TRUE(patch_record(golden, "GET /logo.jpg", "GET /l\xff" "go.jpg"));
    ASSERT_TRUE(patch_record(golden, "User-Agent: curl", "User-Agent: c\xc3(rl"));
    const fs::path file = dir / "caf\xe9-\xff.pcap";  // Latin-1: not UTF-8
    write_pcap(file, golden);
    {   // Whole: every line JSON, the bytes replaced.
        const auto r = run_replay(dir, file);
        EXPECT_EQ(r.exit_code, std::optional<int>(0)) << r.err;
        EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
        ASSERT_FALSE(r.events.empty());
        EXPECT_EQ(r.events.back().value("event", ""), "summary");
        bool uri_seen = false;
        for (const auto& e : of_kind(r.events, "http_request"))
            uri_seen = uri_seen || e.value("uri", "") == "/l\xef\xbf\xbdgo.jpg";  // U+FFFD
        EXPECT_TRUE(uri_seen) << r.out;
    }
    // Cut short: the warning names the file, whose name is not UTF-8.
    const std::string whole = read_text(file);
    const fs::path cut = dir / "cut-\xff\xfe.pcap";
    write_text(cut, whole.substr(0, whole.size() - 10));
    {
        const auto r = run_replay(dir, cut);
        EXPECT_EQ(r.exit_code, std::optional<int>(1)) << r.err;
        EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
        ASSERT_FALSE(r.events.empty()) << r.err;
        const json& sum = r.events.back();
        EXPECT_EQ(sum.value("event", ""), "summary") << r.out.substr(r.out.size() > 400 ? r.out.size() - 400 : 0);
        EXPECT_NE(sum.value("warning", "").find("cut-\xef\xbf\xbd\xef\xbf\xbd.pcap"), std::string::npos) << sum.dump();
    }
    for (const char* lang : {"en", "zh"}) {
        const auto t = run_command({labtool, "replay", cut.string(), "--no-color", "--lang", lang}, dir.path(),
                                   command_timeout);
        EXPECT_EQ(t.exit_code, 1) << t.err;
        EXPECT_EQ(t.err.find("labtool: error"), std::string::npos) << t.err;
        EXPECT_EQ(t.err.find("错误"), std::string::npos) << t.err;
        const std::string warning = last_paragraph(t.out, std::string(lang) == "en" ? "warning: " : "警告：");
        EXPECT_NE(warning.find("cut-\xff\xfe.pcap"), std::string::npos) << t.out;
        EXPECT_NE(warning.find("cut off by the end of the file"), std::string::npos) << warning;
    }
    const fs::path html = dir / "report-\xff.html";
    const auto rep = run_command({labtool, "report", cut.string(), "-o", html.string()}, dir.path(), command_timeout);
    EXPECT_EQ(rep.exit_code, 1) << rep.err;
    EXPECT_NE(read_text(html).find("</html>"), std::string::npos);
}

TEST(E2E, RecordingToANameThatIsNotUtf8) {
    TempDir dir;
    const auto s = run_live(dir, [&](std::uint16_t port) { curl(dir, {"-o", "/dev/null", base_url(port) + "/"}); },
                            "rec-\xff\xfe");
    E2E_REQUIRE_STARTED(s);
    EXPECT_EQ(s.exit_code, std::optional<int>(0)) << s.err;
    EXPECT_EQ(s.err.find("json.exception"), std::string::npos) << s.err;
    ASSERT_FALSE(s.events.empty()) << s.err;
    const json& sum = s.events.back();
    EXPECT_EQ(sum.value("event", ""), "summary");
    EXPECT_NE(sum.value("record_path", "").find("rec-\xef\xbf\xbd\xef\xbf\xbd.pcap"), std::string::npos) << sum.dump();
    EXPECT_TRUE(fs::exists(s.pcap));
}

}  // namespace
}  // namespace e2e

// ---------------------------------------------------------------------------------------------
// Recording under stress: written by the capture thread, never through a link, failures said at
// once, a bounded queue to analysis, the ring that -B asks for.

namespace e2e {
namespace {

// A `labtool run` with `args` appended, started and waited for; `s` tells whether it started.
std::unique_ptr<LiveRun> start_run(const TempDir& dir, std::uint16_t port, const std::vector<std::string>& args,
                                   LiveSession& s, const std::string& name = "run") {
    std::vector<std::string> argv{labtool, "run", "--port", std::to_string(port), "--no-color"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto run = std::make_unique<LiveRun>(argv, dir.path(), name);
    if (!run->wait_ready()) {
        s.no_permission = run->no_permission();
        s.problem = "labtool run did not start; stderr:\n" + run->err();
    } else {
        s.started = true;
    }
    return run;
}

struct TsharkCount {
    int exit_code = -1;
    std::size_t packets = 0;
    std::size_t syns = 0;   // connections opened (SYN without ACK)
    std::size_t commented = 0;
    std::string err;
};

TsharkCount tshark_count(const TempDir& dir, const fs::path& file) {
    TsharkCount c;
    const auto r = run_command({"tshark", "-r", file.string(), "-T", "fields", "-E", "separator=/t", "-e",
                                "frame.number", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "frame.comment"},
                               dir.path(), 60s);
    c.exit_code = r.timed_out ? -1 : r.exit_code;
    c.err = r.err;
    for (const auto& line : split(r.out, '\n')) {
        if (line.empty()) continue;
        const auto f = split(line, '\t');
        ++c.packets;
        if (f.size() >= 3 && flag(f[1]) && !flag(f[2])) ++c.syns;
        if (f.size() >= 4 && !f[3].empty()) ++c.commented;
    }
    return c;
}

// `count` curl processes at once, each fetching `url` `repeat` times (bounded: --max-time each).
std::vector<pid_t> start_curls(const TempDir& dir, const std::string& url, int count, int repeat) {
    std::vector<pid_t> pids;
    for (int i = 0; i < count; ++i) {
        std::vector<std::string> argv{"curl", "-s", "--max-time", "10"};
        for (int k = 0; k < repeat; ++k) {
            argv.push_back("-o");
            argv.push_back("/dev/null");
            argv.push_back(url);
        }
        pids.push_back(spawn(argv, dir / ("curl-" + std::to_string(i) + ".out"), dir / ("curl-" + std::to_string(i) + ".err")));
    }
    return pids;
}

void reap_curls(const std::vector<pid_t>& pids) {
    for (const pid_t pid : pids)
        if (!wait_for(pid, 15s)) kill_and_reap(pid);
}

// `kill -9` while recording: everything written up to the last flush (0.1 s) is in the file,
// whole, for .pcap and .pcapng alike (before, both waited in 256 KiB buffers, and the pcapng
// was written only after analysis, so the file held a fraction, cut in the middle of a block).
TEST(E2E, AKilledRunLeavesAReadableRecordingOfEveryFinishedConnection) {
    E2E_REQUIRE_TOOL(on_path("tshark"), "tshark");
    for (const std::string ext : {"pcap", "pcapng"}) {
        SCOPED_TRACE(ext);
        TempDir dir;
        const std::uint16_t port = free_port();
        const fs::path rec = dir / ("killed." + ext);
        LiveSession s;
        auto run = start_run(dir, port, {"--record", rec.string(), "--format", "json"}, s);
        E2E_REQUIRE_STARTED(s);
        const auto base = base_url(port);
        constexpr int connections = 6;
        for (int i = 0; i < connections; ++i)
            curl(dir, {"-o", "/dev/null", base + (i % 2 == 0 ? "/" : "/audio.mp3")});
        std::this_thread::sleep_for(800ms);  // several flush intervals, all packets long captured
        run->kill_now();
        const auto c = tshark_count(dir, rec);
        EXPECT_EQ(c.exit_code, 0) << "tshark must read the file to its end: " << c.err;
        EXPECT_EQ(c.syns, static_cast<std::size_t>(connections)) << "every connection is in the file";
        EXPECT_GE(c.packets, static_cast<std::size_t>(connections) * 8) << "each one whole";
        if (ext == "pcapng") {
            EXPECT_GE(c.commented, static_cast<std::size_t>(connections)) << "analysis kept up: comments";
        }
    }
}

// SIGTERM (and SIGINT) while curl loops still load the server: the summary's count is what the
// file holds, every captured packet, and the file is whole.
TEST(E2E, StoppedUnderLoadTheRecordingHoldsEveryPacketTheSummaryCounts) {
    E2E_REQUIRE_TOOL(on_path("tshark"), "tshark");
    for (const auto& [ext, sig] : {std::pair<std::string, int>{"pcap", SIGTERM}, {"pcapng", SIGTERM}, {"pcapng", SIGINT}}) {
        SCOPED_TRACE(ext + (sig == SIGTERM ? " SIGTERM" : " SIGINT"));
        TempDir dir;
        const std::uint16_t port = free_port();
        const fs::path rec = dir / ("load." + ext);
        LiveSession s;
        auto run = start_run(dir, port, {"--record", rec.string(), "--format", "json"}, s);
        E2E_REQUIRE_STARTED(s);
        const auto curls = start_curls(dir, base_url(port) + "/audio.mp3", 4, 25);
        std::this_thread::sleep_for(1500ms);
        const auto code = run->stop(sig);
        reap_curls(curls);
        ASSERT_TRUE(code.has_value()) << "labtool did not stop within 20 s";
        EXPECT_EQ(*code, 0) << run->err();
        const json sum = summary_of(parse_lines(run->out()));
        ASSERT_TRUE(sum.is_object()) << run->out().substr(0, 2000);
        const auto recorded = sum.value("recorded", -1LL);
        EXPECT_EQ(recorded, sum.value("captured", -2LL)) << sum.dump();
        EXPECT_GT(recorded, 100) << "the load reached the capture";
        EXPECT_TRUE(sum.value("record_error", json("?")).is_null()) << sum.dump();
        const auto c = tshark_count(dir, rec);
        EXPECT_EQ(c.exit_code, 0) << c.err;
        EXPECT_EQ(static_cast<long long>(c.packets), recorded) << "the summary counts what the file holds";
    }
}

// A disk that fills up during the run: one line at once, the recording stops, the explanation
// goes on, the summary says how many packets the file really holds, and the exit status is 1.
TEST(E2E, AFullDiskIsSaidAtOnceAndTheSummaryCountsWhatTheFileHolds) {
    TempDir dir;
    const fs::path small = dir / "small";
    fs::create_directories(small);
    const auto mount = run_command({"mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small.string()}, dir.path(), 10s);
    if (mount.exit_code != 0) {
        if (require_live()) FAIL() << "LABTOOL_REQUIRE_LIVE=1 but a 64k tmpfs cannot be mounted: " << mount.err;
        GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << mount.err;
    }
    struct Unmount {
        const TempDir& dir;
        fs::path at;
        ~Unmount() { (void)run_command({"umount", at.string()}, dir.path(), 10s); }
    } unmount{dir, small};
    for (const std::string ext : {"pcap", "pcapng"}) {
        SCOPED_TRACE(ext);
        const fs::path rec = small / ("full." + ext);
        const std::uint16_t port = free_port();
        LiveSession s;
        auto run = start_run(dir, port, {"--record", rec.string(), "--format", "json"}, s, "full-" + ext);
        E2E_REQUIRE_STARTED(s);
        const auto base = base_url(port);
        for (int i = 0; i < 4; ++i) curl(dir, {"-o", "/dev/null", base + "/logo.jpg"});  // ~120 KB > 64k
        // Said at once, while labtool still runs.
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (run->err().find("stopped") == std::string::npos && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(50ms);
        const std::string said = run->err();
        EXPECT_NE(said.find("labtool: error: recording to " + rec.string() + " stopped: No space left on device"),
                  std::string::npos)
            << said;
        curl(dir, {"-o", "/dev/null", base + "/"});  // the explanation goes on after the failure
        std::this_thread::sleep_for(500ms);
        const auto code = run->stop();
        EXPECT_EQ(code, std::optional<int>(1)) << "a failed recording is a failed run";
        const std::string err = run->err();
        EXPECT_EQ(err.find("terminate"), std::string::npos) << err;
        std::size_t lines = 0;
        for (const auto& l : split(err, '\n')) lines += l.find("error:") != std::string::npos ? 1 : 0;
        EXPECT_EQ(lines, 1u) << "one line, once: " << err;
        const auto events = parse_lines(run->out());
        const json sum = summary_of(events);
        ASSERT_TRUE(sum.is_object()) << run->out();
        EXPECT_EQ(sum.value("connections", -1), 5) << "all five connections explained";
        EXPECT_EQ(sum.value("record_error", json()), json("No space left on device")) << sum.dump();
        const auto recorded = sum.value("recorded", -1LL);
        EXPECT_GT(recorded, 0);
        EXPECT_LT(recorded, sum.value("captured", -1LL));
        if (ext == "pcap") {
            try {
                EXPECT_EQ(static_cast<long long>(read_pcap(rec).records.size()), recorded) << "whole records, as counted";
            } catch (const std::exception& e) {
                ADD_FAILURE() << "the file does not end on a whole record: " << e.what();
            }
        } else if (on_path("tshark")) {
            const auto c = tshark_count(dir, rec);
            EXPECT_EQ(c.exit_code, 0) << c.err;
            EXPECT_EQ(static_cast<long long>(c.packets), recorded);
        }
        fs::remove(rec);
    }
}

// Files that cannot take a recording fail before anything is served, in one line, exit 1.
TEST(E2E, UnwritableRecordPathsFailAtOnceInOneLine) {
    TempDir dir;
    for (const std::string path : {"/proc/version", "/dev/full", "/proc/no-such.pcapng"}) {
        SCOPED_TRACE(path);
        const auto r = run_command({labtool, "run", "--port", std::to_string(free_port()), "--record", path},
                                   dir.path(), command_timeout);
        if (r.err.find("no permission to capture") != std::string::npos) {
            if (require_live()) FAIL() << r.err;
            GTEST_SKIP() << "live capture not permitted";
        }
        ASSERT_FALSE(r.timed_out);
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("labtool: error: cannot write " + path + ": "), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("labtool: serving"), std::string::npos) << "failed before serving: " << r.err;
    }
}

// `sudo labtool run --record DIR/link.pcap` where someone planted link.pcap as a symbolic link:
// refused with a clear error; the link's target is neither truncated nor given away.
TEST(E2E, ASymlinkAtTheRecordPathIsRefusedAndItsTargetUntouched) {
    TempDir dir;
    const fs::path target = dir / "precious.txt";
    write_text(target, "do not touch");
    for (const std::string ext : {"pcap", "pcapng"}) {
        SCOPED_TRACE(ext);
        const fs::path link = dir / ("link." + ext);
        fs::create_symlink(target, link);
        ::setenv("SUDO_UID", "65534", 1);  // as if started with sudo by another user
        ::setenv("SUDO_GID", "65534", 1);
        const auto r = run_command({labtool, "run", "--port", std::to_string(free_port()), "--record", link.string()},
                                   dir.path(), command_timeout);
        ::unsetenv("SUDO_UID");
        ::unsetenv("SUDO_GID");
        if (r.err.find("no permission to capture") != std::string::npos) {
            if (require_live()) FAIL() << r.err;
            GTEST_SKIP() << "live capture not permitted";
        }
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("labtool: error: cannot write " + link.string() + ": it is a symbolic link"),
                  std::string::npos)
            << r.err;
        EXPECT_EQ(read_text(target), "do not touch");
        struct stat st {};
        ASSERT_EQ(::stat(target.c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, ::getuid()) << "the target was given away";
        EXPECT_TRUE(fs::is_symlink(link));
    }
}

// Analysis much slower than the capture (-x prints every byte) and a 1 MiB queue: packets are
// skipped for analysis, counted and said, but every one is recorded.
TEST(E2E, WhenAnalysisFallsBehindPacketsAreSkippedForItButRecorded) {
    TempDir dir;
    const std::uint16_t port = free_port();
    const fs::path rec = dir / "behind.pcap";
    LiveSession s;
    auto run = start_run(dir, port, {"--record", rec.string(), "--queue-mib", "1", "-x"}, s);
    E2E_REQUIRE_STARTED(s);
    const auto curls = start_curls(dir, base_url(port) + "/audio.mp3", 2, 5);
    reap_curls(curls);
    std::this_thread::sleep_for(300ms);
    const auto code = run->stop();
    ASSERT_TRUE(code.has_value()) << "labtool did not stop within 20 s";
    EXPECT_EQ(*code, 0) << run->err();
    const std::string out = run->out();
    const std::string err = run->err();
    EXPECT_NE(err.find("labtool: warning: analysis fell behind the capture"), std::string::npos) << err;
    const std::regex not_analysed(R"(packets not analysed because analysis fell behind (\d+))");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, not_analysed)) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
    const long long skipped = std::stoll(m[1]);
    EXPECT_GT(skipped, 0);
    const std::regex captured(R"(packets captured (\d+))");
    ASSERT_TRUE(std::regex_search(out, m, captured));
    const long long captured_count = std::stoll(m[1]);
    const auto file = read_pcap(rec);
    EXPECT_EQ(static_cast<long long>(file.records.size()), captured_count) << "every captured packet is recorded";
    // Frame numbers stay the recording's: skipped packets are counted, not renumbered (the last
    // packets, after the burst, are analysed and carry numbers above captured − skipped).
    const std::regex frame_re(R"(frame +(\d+) )");
    long long highest = 0;
    for (std::sregex_iterator it(out.begin(), out.end(), frame_re), end; it != end; ++it)
        highest = std::max(highest, std::stoll((*it)[1]));
    EXPECT_GT(highest, captured_count - skipped) << "frame numbers were shifted by the skipped packets";
    EXPECT_LE(highest, captured_count);
}

// The kernel ring of an idle run is what -B asks for (before: twice, since each 64 KiB-plus
// slot took a 128 KiB block), read from the process's socket mappings.
TEST(E2E, TheCaptureRingIsTheBufferAskedFor) {
    TempDir dir;
    for (const int mib : {32, 128}) {
        SCOPED_TRACE("-B " + std::to_string(mib));
        LiveSession s;
        auto run = start_run(dir, free_port(), {"-B", std::to_string(mib)}, s, "ring" + std::to_string(mib));
        E2E_REQUIRE_STARTED(s);
        std::this_thread::sleep_for(300ms);
        std::uint64_t ring = 0;
        std::istringstream maps(read_text("/proc/" + std::to_string(run->pid()) + "/maps"));
        std::string line;
        while (std::getline(maps, line)) {
            if (line.find("socket:[") == std::string::npos) continue;
            const auto dash = line.find('-');
            ring += std::stoull(line.substr(dash + 1, line.find(' ') - dash - 1), nullptr, 16) -
                    std::stoull(line.substr(0, dash), nullptr, 16);
        }
        const std::string status = read_text("/proc/" + std::to_string(run->pid()) + "/status");
        const auto rss = status.find("VmRSS:");
        std::cout << "[ NOTE     ] -B " << mib << ": ring " << ring / (1024 * 1024) << " MiB, "
                  << (rss != std::string::npos ? status.substr(rss, status.find('\n', rss) - rss) : std::string("?"))
                  << "\n";
        const std::uint64_t asked = static_cast<std::uint64_t>(mib) << 20;
        EXPECT_LE(ring, asked);
        EXPECT_GE(ring, asked - (256u << 10));
        EXPECT_EQ(run->stop(), std::optional<int>(0)) << run->err();
    }
}

}  // namespace
}  // namespace e2e
