// PcapngWriter: its files are well-formed block by block, and FileReader, read_pcapng_comments
// and (when installed) tshark / capinfos read back the same packets and comments.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/pcapng_comments.hpp"
#include "labtool/capture/pcapng_writer.hpp"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace labtool::capture {
namespace {

using test::ScratchDir;

using test::syn_frame;

Packet packet_of(const std::vector<std::uint8_t>& bytes, Timestamp ts = {}, std::uint32_t len = 0) {
    Packet p;
    p.ts = ts;
    p.caplen = static_cast<std::uint32_t>(bytes.size());
    p.len = len != 0 ? len : p.caplen;
    p.data = bytes;
    return p;
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t le32(const std::vector<std::uint8_t>& d, std::size_t at) {
    return std::uint32_t{d[at]} | std::uint32_t{d[at + 1]} << 8 | std::uint32_t{d[at + 2]} << 16 |
           std::uint32_t{d[at + 3]} << 24;
}
std::uint16_t le16(const std::vector<std::uint8_t>& d, std::size_t at) {
    return static_cast<std::uint16_t>(d[at] | d[at + 1] << 8);
}

struct Option {
    std::uint16_t code = 0;
    std::string value;
};

struct Block {
    std::uint32_t type = 0;
    std::vector<std::uint8_t> body;   // between the two length fields
    std::vector<Option> options;
    bool options_terminated = false;  // the list ends with opt_endofopt (or is absent)
};

/// Splits a little-endian pcapng file into blocks, checking the framing as it goes.
std::vector<Block> parse_blocks(const std::vector<std::uint8_t>& d) {
    std::vector<Block> blocks;
    std::size_t at = 0;
    while (at < d.size()) {
        EXPECT_LE(at + 12, d.size()) << "block header cut at " << at;
        if (at + 12 > d.size()) break;
        const std::uint32_t total = le32(d, at + 4);
        EXPECT_EQ(total % 4, 0U) << "block at " << at;
        EXPECT_GE(total, 12U);
        EXPECT_LE(at + total, d.size());
        if (total < 12 || total % 4 != 0 || at + total > d.size()) break;
        EXPECT_EQ(le32(d, at + total - 4), total) << "trailing length of block at " << at;
        Block b;
        b.type = le32(d, at);
        b.body.assign(d.begin() + static_cast<std::ptrdiff_t>(at + 8),
                      d.begin() + static_cast<std::ptrdiff_t>(at + total - 4));
        // Where the options start: after the fixed part (and the padded data of an EPB).
        std::size_t opts = b.body.size();
        if (b.type == 0x0A0D0D0A) opts = 16;
        if (b.type == 1) opts = 8;
        if (b.type == 6) opts = 20 + ((le32(b.body, 12) + 3) & ~3U);
        b.options_terminated = opts >= b.body.size();
        while (opts + 4 <= b.body.size()) {
            const std::uint16_t code = le16(b.body, opts);
            const std::uint16_t len = le16(b.body, opts + 2);
            if (code == 0) {
                EXPECT_EQ(len, 0);
                b.options_terminated = opts + 4 == b.body.size();
                break;
            }
            EXPECT_LE(opts + 4 + len, b.body.size());
            if (opts + 4 + len > b.body.size()) break;
            b.options.push_back({code, std::string(b.body.begin() + static_cast<std::ptrdiff_t>(opts + 4),
                                                   b.body.begin() + static_cast<std::ptrdiff_t>(opts + 4 + len))});
            opts += 4 + ((len + 3U) & ~3U);
        }
        EXPECT_TRUE(b.options_terminated) << "options of block type " << b.type << " at " << at;
        blocks.push_back(std::move(b));
        at += total;
    }
    return blocks;
}

constexpr const char* absent = "<absent>";

/// The value of the first option `code` in `b`, or `absent`.
std::string option_value(const Block& b, std::uint16_t code) {
    for (const Option& o : b.options) {
        if (o.code == code) return o.value;
    }
    return absent;
}

bool tool_available(const std::string& tool) {
    return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

/// Runs `command` and returns its standard output; `status` gets the exit code.
std::string run(const std::string& command, int& status) {
    std::string out;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        status = -1;
        return out;
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    const int raw = ::pclose(pipe);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

/// True when `s` is well-formed UTF-8 (enough for this test: lead/continuation structure).
bool valid_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c < 0x80) n = 1;
        else if ((c & 0xE0) == 0xC0) n = 2;
        else if ((c & 0xF0) == 0xE0) n = 3;
        else if ((c & 0xF8) == 0xF0) n = 4;
        else return false;
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += n;
    }
    return true;
}

// Five packets; comments on 1, 2 and 4 (ASCII, Chinese with a newline, several lines).
const std::string section_comment = "实验二：HTTP 与 TCP\nrecorded by labtool";
const std::vector<std::string> packet_comments = {
    "SYN: the client opens the connection",
    "三次握手的第一步\nfirst step of the handshake",
    "",
    "GET /index.html\r\nHost: 127.0.0.1",
    "",
};

std::string write_commented_file(const ScratchDir& dir, const std::vector<std::uint8_t>& frame) {
    const std::string path = dir.file("commented.pcapng");
    PcapngWriter writer(path, DLT_EN10MB, 65600, "lo", section_comment, "labtool 0.1.0");
    EXPECT_EQ(writer.packets_written(), 0U);
    for (std::uint32_t i = 0; i < packet_comments.size(); ++i) {
        // 2^32 ns is about 4.3 s: these timestamps need both halves of the 64-bit count.
        const Timestamp ts{1700000000 + i, 123456789U + i * 111U};
        writer.write(packet_of(frame, ts, i == 2 ? 1500U : 0U), packet_comments[i]);
    }
    EXPECT_EQ(writer.packets_written(), packet_comments.size());
    return path;
}  // destructor flushes and closes

TEST(PcapngWriter, BlocksAreFramedLittleEndianAndCarryTheHeaderOptions) {
    ScratchDir dir;
    const std::string path = write_commented_file(dir, syn_frame());
    const std::vector<std::uint8_t> bytes = file_bytes(path);
    ASSERT_GE(bytes.size(), 28U);
    EXPECT_EQ(bytes.size() % 4, 0U);
    // The byte-order magic 0x1A2B3C4D, written little-endian like everything else.
    EXPECT_EQ(bytes[8], 0x4D);
    EXPECT_EQ(bytes[9], 0x3C);
    EXPECT_EQ(bytes[10], 0x2B);
    EXPECT_EQ(bytes[11], 0x1A);

    const std::vector<Block> blocks = parse_blocks(bytes);
    ASSERT_EQ(blocks.size(), 2 + packet_comments.size());
    const Block& shb = blocks[0];
    EXPECT_EQ(shb.type, 0x0A0D0D0AU);
    EXPECT_EQ(le16(shb.body, 4), 1);  // version 1.0
    EXPECT_EQ(le16(shb.body, 6), 0);
    EXPECT_EQ(option_value(shb, 1), section_comment);
    EXPECT_EQ(option_value(shb, 4), "labtool 0.1.0");

    const Block& idb = blocks[1];
    EXPECT_EQ(idb.type, 1U);
    EXPECT_EQ(le16(idb.body, 0), 1);         // LINKTYPE_ETHERNET
    EXPECT_EQ(le32(idb.body, 4), 65600U);    // snaplen
    EXPECT_EQ(option_value(idb, 2), "lo");
    EXPECT_EQ(option_value(idb, 9), std::string(1, '\x09'));  // nanoseconds

    for (std::size_t i = 0; i < packet_comments.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i + 1));
        const Block& epb = blocks[2 + i];
        EXPECT_EQ(epb.type, 6U);
        EXPECT_EQ(le32(epb.body, 0), 0U);  // interface 0
        const std::uint64_t ts = std::uint64_t{le32(epb.body, 4)} << 32 | le32(epb.body, 8);
        EXPECT_EQ(ts, (1700000000ULL + i) * 1000000000ULL + 123456789U + i * 111U);
        if (packet_comments[i].empty()) {
            EXPECT_TRUE(epb.options.empty());  // no options at all, not an empty comment
        } else {
            EXPECT_EQ(option_value(epb, 1), packet_comments[i]);
        }
    }
}

