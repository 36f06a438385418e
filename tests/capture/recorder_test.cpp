// Recorder: what it writes FileReader (and tshark, when installed) reads back unchanged.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/recorder.hpp"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace labtool::capture {
namespace {

using test::ScratchDir;

using test::syn_frame;

bool tshark_available() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

TEST(Recorder, RoundTripThroughFileReader) {
    ScratchDir dir;
    const std::string path = dir.file("rec.pcap");
    const std::vector<std::uint8_t> frame = syn_frame();
    {
        Recorder recorder(path, 1, 65535);
        EXPECT_EQ(recorder.packets_written(), 0U);
        for (std::uint32_t i = 0; i < 3; ++i) {
            Packet p;
            p.ts = Timestamp{1700000000 + i, 123456789U + i * 1000U};
            p.caplen = static_cast<std::uint32_t>(frame.size());
            p.len = p.caplen + (i == 2 ? 100U : 0U);  // last one as if cut by a snaplen
            p.data = frame;
            recorder.write(p);
        }
        EXPECT_EQ(recorder.packets_written(), 3U);
    }  // destructor flushes and closes

    FileReader reader(path);
    EXPECT_EQ(reader.link_type(), 1);
    EXPECT_EQ(reader.snaplen(), 65535);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    ASSERT_EQ(result.packets.size(), 3U);
    for (std::uint32_t i = 0; i < 3; ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        EXPECT_EQ(result.packets[i].sec, 1700000000 + i);
        // The recording is a nanosecond pcap: every digit survives, so a replay shows the
        // same times as the live run.
        EXPECT_EQ(result.packets[i].nsec, 123456789U + i * 1000U);
        EXPECT_EQ(result.packets[i].caplen, frame.size());
        EXPECT_EQ(result.packets[i].len, frame.size() + (i == 2 ? 100U : 0U));
        EXPECT_EQ(result.packets[i].data, frame);
    }

    if (!tshark_available()) {
        std::cout << "[ INFO     ] tshark not on PATH: skipping the tshark check\n";
        return;
    }
    const std::string command = "tshark -r '" + path + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(Recorder, FlushMakesPacketsReadableWhileRecording) {
    ScratchDir dir;
    const std::string path = dir.file("live.pcap");
    const std::vector<std::uint8_t> frame = syn_frame();
    Recorder recorder(path, 1, 262144);
    Packet p;
    p.ts = Timestamp{42, 7000};
    p.caplen = static_cast<std::uint32_t>(frame.size());
    p.len = p.caplen;
    p.data = frame;
    recorder.write(p);
    recorder.write(p);
    recorder.flush();

    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    ASSERT_EQ(result.packets.size(), 2U);
    EXPECT_EQ(result.packets[0].sec, 42);
    EXPECT_EQ(result.packets[0].nsec, 7000U);
}

TEST(Recorder, KeepsOtherLinkTypes) {
    ScratchDir dir;
    // DLT_* values as LiveCapture / FileReader report them; 101 (LINKTYPE_RAW) is accepted too.
    for (int link : {DLT_NULL, DLT_RAW, 101, DLT_LOOP, DLT_LINUX_SLL, DLT_LINUX_SLL2}) {
        SCOPED_TRACE("link type " + std::to_string(link));
        const std::string path = dir.file("l" + std::to_string(link) + ".pcap");
        {
            Recorder recorder(path, link, 1000);
            const std::vector<std::uint8_t> bytes(20, 0xab);
            Packet p;
            p.caplen = 20;
            p.len = 20;
            p.data = bytes;
            recorder.write(p);
        }
        FileReader reader(path);
        EXPECT_EQ(reader.link_type(), link == 101 ? DLT_RAW : link);
        EXPECT_EQ(test::read_all(reader).packets.size(), 1U);
    }
}

TEST(Recorder, CaplenIsClampedToTheBytesHeldAndTheSnaplen) {
    ScratchDir dir;
    const std::string path = dir.file("clamp.pcap");
    const std::vector<std::uint8_t> bytes(100, 0x11);
    {
        Recorder recorder(path, 1, 64);
        Packet p;
        p.caplen = 100;
        p.len = 1000;
        p.data = bytes;
        recorder.write(p);           // snaplen 64 cuts it
        p.caplen = 500;              // claims more than it holds: only the 50 held are written
        p.len = 500;
        p.data = std::span<const std::uint8_t>(bytes.data(), 50);
        recorder.write(p);
    }
    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    ASSERT_EQ(result.packets.size(), 2U);
    EXPECT_EQ(result.packets[0].caplen, 64U);
    EXPECT_EQ(result.packets[0].len, 1000U);
    EXPECT_EQ(result.packets[1].caplen, 50U);
    EXPECT_EQ(result.packets[1].len, 500U);
}

TEST(Recorder, UnwritablePathThrowsOther) {
    ScratchDir dir;
    const std::string path = dir.file("missing_dir/rec.pcap");
    try {
        Recorder recorder(path, 1, 65535);
        ADD_FAILURE() << "created " << path;
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::other);
        EXPECT_EQ(std::string(e.what()), "cannot write " + path + ": No such file or directory");
    }
}

}  // namespace
}  // namespace labtool::capture
