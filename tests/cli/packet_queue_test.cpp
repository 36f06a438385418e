// The live path between capture and analysis: the queue is bounded in bytes (a burst no longer
// grows memory without end, and what it took goes back afterwards), skipped packets keep their
// capture numbers; the pcapng recording is written on the capture side, with an explanation as
// comment only when analysis gives it in time.
#include "commented_recorder.hpp"
#include "packet_queue.hpp"

#include "labtool/analysis/events.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/pcapng_comments.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace labtool::cli {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * 1024;

capture::Packet packet_of(const std::vector<std::uint8_t>& bytes) {
    capture::Packet p;
    p.ts = capture::Timestamp{1700000000, 0};
    p.caplen = p.len = static_cast<std::uint32_t>(bytes.size());
    p.data = bytes;
    return p;
}

TEST(PacketQueue, HoldsNoMoreBytesThanItsBoundAndCountsWhatItSkips) {
    PacketQueue queue(1 * mib);
    const std::vector<std::uint8_t> big(64 * kib, 7);
    std::uint64_t accepted = 0;
    for (std::uint64_t n = 1; n <= 100; ++n) accepted += queue.push(packet_of(big), n) ? 1 : 0;
    EXPECT_LE(queue.queued_bytes(), 1 * mib);
    EXPECT_GE(accepted, 10U);
    EXPECT_LT(accepted, 16U);
    EXPECT_EQ(queue.skipped(), 100U - accepted);
    // Small packets are bounded too: each costs its bookkeeping.
    PacketQueue small_queue(1 * mib);
    const std::vector<std::uint8_t> ack(66, 1);
    std::uint64_t small = 0;
    for (std::uint64_t n = 1; n <= 100000; ++n) small += small_queue.push(packet_of(ack), n) ? 1 : 0;
    EXPECT_LE(small_queue.queued_bytes(), 1 * mib);
    EXPECT_LT(small, 100000U);
    EXPECT_EQ(small_queue.skipped() + small, 100000U);
}

TEST(PacketQueue, SkipsUntilHalfDrainedAndNumbersShowTheGap) {
    PacketQueue queue(1 * mib);
    const std::vector<std::uint8_t> big(64 * kib, 7);
    std::uint64_t n = 0;
    while (queue.push(packet_of(big), ++n)) {
    }
    const std::uint64_t first_skipped = n;
    QueuedPacket out;
    ASSERT_TRUE(queue.pop(out, 0ms));
    EXPECT_EQ(out.number, 1U);
    EXPECT_FALSE(queue.push(packet_of(big), ++n)) << "one packet's room must not end the skipping";
    while (queue.queued_bytes() > queue.max_bytes() / 2) ASSERT_TRUE(queue.pop(out, 0ms));
    EXPECT_TRUE(queue.push(packet_of(big), ++n)) << "half drained: analysis takes packets again";
    std::uint64_t last = out.number;
    while (queue.pop(out, 0ms)) {
        if (out.number != last + 1) {
            EXPECT_EQ(last + 1, first_skipped) << "the gap starts at the first skipped packet";
            EXPECT_EQ(out.number, n);
        }
        last = out.number;
    }
    EXPECT_EQ(last, n);
    EXPECT_EQ(queue.skipped(), n - first_skipped);
}

TEST(PacketQueue, RecycledBuffersStayWithinTheBoundAndGoBackAfterABurst) {
    PacketQueue queue(2 * mib);
    const std::vector<std::uint8_t> big(64 * kib, 7);
    QueuedPacket out;
    std::uint64_t n = 0;
    for (int burst = 0; burst < 5; ++burst) {
        while (queue.push(packet_of(big), ++n)) {
        }
        while (queue.pop(out, 0ms)) EXPECT_LE(queue.queued_bytes() + queue.free_bytes(), 2 * mib);
    }
    EXPECT_GT(queue.free_bytes(), 1 * mib) << "buffers are recycled during a burst";
    EXPECT_GT(queue.trim(0), 1 * mib);
    EXPECT_EQ(queue.free_bytes(), 0U) << "after the burst nothing is kept";
    // Recycling still works after a trim.
    EXPECT_TRUE(queue.push(packet_of(big), ++n));
    ASSERT_TRUE(queue.pop(out, 0ms));
    EXPECT_EQ(out.data, big);
}