TEST(PcapngWriter, FileReaderReadsBackEveryPacketToTheNanosecond) {
    ScratchDir dir;
    const std::vector<std::uint8_t> frame = syn_frame();
    const std::string path = write_commented_file(dir, frame);

    FileReader reader(path);
    EXPECT_EQ(reader.link_type(), DLT_EN10MB);
    EXPECT_EQ(reader.snaplen(), 65600);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    ASSERT_EQ(result.packets.size(), packet_comments.size());
    for (std::uint32_t i = 0; i < result.packets.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i + 1));
        EXPECT_EQ(result.packets[i].sec, 1700000000 + i);
        EXPECT_EQ(result.packets[i].nsec, 123456789U + i * 111U);
        EXPECT_EQ(result.packets[i].caplen, frame.size());
        EXPECT_EQ(result.packets[i].len, i == 2 ? 1500U : frame.size());
        EXPECT_EQ(result.packets[i].data, frame);
    }
}

TEST(PcapngWriter, CommentsLandOnTheirPacketNumbers) {
    ScratchDir dir;
    const std::string path = write_commented_file(dir, syn_frame());
    const PcapngComments comments = read_pcapng_comments(path);
    ASSERT_EQ(comments.file.size(), 1U);
    EXPECT_EQ(comments.file[0], section_comment);
    EXPECT_EQ(comments.packets.size(), 3U);
    for (std::size_t i = 0; i < packet_comments.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i + 1));
        const auto it = comments.packets.find(i + 1);  // 1-based, like Wireshark
        if (packet_comments[i].empty()) {
            EXPECT_EQ(it, comments.packets.end());
        } else {
            ASSERT_NE(it, comments.packets.end());
            EXPECT_EQ(it->second, packet_comments[i]);
        }
    }
}

