// pcapng comments (section and packet opt_comment) are read in both byte orders; damaged or
// non-pcapng files give nothing, never a crash.
#include "capture_files.hpp"
#include "labtool/capture/pcapng_comments.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace labtool::capture {
namespace {

using test::ByteWriter;
using test::Endian;

void comment_option(ByteWriter& w, const std::string& text) {
    w.u16(1);
    w.u16(static_cast<std::uint16_t>(text.size()));
    w.raw(std::vector<std::uint8_t>(text.begin(), text.end()));
    w.pad4();
}

std::vector<std::uint8_t> commented_file(Endian e) {
    ByteWriter w(e);
    {
        ByteWriter body(e);
        body.u32(0x1A2B3C4D);
        body.u16(1);
        body.u16(0);
        body.u64(~std::uint64_t{0});
        comment_option(body, "lab 2, student 2200000");
        body.u16(0);
        body.u16(0);
        test::ng_block(w, 0x0A0D0D0A, body.bytes());
    }
    {
        ByteWriter body(e);
        body.u16(1);
        body.u16(0);
        body.u32(262144);
        test::ng_block(w, 1, body.bytes());
    }
    for (int i = 0; i < 3; ++i) {
        ByteWriter body(e);
        body.u32(0);
        body.u32(0);
        body.u32(static_cast<std::uint32_t>(i));
        body.u32(5);
        body.u32(5);
        body.raw({1, 2, 3, 4, 5});
        body.pad4();
        if (i == 1) {
            comment_option(body, "the GET");
            body.u16(0);
            body.u16(0);
        }
        test::ng_block(w, 6, body.bytes());
    }
    return w.bytes();
}

std::string write(const test::ScratchDir& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
    return dir.write(name, bytes);
}

TEST(PcapngComments, SectionAndPacketCommentsInBothByteOrders) {
    test::ScratchDir dir;
    for (Endian e : {Endian::little, Endian::big}) {
        const auto c = read_pcapng_comments(write(dir, "c.pcapng", commented_file(e)));
        ASSERT_EQ(c.file.size(), 1u);
        EXPECT_EQ(c.file[0], "lab 2, student 2200000");
        ASSERT_EQ(c.packets.size(), 1u);
        EXPECT_EQ(c.packets.begin()->first, 2u);
        EXPECT_EQ(c.packets.begin()->second, "the GET");
    }
}

TEST(PcapngComments, DamagedAndClassicFilesGiveNothing) {
    test::ScratchDir dir;
    auto bytes = commented_file(Endian::little);
    for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
        std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        const auto c = read_pcapng_comments(write(dir, "cut.pcapng", part));
        EXPECT_LE(c.packets.size(), 1u);
    }
    bytes[4] = 0xFF;   // absurd block length
    EXPECT_TRUE(read_pcapng_comments(write(dir, "bad.pcapng", bytes)).file.empty());
    const auto pcap = test::classic_pcap(Endian::little, test::pcap_magic_micro, 1, {});
    EXPECT_TRUE(read_pcapng_comments(write(dir, "x.pcap", pcap)).file.empty());
    EXPECT_TRUE(read_pcapng_comments(dir.file("missing")).file.empty());
}

}  // namespace
}  // namespace labtool::capture
