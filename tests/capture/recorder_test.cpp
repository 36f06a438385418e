// Recorder: what it writes FileReader (and tshark, when installed) reads back unchanged; UTF-8
// file names; clamped fields; write errors reported once with the OS reason.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/pcapng_comments.hpp"
#include "labtool/capture/pcapng_writer.hpp"
#include "labtool/capture/recorder.hpp"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#ifdef __linux__
#include <sys/resource.h>
#endif

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

TEST(Recorder, Utf8FileNamesRoundTrip) {
    // Chinese file names must work wherever the OS can hold them (on Windows through the wide
    // API, never the ANSI code page): the recording, the pcapng writer and the comment reader.
    ScratchDir dir;
    const std::vector<std::uint8_t> frame = syn_frame();
    Packet p;
    p.ts = Timestamp{1700000000, 1};
    p.caplen = p.len = static_cast<std::uint32_t>(frame.size());
    p.data = frame;

    const std::string pcap = dir.file("实验.pcap");
    {
        Recorder recorder(pcap, DLT_EN10MB, 65535);
        recorder.write(p);
    }
    FileReader reader(pcap);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    ASSERT_EQ(result.packets.size(), 1U);
    EXPECT_EQ(result.packets[0].data, frame);

    const std::string pcapng = dir.file("实验 二.pcapng");
    {
        PcapngWriter writer(pcapng, DLT_EN10MB, 0, "lo", "第一节", "labtool test");
        writer.write(p, "握手");
    }
    FileReader ng(pcapng);
    EXPECT_EQ(test::read_all(ng).packets.size(), 1U);
    const PcapngComments comments = read_pcapng_comments(pcapng);
    ASSERT_EQ(comments.file.size(), 1U);
    EXPECT_EQ(comments.file[0], "第一节");
    ASSERT_EQ(comments.packets.count(1), 1U);
    EXPECT_EQ(comments.packets.at(1), "握手");
}

TEST(Recorder, HeaderSaysTheSnaplenAndLinkType) {
    ScratchDir dir;
    const std::string path = dir.file("h.pcap");
    { Recorder recorder(path, DLT_RAW, 0); }  // 0: the link type's maximum
    FileReader reader(path);
    EXPECT_EQ(reader.snaplen(), 262144);
    EXPECT_EQ(reader.link_type(), DLT_RAW);
    std::ifstream in(path, std::ios::binary);
    std::vector<char> header(24);
    in.read(header.data(), 24);
    std::uint32_t magic = 0;
    std::uint32_t linktype = 0;
    std::memcpy(&magic, header.data(), 4);
    std::memcpy(&linktype, header.data() + 20, 4);
    EXPECT_EQ(magic, 0xa1b23c4dU);  // nanoseconds, this host's byte order
    EXPECT_EQ(linktype, 101U);      // LINKTYPE_RAW in the file
}

TEST(Recorder, TimestampsOutsideTheFieldAreClamped) {
    ScratchDir dir;
    const std::string path = dir.file("t.pcap");
    const std::vector<std::uint8_t> bytes(4, 0);
    {
        Recorder recorder(path, DLT_EN10MB, 100);
        for (const Timestamp ts : {Timestamp{-5, 7}, Timestamp{std::int64_t{1} << 40, 3}, Timestamp{10, 2000000000U}}) {
            Packet p;
            p.ts = ts;
            p.caplen = p.len = 4;
            p.data = bytes;
            recorder.write(p);
        }
    }
    FileReader reader(path);
    const test::ReadResult r = test::read_all(reader);
    ASSERT_EQ(r.packets.size(), 3U);
    EXPECT_EQ(r.packets[0].sec, 0);
    EXPECT_EQ(r.packets[0].nsec, 0U);
    EXPECT_EQ(r.packets[1].sec, 2147483647);
    EXPECT_EQ(r.packets[1].nsec, 999999999U);
    EXPECT_EQ(r.packets[2].sec, 10);
    EXPECT_EQ(r.packets[2].nsec, 999999999U);
}

TEST(Recorder, LinkTypeWithoutLinktypeValueThrowsOther) {
    ScratchDir dir;
    const std::string path = dir.file("bad_link.pcap");
    for (int link : {-1, 60000}) {
        try {
            Recorder recorder(path, link, 100);
            ADD_FAILURE() << "accepted link type " << link;
        } catch (const CaptureError& e) {
            EXPECT_EQ(e.kind(), CaptureErrorKind::other);
            EXPECT_NE(std::string(e.what()).find("link type " + std::to_string(link)), std::string::npos) << e.what();
        }
    }
    EXPECT_FALSE(std::filesystem::exists(path)) << "no file for a link type that cannot be stored";
}