TEST(PcapngWriter, TsharkShowsTheCommentsOnTheirFrames) {
    if (!tool_available("tshark")) {
        GTEST_SKIP() << "tshark not on PATH: skipping the tshark check";
    }
    ScratchDir dir;
    const std::string path = write_commented_file(dir, syn_frame());
    int status = 0;
    // One line per frame; frame.comment is the Wireshark 4.0 field (pkt_comment is the protocol).
    const std::string out =
        run("tshark -r '" + path + "' -T fields -e frame.number -e frame.comment 2>/dev/null", status);
    EXPECT_EQ(status, 0) << out;
    const std::vector<std::string> lines = lines_of(out);
    ASSERT_EQ(lines.size(), packet_comments.size()) << out;
    for (std::size_t i = 0; i < packet_comments.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i + 1));
        // tshark prints newlines inside a field escaped as \n (and \r as \r), one frame a line.
        std::string expected;
        for (char c : packet_comments[i]) {
            if (c == '\n') expected += "\\n";
            else if (c == '\r') expected += "\\r";
            else expected += c;
        }
        EXPECT_EQ(lines[i], std::to_string(i + 1) + "\t" + expected);
    }
    // The section comment and the application, as capinfos reports them.
    if (tool_available("capinfos")) {
        const std::string info = run("capinfos '" + path + "' 2>&1", status);
        EXPECT_EQ(status, 0) << info;
        EXPECT_NE(info.find("pcapng"), std::string::npos) << info;
        EXPECT_NE(info.find("实验二：HTTP 与 TCP"), std::string::npos) << info;
        EXPECT_NE(info.find("labtool 0.1.0"), std::string::npos) << info;
        EXPECT_NE(info.find("Number of packets:   5"), std::string::npos) << info;
    }
}

TEST(PcapngWriter, NoPacketsStillMakesAValidFile) {
    ScratchDir dir;
    const std::string path = dir.file("empty.pcapng");
    {
        PcapngWriter writer(path, DLT_EN10MB, 262144);
        EXPECT_EQ(writer.packets_written(), 0U);
    }
    const std::vector<Block> blocks = parse_blocks(file_bytes(path));
    ASSERT_EQ(blocks.size(), 2U);
    EXPECT_EQ(option_value(blocks[0], 4), "labtool");  // the default application
    EXPECT_EQ(option_value(blocks[0], 1), absent);          // no section comment given
    EXPECT_EQ(option_value(blocks[1], 2), absent);          // no interface name given

    FileReader reader(path);
    EXPECT_EQ(reader.link_type(), DLT_EN10MB);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    EXPECT_TRUE(result.packets.empty());
    const PcapngComments comments = read_pcapng_comments(path);
    EXPECT_TRUE(comments.file.empty());
    EXPECT_TRUE(comments.packets.empty());

    if (!tool_available("tshark")) {
        std::cout << "[ INFO     ] tshark not on PATH: skipping the tshark check\n";
        return;
    }
    int status = 0;
    const std::string out = run("tshark -r '" + path + "' 2>&1", status);
    EXPECT_EQ(status, 0) << out;
    if (tool_available("capinfos")) {
        const std::string info = run("capinfos '" + path + "' 2>&1", status);
        EXPECT_EQ(status, 0) << info;
    }
}