TEST(PacketQueue, APopWaitsForAPushAndCloseEndsIt) {
    PacketQueue queue;
    const std::vector<std::uint8_t> bytes(100, 3);
    std::thread producer([&] {
        std::this_thread::sleep_for(20ms);
        queue.push(packet_of(bytes), 1);
        queue.close();
    });
    QueuedPacket out;
    ASSERT_TRUE(queue.pop(out, 2000ms));
    EXPECT_EQ(out.number, 1U);
    EXPECT_EQ(out.data, bytes);
    EXPECT_FALSE(queue.pop(out, 2000ms));
    EXPECT_TRUE(queue.closed_and_empty());
    producer.join();
}

class ScratchFile {
public:
    explicit ScratchFile(const std::string& name)
        : path_(std::filesystem::temp_directory_path() /
                ("labtool_cli_test_" + std::to_string(::getpid()) + "_" + name)) {}
    ~ScratchFile() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    [[nodiscard]] std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

std::size_t packets_in(const std::string& path) {
    capture::FileReader reader(path);
    capture::Packet p;
    std::size_t n = 0;
    while (reader.next(p) == capture::ReadStatus::packet) ++n;
    return n;
}

analysis::Event an_event() {
    analysis::ConnectionOpened e;
    e.client.port = 52126;
    e.server.port = 3000;
    return e;
}

TEST(CommentedRecorder, AnExplainedPacketIsWrittenAtOnceWithItsExplanation) {
    ScratchFile file("explained.pcapng");
    CommentedRecorder rec(file.path(), 1, 65600, "lo", Lang::en);
    const std::vector<std::uint8_t> bytes(60, 1);
    rec.hold(packet_of(bytes), 1);
    rec.hold(packet_of(bytes), 2);
    rec.pump(false);
    EXPECT_TRUE(rec.holding()) << "nothing explained yet, and the hold time has not passed";
    rec.on_event(an_event());
    rec.explained(1);
    rec.pump(false);
    rec.flush();
    EXPECT_EQ(rec.packets_written(), 1U) << "packet 1 is written as soon as it is explained";
    EXPECT_TRUE(rec.holding()) << "packet 2 still waits";
    const auto comments = capture::read_pcapng_comments(file.path());
    ASSERT_EQ(comments.packets.count(1), 1U);
    EXPECT_NE(comments.packets.at(1).find("52126"), std::string::npos) << comments.packets.at(1);
    EXPECT_EQ(rec.packets_without_comment(), 0U);
}

TEST(CommentedRecorder, PacketsNeverWaitLongerThanTheHoldTimeForAnalysis) {
    ScratchFile file("behind.pcapng");
    CommentedRecorder rec(file.path(), 1, 65600, "lo", Lang::en);
    const std::vector<std::uint8_t> bytes(60, 1);
    for (std::uint64_t n = 1; n <= 5; ++n) rec.hold(packet_of(bytes), n);
    rec.will_not_be_explained(1);  // skipped by analysis: written without waiting
    rec.pump(false);
    EXPECT_EQ(rec.packets_written(), 1U);
    std::this_thread::sleep_for(CommentedRecorder::hold_time + 50ms);
    rec.pump(false);
    rec.flush();
    EXPECT_FALSE(rec.holding());
    EXPECT_EQ(packets_in(file.path()), 5U) << "analysis never came: written anyway, on time";
    EXPECT_EQ(rec.packets_without_comment(), 5U);
    // An explanation that comes too late is dropped, not put on another packet.
    rec.on_event(an_event());
    rec.explained(3);
    rec.hold(packet_of(bytes), 6);
    rec.pump(true);
    rec.flush();
    EXPECT_TRUE(capture::read_pcapng_comments(file.path()).packets.empty());
}

TEST(CommentedRecorder, WaitingPacketsAreBoundedInBytes) {
    ScratchFile file("bytes.pcapng");
    CommentedRecorder rec(file.path(), 1, 65600, "lo", Lang::en);
    const std::vector<std::uint8_t> big(64 * kib, 1);
    const std::uint64_t count = CommentedRecorder::hold_bytes / big.size() + 20;
    for (std::uint64_t n = 1; n <= count; ++n) {
        rec.hold(packet_of(big), n);
        rec.pump(false);
    }
    EXPECT_GE(rec.packets_written(), 19U) << "past hold_bytes the oldest are written without waiting";
}

}  // namespace
}  // namespace labtool::cli