TEST(Recorder, LargePacketsAndManyPacketsSurviveTheBuffer) {
    ScratchDir dir;
    const std::string path = dir.file("big.pcap");
    std::vector<std::uint8_t> big(300000);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 13);
    {
        Recorder recorder(path, DLT_EN10MB, 0);
        for (std::uint32_t i = 0; i < 2000; ++i) {
            Packet p;
            p.ts = Timestamp{i, i};
            p.caplen = p.len = (i % 100 == 0) ? 262144U : 60U + i % 1400;
            p.data = std::span<const std::uint8_t>(big.data() + i, p.caplen);
            recorder.write(p);
        }
        EXPECT_EQ(recorder.packets_written(), 2000U);
    }
    FileReader reader(path);
    const test::ReadResult r = test::read_all(reader, 3000);
    EXPECT_EQ(r.status, ReadStatus::end);
    ASSERT_EQ(r.packets.size(), 2000U);
    for (std::uint32_t i = 0; i < 2000; i += 37) {
        ASSERT_EQ(r.packets[i].caplen, (i % 100 == 0) ? 262144U : 60U + i % 1400);
        EXPECT_TRUE(std::equal(r.packets[i].data.begin(), r.packets[i].data.end(), big.begin() + i)) << i;
    }
}

#ifdef __linux__
TEST(Recorder, FullDiskIsReportedWithTheOsReason) {
    // /dev/full refuses every write with ENOSPC: the header already fails at creation.
    try {
        Recorder recorder("/dev/full", DLT_EN10MB, 100);
        ADD_FAILURE() << "wrote to /dev/full";
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::other);
        EXPECT_EQ(std::string(e.what()), "cannot write /dev/full: No space left on device");
    }
}