TEST(PcapngWriter, LargePacketRoundTrips) {
    ScratchDir dir;
    // A whole loopback packet at the live default snaplen, with an odd length so padding shows.
    for (const std::size_t size : {std::size_t{65600}, std::size_t{65599}}) {
        SCOPED_TRACE("size " + std::to_string(size));
        const std::string path = dir.file("large" + std::to_string(size) + ".pcapng");
        std::vector<std::uint8_t> big(size);
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7 + 3);
        {
            PcapngWriter writer(path, DLT_EN10MB, 65600);
            writer.write(packet_of(big, Timestamp{5, 999999999}), "large");
            writer.write(packet_of(syn_frame(), Timestamp{6, 0}));  // framing still right after it
        }
        FileReader reader(path);
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.status, ReadStatus::end) << result.error;
        ASSERT_EQ(result.packets.size(), 2U);
        EXPECT_EQ(result.packets[0].caplen, size);
        EXPECT_EQ(result.packets[0].len, size);
        EXPECT_EQ(result.packets[0].sec, 5);
        EXPECT_EQ(result.packets[0].nsec, 999999999U);
        EXPECT_TRUE(result.packets[0].data == big);
        EXPECT_EQ(result.packets[1].data, syn_frame());
        EXPECT_EQ(read_pcapng_comments(path).packets.at(1), "large");
    }
}

TEST(PcapngWriter, OverlongCommentIsCutAtACharacterBoundary) {
    ScratchDir dir;
    const std::string path = dir.file("long.pcapng");
    // "a" then 3-byte characters: byte 65535 falls inside one ("a" + 21844 × 3 = 65533 bytes,
    // the next character would need 65534..65536), so 65533 bytes remain.
    std::string long_comment = "a";
    while (long_comment.size() < 70000) long_comment += "中";
    const std::string ascii_limit(PcapngWriter::max_option_bytes, 'x');  // exactly fits
    {
        PcapngWriter writer(path, DLT_EN10MB, 65600, {}, long_comment);
        writer.write(packet_of(syn_frame()), long_comment);
        writer.write(packet_of(syn_frame()), ascii_limit);
        writer.write(packet_of(syn_frame()), ascii_limit + "y");
        writer.write(packet_of(syn_frame()), "after");
    }
    const PcapngComments comments = read_pcapng_comments(path);
    ASSERT_EQ(comments.file.size(), 1U);
    ASSERT_EQ(comments.packets.size(), 4U);
    const std::string& cut = comments.packets.at(1);
    EXPECT_EQ(cut.size(), 65533U);
    EXPECT_TRUE(valid_utf8(cut));
    EXPECT_EQ(cut, long_comment.substr(0, cut.size()));
    EXPECT_EQ(comments.file[0], cut);
    EXPECT_EQ(comments.packets.at(2), ascii_limit);
    EXPECT_EQ(comments.packets.at(3), ascii_limit);
    EXPECT_EQ(comments.packets.at(4), "after");

    parse_blocks(file_bytes(path));  // framing checks only
    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    EXPECT_EQ(result.packets.size(), 4U);
    if (tool_available("tshark")) {
        int status = 0;
        const std::string out = run("tshark -r '" + path + "' 2>&1", status);
        EXPECT_EQ(status, 0) << out;
    }
}

TEST(PcapngWriter, RawIpIsStoredAsLinktypeRaw) {
    ScratchDir dir;
    // DLT_RAW as pcap_datalink reports it, and the file value 101 a caller may already hold.
    for (int link : {DLT_RAW, 101}) {
        SCOPED_TRACE("link type " + std::to_string(link));
        const std::string path = dir.file("raw" + std::to_string(link) + ".pcapng");
        const std::vector<std::uint8_t> frame = syn_frame();
        const std::vector<std::uint8_t> ip(frame.begin() + 14, frame.end());  // no Ethernet
        {
            PcapngWriter writer(path, link, 65535);
            writer.write(packet_of(ip));
        }
        const std::vector<Block> blocks = parse_blocks(file_bytes(path));
        ASSERT_GE(blocks.size(), 2U);
        EXPECT_EQ(le16(blocks[1].body, 0), 101);
        FileReader reader(path);
        EXPECT_EQ(reader.link_type(), DLT_RAW);
        const test::ReadResult result = test::read_all(reader);
        ASSERT_EQ(result.packets.size(), 1U);
        EXPECT_EQ(result.packets[0].data, ip);
    }
}

TEST(PcapngWriter, OtherLinkTypesAreKept) {
    ScratchDir dir;
    for (int link : {DLT_NULL, DLT_LOOP, DLT_LINUX_SLL, DLT_LINUX_SLL2}) {
        SCOPED_TRACE("link type " + std::to_string(link));
        const std::string path = dir.file("l" + std::to_string(link) + ".pcapng");
        {
            PcapngWriter writer(path, link, 1000);
            writer.write(packet_of(std::vector<std::uint8_t>(20, 0xab)));
        }
        FileReader reader(path);
        EXPECT_EQ(reader.link_type(), link);
        EXPECT_EQ(test::read_all(reader).packets.size(), 1U);
    }
}

