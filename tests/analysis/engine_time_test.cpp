// The engine on timestamps no real capture has (year 2500, year 292 billion, far before 1970):
// no signed overflow (the UBSan build reports any), and times still measured from the first
// frame. Capture files give at most year 2262 (FileReader clamps), but live captures and the
// engine's other callers give it whatever a Frame can hold.
#include "labtool/analysis/engine.hpp"
#include "packet_builder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace labtool::analysis {
namespace {

namespace f = tcp_flag;

constexpr std::int64_t year_2500 = 16'725'225'600;  // 2500-01-01T00:00:00Z
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

std::vector<std::uint8_t> segment(bool from_client, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                                  const std::string& payload = {}) {
    test::TcpSpec s;
    s.sport = from_client ? 52126 : 3000;
    s.dport = from_client ? 3000 : 52126;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = payload;
    if ((flags & f::syn) != 0) s.options = test::syn_options(65495, 7);
    return test::with_link(LinkType::ethernet, test::ip_packet(s), false);
}

struct Replayed {
    std::vector<Event> events;
    EngineStats stats;
};

Replayed run(const std::vector<Timestamp>& times) {
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const auto req_len = static_cast<std::uint32_t>(request.size());
    const auto resp_len = static_cast<std::uint32_t>(response.size());
    const std::vector<std::vector<std::uint8_t>> frames = {
        segment(true, f::syn, 100, 0),
        segment(false, f::syn | f::ack, 500, 101),
        segment(true, f::ack, 101, 501),
        segment(true, f::psh | f::ack, 101, 501, request),
        segment(false, f::psh | f::ack, 501, 101 + req_len, response),
        segment(true, f::ack, 101 + req_len, 501 + resp_len),
        segment(true, f::psh | f::ack, 101, 501, request),  // a retransmission: times compared
        segment(true, f::fin | f::ack, 101 + req_len, 501 + resp_len),
        segment(false, f::fin | f::ack, 501 + resp_len, 102 + req_len),
        segment(true, f::ack, 102 + req_len, 502 + resp_len),
    };
    Replayed r;
    EngineOptions o;
    o.emit_packets = true;
    Engine engine(o);
    auto sink = [&](const Event& e) { r.events.push_back(e); };
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const Frame fr{LinkType::ethernet, times[i % times.size()], static_cast<std::uint32_t>(frames[i].size()),
                       frames[i]};
        engine.process(fr, sink);
    }
    engine.finish(sink);
    r.stats = engine.stats();
    return r;
}

double time_of_frame(const Replayed& r, std::uint64_t frame) {
    for (const Event& e : r.events)
        if (base_of(e).frame == frame) return base_of(e).time;
    ADD_FAILURE() << "no event for frame " << frame;
    return 0.0;
}

TEST(EngineTime, ExtremeTimestampsNeitherOverflowNorLoseTheirOrder) {
    // From the largest second there is to the smallest, to year 2500 and back before 1970.
    const Replayed r = run({{int64_max, 999'999'999},
                       {int64_min, 0},
                       {year_2500, 1},
                       {-year_2500, 5},
                       {0, 0},
                       {year_2500 * 2, 999'999'999},
                       {int64_max, 0},
                       {int64_min, 999'999'999}});
    EXPECT_EQ(r.stats.frames, 10u);
    EXPECT_EQ(r.stats.tcp_frames, 10u);
    for (const Event& e : r.events) EXPECT_TRUE(std::isfinite(base_of(e).time)) << event_name(e);
    // Frame 2 is about 2^64 seconds before frame 1 (a wrapped subtraction would say +1 s).
    EXPECT_LT(time_of_frame(r, 2), -1.8e19);
    EXPECT_GT(time_of_frame(r, 3), -1e19);
    EXPECT_LT(time_of_frame(r, 3), 0.0);
    EXPECT_TRUE(std::isfinite(r.stats.first_time));
    EXPECT_TRUE(std::isfinite(r.stats.last_time));
}

TEST(EngineTime, Year2500CaptureKeepsItsOrder) {
    // Every frame a millisecond after the one before, all past 2262 (where int64 nanoseconds end).
    std::vector<Timestamp> times;
    for (std::uint32_t i = 0; i < 10; ++i) times.push_back({year_2500, i * 1'000'000});
    const Replayed r = run(times);
    EXPECT_EQ(r.stats.tcp_frames, 10u);
    EXPECT_DOUBLE_EQ(time_of_frame(r, 5), 0.004);
    EXPECT_NEAR(r.stats.last_time - r.stats.first_time, 0.009, 1e-5);  // doubles near 1.7e10 s
}

TEST(EngineTime, OrdinaryTimesStayExact) {
    const Replayed r = run({{1'700'000'000, 0}, {1'700'000'001, 500'000'000}, {1'699'999'999, 250'000'000}});
    EXPECT_DOUBLE_EQ(time_of_frame(r, 2), 1.5);
    EXPECT_DOUBLE_EQ(time_of_frame(r, 3), -0.75);
}

}  // namespace
}  // namespace labtool::analysis