TEST(Recorder, WriteFailureIsReportedOnceThenTheRecorderStops) {
    // A file size limit (EFBIG instead of SIGXFSZ) makes a write fail in the middle.
    ScratchDir dir;
    const std::string path = dir.file("limited.pcap");
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = old;
    limited.rlim_cur = 100000;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
    std::string reported;
    std::uint64_t written = 0;
    {
        Recorder recorder(path, DLT_EN10MB, 0);
        const std::vector<std::uint8_t> bytes(1000, 0x42);
        Packet p;
        p.caplen = p.len = 1000;
        p.data = bytes;
        try {
            for (int i = 0; i < 1000; ++i) recorder.write(p);
            recorder.flush();
        } catch (const CaptureError& e) {
            reported = e.what();
            EXPECT_EQ(e.kind(), CaptureErrorKind::other);
        }
        written = recorder.packets_written();
        // Reported once: later calls neither throw nor write.
        EXPECT_NO_THROW(recorder.write(p));
        EXPECT_NO_THROW(recorder.flush());
        EXPECT_EQ(recorder.packets_written(), written);
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_EQ(reported, "cannot write " + path + ": File too large");
    EXPECT_LT(written, 1000U);
}

// The file size limit cuts a write in the middle of a record: the file keeps whole records only,
// exactly as many as packets_written() says (a full disk leaves the same), for both writers.
TEST(Recorder, AFailedWriteLeavesWholeRecordsAndTheirCount) {
    for (const bool ng : {false, true}) {
        SCOPED_TRACE(ng ? "pcapng" : "pcap");
        ScratchDir dir;
        const std::string path = dir.file(ng ? "limited.pcapng" : "limited.pcap");
        rlimit old{};
        ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
        const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit limited = old;
        limited.rlim_cur = 100001;  // not on a record boundary
        ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
        std::uint64_t written = 0;
        bool failed = false;
        {
            std::unique_ptr<Recorder> pcap;
            std::unique_ptr<PcapngWriter> pcapng;
            if (ng) pcapng = std::make_unique<PcapngWriter>(path, DLT_EN10MB, 0);
            else pcap = std::make_unique<Recorder>(path, DLT_EN10MB, 0);
            const std::vector<std::uint8_t> bytes(999, 0x42);
            Packet p;
            p.caplen = p.len = 999;
            p.data = bytes;
            try {
                for (int i = 0; i < 1000; ++i) ng ? pcapng->write(p, "a comment") : pcap->write(p);
                ng ? pcapng->flush() : pcap->flush();
            } catch (const CaptureError&) {
                failed = true;
            }
            written = ng ? pcapng->packets_written() : pcap->packets_written();
            EXPECT_EQ(ng ? pcapng->error() : pcap->error(), std::errc::file_too_large);
        }
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
        ASSERT_TRUE(failed);
        EXPECT_GT(written, 50U);
        FileReader reader(path);
        const test::ReadResult r = test::read_all(reader, 2000);
        EXPECT_EQ(r.status, ReadStatus::end) << "the file ends on a whole record: " << r.error;
        EXPECT_EQ(r.packets.size(), written) << "packets_written() is what the file holds";
        EXPECT_LE(std::filesystem::file_size(path), 100001U);
    }
}
#endif

// What the OS holds at any moment (what a kill -9 leaves) ends on a whole record: blocks are
// never split across writes, also for pcapng with its comments.
TEST(Recorder, WhatReachedTheFileAlwaysEndsOnAWholeRecord) {
    for (const bool ng : {false, true}) {
        SCOPED_TRACE(ng ? "pcapng" : "pcap");
        ScratchDir dir;
        const std::string path = dir.file(ng ? "live.pcapng" : "live.pcap");
        std::unique_ptr<Recorder> pcap;
        std::unique_ptr<PcapngWriter> pcapng;
        if (ng) pcapng = std::make_unique<PcapngWriter>(path, DLT_EN10MB, 0);
        else pcap = std::make_unique<Recorder>(path, DLT_EN10MB, 0);
        const std::vector<std::uint8_t> bytes(65549, 0x17);
        std::size_t seen = 0;
        for (std::uint32_t i = 0; i < 300; ++i) {
            Packet p;
            p.caplen = p.len = 60 + (i * 7919) % 65489;  // sizes that fall across the buffer's edge
            p.data = std::span<const std::uint8_t>(bytes.data(), p.caplen);
            ng ? pcapng->write(p, std::string(i % 50, 'c')) : pcap->write(p);
            if (i % 37 != 0 || std::filesystem::file_size(path) == 0) continue;  // pcapng: headers not yet out
            FileReader reader(path);
            const test::ReadResult r = test::read_all(reader, 400);
            EXPECT_EQ(r.status, ReadStatus::end) << "after " << i + 1 << " packets: " << r.error;
            EXPECT_GE(r.packets.size(), seen);
            seen = r.packets.size();
        }
        EXPECT_GT(seen, 0U) << "a full buffer reaches the file without a flush";
    }
}

#ifndef _WIN32
// Started with sudo, a name someone else planted as a symbolic link (or a hard link) must not
// make root truncate, overwrite or give away the file it leads to.
TEST(Recorder, LinksAtTheRecordPathAreRefusedAndTheirTargetIsUntouched) {
    for (const bool ng : {false, true}) {
        SCOPED_TRACE(ng ? "pcapng" : "pcap");
        ScratchDir dir;
        const std::string target = dir.write("precious.txt", {'k', 'e', 'e', 'p'});
        const std::string link = dir.file(ng ? "link.pcapng" : "link.pcap");
        std::filesystem::create_symlink(target, link);
        const std::string dangling = dir.file(ng ? "dangling.pcapng" : "dangling.pcap");
        std::filesystem::create_symlink(dir.file("not-yet"), dangling);
        const std::string hard = dir.file(ng ? "hard.pcapng" : "hard.pcap");
        std::filesystem::create_hard_link(target, hard);
        for (const std::string& path : {link, dangling, hard}) {
            SCOPED_TRACE(path);
            try {
                if (ng) PcapngWriter writer(path, DLT_EN10MB, 0);
                else Recorder recorder(path, DLT_EN10MB, 0);
                ADD_FAILURE() << "wrote through " << path;
            } catch (const CaptureError& e) {
                EXPECT_EQ(e.kind(), CaptureErrorKind::other);
                const std::string what = e.what();
                EXPECT_EQ(what.rfind("cannot write " + path + ": ", 0), 0U) << what;
                EXPECT_NE(what.find(path == hard ? "other hard links" : "symbolic link"), std::string::npos) << what;
            }
        }
        EXPECT_EQ(std::filesystem::file_size(target), 4U) << "the link's target was truncated";
        EXPECT_FALSE(std::filesystem::exists(dir.file("not-yet"))) << "a dangling link's target was created";
        EXPECT_TRUE(std::filesystem::is_symlink(link));
        // A plain file that is already there is replaced, as before.
        const std::string plain = dir.write(ng ? "old.pcapng" : "old.pcap", std::vector<std::uint8_t>(5000, 1));
        {
            if (ng) PcapngWriter writer(plain, DLT_EN10MB, 0);
            else Recorder recorder(plain, DLT_EN10MB, 0);
        }
        FileReader reader(plain);
        EXPECT_EQ(test::read_all(reader).status, ReadStatus::end);
    }
}
#endif

}  // namespace
}  // namespace labtool::capture