TEST(PcapngWriter, CaplenIsCutToTheSnaplenSoLibpcapCanReadTheFile) {
    ScratchDir dir;
    const std::string path = dir.file("snaplen.pcapng");
    const std::vector<std::uint8_t> bytes(2000, 0x42);
    {
        PcapngWriter writer(path, DLT_EN10MB, 1000);
        writer.write(packet_of(bytes), "cut");
        writer.write(packet_of(syn_frame()));
    }
    // libpcap stops at a packet longer than the IDB snaplen ("bigger than snaplen"): cut there.
    FileReader reader(path);
    EXPECT_EQ(reader.snaplen(), 1000);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    ASSERT_EQ(result.packets.size(), 2U);
    EXPECT_EQ(result.packets[0].caplen, 1000U);
    EXPECT_EQ(result.packets[0].len, 2000U);
    EXPECT_EQ(result.packets[0].data, std::vector<std::uint8_t>(1000, 0x42));
    EXPECT_EQ(result.packets[1].data, syn_frame());
    EXPECT_EQ(read_pcapng_comments(path).packets.at(1), "cut");
}

TEST(PcapngWriter, CaplenIsClampedToTheBytesHeld) {
    ScratchDir dir;
    const std::string path = dir.file("clamp.pcapng");
    const std::vector<std::uint8_t> bytes(100, 0x11);
    {
        PcapngWriter writer(path, DLT_EN10MB, 0);  // 0: no snaplen limit, nothing cut by it
        Packet p = packet_of(bytes);
        p.caplen = 500;  // claims more than it holds: only the 50 held are written
        p.len = 400;     // and len is never below caplen
        p.data = std::span<const std::uint8_t>(bytes.data(), 50);
        writer.write(p);
        p.caplen = 30;   // claims fewer than it holds: only those 30
        p.len = 0;
        writer.write(p);
    }
    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    ASSERT_EQ(result.packets.size(), 2U);
    EXPECT_EQ(result.packets[0].caplen, 50U);
    EXPECT_EQ(result.packets[0].len, 400U);
    EXPECT_EQ(result.packets[1].caplen, 30U);
    EXPECT_EQ(result.packets[1].len, 30U);
}

TEST(PcapngWriter, FlushMakesPacketsReadableWhileWriting) {
    ScratchDir dir;
    const std::string path = dir.file("live.pcapng");
    PcapngWriter writer(path, DLT_EN10MB, 262144);
    writer.write(packet_of(syn_frame(), Timestamp{42, 7}), "first");
    writer.write(packet_of(syn_frame(), Timestamp{43, 0}));
    writer.flush();

    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end) << result.error;
    ASSERT_EQ(result.packets.size(), 2U);
    EXPECT_EQ(result.packets[0].sec, 42);
    EXPECT_EQ(result.packets[0].nsec, 7U);
    EXPECT_EQ(read_pcapng_comments(path).packets.at(1), "first");
}

TEST(PcapngWriter, UnwritablePathThrowsOther) {
    ScratchDir dir;
    const std::string path = dir.file("missing_dir/rec.pcapng");
    try {
        PcapngWriter writer(path, DLT_EN10MB, 65535);
        ADD_FAILURE() << "created " << path;
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::other);
        EXPECT_EQ(std::string(e.what()), "cannot write " + path + ": No such file or directory");
    }
}

TEST(PcapngWriter, ADirectoryIsNotWritable) {
    ScratchDir dir;
    const std::string path = dir.file("");
    EXPECT_THROW(PcapngWriter(path, DLT_EN10MB, 65535), CaptureError);
}

TEST(PcapngWriter, FullDiskIsReportedByFlush) {
    if (::access("/dev/full", W_OK) != 0) {
        GTEST_SKIP() << "/dev/full not available";
    }
    PcapngWriter writer("/dev/full", DLT_EN10MB, 65535);  // the headers stay in the buffer
    writer.write(packet_of(syn_frame()));
    try {
        writer.flush();
        ADD_FAILURE() << "flush to /dev/full succeeded";
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::other);
        EXPECT_EQ(std::string(e.what()), "cannot write /dev/full: No space left on device");
    }
}

TEST(PcapngWriter, LinkTypeOutsideSixteenBitsThrows) {
    ScratchDir dir;
    EXPECT_THROW(PcapngWriter(dir.file("bad.pcapng"), 70000, 65535), CaptureError);
    EXPECT_THROW(PcapngWriter(dir.file("bad.pcapng"), -1, 65535), CaptureError);
}

}  // namespace
}  // namespace labtool::capture
