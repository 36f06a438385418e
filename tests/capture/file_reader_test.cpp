// FileReader on pcap / pcapng files built byte by byte: byte orders, precisions, link types,
// truncation at every length, and the errors users meet (missing file, text file).
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <string>
#include <tuple>
#include <vector>

namespace labtool::capture {
namespace {

using test::Endian;
using test::NgPacket;
using test::Record;
using test::ScratchDir;

constexpr int dlt_null = 0;
constexpr int dlt_en10mb = 1;
constexpr int linktype_raw = 101;  // in the file; pcap_datalink reports DLT_RAW (12 or 14)
constexpr int dlt_loop = 108;
constexpr int dlt_linux_sll = 113;
constexpr int dlt_linux_sll2 = 276;

std::vector<std::uint8_t> bytes_counting(std::size_t n, std::uint8_t first) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::uint8_t>(first + i);
    }
    return v;
}

std::vector<Record> two_records() {
    return {
        Record{1700000000, 123456, 0, bytes_counting(10, 0x10)},
        Record{1700000001, 999999, 60, bytes_counting(6, 0x80)},  // snaplen cut: 6 of 60 bytes
    };
}

// ---- classic pcap: every byte order x precision x link type ----

struct ClassicCase {
    Endian endian;
    bool nano;
    int link_type;
};

class ClassicPcap : public ::testing::TestWithParam<ClassicCase> {};

TEST_P(ClassicPcap, ReadsLinkTypeTimestampsLengthsAndBytes) {
    const ClassicCase c = GetParam();
    ScratchDir dir;
    const std::uint32_t magic = c.nano ? test::pcap_magic_nano : test::pcap_magic_micro;
    std::vector<Record> records = two_records();
    if (c.nano) {
        records[0].frac = 123456789;
        records[1].frac = 999999999;
    }
    const std::string path = dir.write(
        "f.pcap", test::classic_pcap(c.endian, magic, static_cast<std::uint32_t>(c.link_type),
                                     records, 1500));

    FileReader reader(path);
    // link_type() is a DLT_* value: the same number as in the file except for raw IP.
    EXPECT_EQ(reader.link_type(), c.link_type == linktype_raw ? DLT_RAW : c.link_type);
    EXPECT_EQ(reader.snaplen(), 1500);

    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    EXPECT_TRUE(result.error.empty());
    ASSERT_EQ(result.packets.size(), 2U);

    EXPECT_EQ(result.packets[0].sec, 1700000000);
    EXPECT_EQ(result.packets[0].nsec, c.nano ? 123456789U : 123456000U);
    EXPECT_EQ(result.packets[0].caplen, 10U);
    EXPECT_EQ(result.packets[0].len, 10U);
    EXPECT_EQ(result.packets[0].data, bytes_counting(10, 0x10));

    EXPECT_EQ(result.packets[1].sec, 1700000001);
    EXPECT_EQ(result.packets[1].nsec, c.nano ? 999999999U : 999999000U);
    EXPECT_EQ(result.packets[1].caplen, 6U);
    EXPECT_EQ(result.packets[1].len, 60U);
    EXPECT_EQ(result.packets[1].data, bytes_counting(6, 0x80));

    // End is sticky.
    Packet packet;
    EXPECT_EQ(reader.next(packet), ReadStatus::end);
}

std::vector<ClassicCase> classic_cases() {
    std::vector<ClassicCase> cases;
    for (Endian endian : {Endian::little, Endian::big}) {
        for (bool nano : {false, true}) {
            for (int link : {dlt_en10mb, dlt_null, dlt_loop, dlt_linux_sll, dlt_linux_sll2,
                             linktype_raw}) {
                cases.push_back({endian, nano, link});
            }
        }
    }
    return cases;
}

std::string classic_case_name(const ::testing::TestParamInfo<ClassicCase>& info) {
    return std::string(info.param.endian == Endian::little ? "le" : "be") +
           (info.param.nano ? "_nano" : "_micro") + "_dlt" +
           std::to_string(info.param.link_type);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, ClassicPcap, ::testing::ValuesIn(classic_cases()),
                         classic_case_name);

TEST(FileReader, EmptyCaptureIsACleanEnd) {
    ScratchDir dir;
    const std::string path = dir.write(
        "empty.pcap", test::classic_pcap(Endian::little, test::pcap_magic_micro, 1, {}));
    FileReader reader(path);
    Packet packet;
    EXPECT_EQ(reader.next(packet), ReadStatus::end);
    EXPECT_TRUE(reader.error().empty());
}

// ---- truncation ----

TEST(FileReader, FileCutInsideARecordHeaderIsTruncated) {
    ScratchDir dir;
    std::vector<std::uint8_t> bytes =
        test::classic_pcap(Endian::little, test::pcap_magic_micro, 1, two_records());
    // Keep the first record and 7 of the second record's 16 header bytes.
    const std::size_t first_record_end = test::pcap_file_header_bytes +
                                         test::pcap_record_header_bytes + 10;
    bytes.resize(first_record_end + 7);
    FileReader reader(dir.write("cut_header.pcap", bytes));

    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.packets.size(), 1U);
    EXPECT_EQ(result.status, ReadStatus::truncated);
    EXPECT_NE(result.error.find("truncated"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("packet 2"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("byte " + std::to_string(first_record_end)), std::string::npos)
        << result.error;
    // Truncated is sticky, with the same message.
    Packet packet;
    EXPECT_EQ(reader.next(packet), ReadStatus::truncated);
    EXPECT_EQ(reader.error(), result.error);
}

TEST(FileReader, FileCutInsidePacketDataIsTruncated) {
    ScratchDir dir;
    std::vector<std::uint8_t> bytes =
        test::classic_pcap(Endian::big, test::pcap_magic_nano, 1, two_records());
    bytes.resize(bytes.size() - 2);  // the second record's data loses 2 of its 6 bytes
    FileReader reader(dir.write("cut_data.pcap", bytes));

    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.packets.size(), 1U);
    EXPECT_EQ(result.status, ReadStatus::truncated);
    // libpcap: "truncated dump file; tried to read 6 captured bytes, only got 4"
    EXPECT_NE(result.error.find("tried to read 6 captured bytes, only got 4"), std::string::npos)
        << result.error;
}

TEST(FileReader, ClassicPcapCutAtEveryLength) {
    ScratchDir dir;
    const std::vector<std::uint8_t> full =
        test::classic_pcap(Endian::little, test::pcap_magic_micro, 1, two_records());
    const std::size_t boundary1 = test::pcap_file_header_bytes + test::pcap_record_header_bytes + 10;
    const std::size_t boundary2 = full.size();

    for (std::size_t n = 0; n <= full.size(); ++n) {
        SCOPED_TRACE("length " + std::to_string(n));
        const std::string path =
            dir.write("cut.pcap", std::vector<std::uint8_t>(full.begin(), full.begin() +
                                                                static_cast<std::ptrdiff_t>(n)));
        if (n < test::pcap_file_header_bytes) {
            try {
                FileReader reader(path);
                ADD_FAILURE() << "opened a file with a cut file header";
            } catch (const CaptureError& e) {
                EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
            }
            continue;
        }
        FileReader reader(path);
        const test::ReadResult result = test::read_all(reader);
        const std::size_t whole = n >= boundary2 ? 2 : n >= boundary1 ? 1 : 0;
        EXPECT_EQ(result.packets.size(), whole);
        const bool at_boundary =
            n == test::pcap_file_header_bytes || n == boundary1 || n == boundary2;
        EXPECT_EQ(result.status, at_boundary ? ReadStatus::end : ReadStatus::truncated);
        EXPECT_EQ(result.error.empty(), at_boundary) << result.error;
    }
}

// ---- pcapng ----

TEST(FileReader, PcapngWithMicrosecondDefaultResolution) {
    for (Endian endian : {Endian::little, Endian::big}) {
        SCOPED_TRACE(endian == Endian::little ? "little" : "big");
        ScratchDir dir;
        const std::uint64_t ts = 1700000000ULL * 1000000ULL + 654321ULL;
        const std::string path =
            dir.write("f.pcapng", test::pcapng(endian, {1},
                                               {NgPacket{0, ts, 0, bytes_counting(14, 1)},
                                                NgPacket{0, ts + 1, 100, bytes_counting(7, 2)}}));
        FileReader reader(path);
        EXPECT_EQ(reader.link_type(), dlt_en10mb);
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.status, ReadStatus::end);
        ASSERT_EQ(result.packets.size(), 2U);
        EXPECT_EQ(result.packets[0].sec, 1700000000);
        EXPECT_EQ(result.packets[0].nsec, 654321000U);
        EXPECT_EQ(result.packets[0].caplen, 14U);
        EXPECT_EQ(result.packets[0].data, bytes_counting(14, 1));
        EXPECT_EQ(result.packets[1].nsec, 654322000U);
        EXPECT_EQ(result.packets[1].caplen, 7U);  // 7 bytes padded to 8 in the block
        EXPECT_EQ(result.packets[1].len, 100U);
        EXPECT_EQ(result.packets[1].data, bytes_counting(7, 2));
    }
}

TEST(FileReader, PcapngWithNanosecondResolution) {
    ScratchDir dir;
    const std::uint64_t ts = 1700000000ULL * 1000000000ULL + 123456789ULL;
    const std::string path = dir.write(
        "nano.pcapng",
        test::pcapng(Endian::little, {dlt_null}, {NgPacket{0, ts, 0, bytes_counting(8, 0)}}, 9));
    FileReader reader(path);
    EXPECT_EQ(reader.link_type(), dlt_null);
    const test::ReadResult result = test::read_all(reader);
    EXPECT_EQ(result.status, ReadStatus::end);
    ASSERT_EQ(result.packets.size(), 1U);
    EXPECT_EQ(result.packets[0].sec, 1700000000);
    EXPECT_EQ(result.packets[0].nsec, 123456789U);
}

TEST(FileReader, PcapngCutInsideABlockIsTruncated) {
    ScratchDir dir;
    std::vector<std::uint8_t> bytes = test::pcapng(
        Endian::little, {1},
        {NgPacket{0, 1, 0, bytes_counting(20, 0)}, NgPacket{0, 2, 0, bytes_counting(20, 0)}});
    const std::size_t epb_bytes = 32 + 20;
    for (std::size_t cut : {std::size_t{3}, std::size_t{10}, epb_bytes - 1}) {
        SCOPED_TRACE("cut " + std::to_string(cut) + " bytes into the last block");
        std::vector<std::uint8_t> prefix(bytes.begin(),
                                         bytes.end() - static_cast<std::ptrdiff_t>(epb_bytes - cut));
        FileReader reader(dir.write("cut.pcapng", prefix));
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.packets.size(), 1U);
        EXPECT_EQ(result.status, ReadStatus::truncated);
        EXPECT_NE(result.error.find("truncated"), std::string::npos) << result.error;
    }
}

TEST(FileReader, PcapngWithTwoLinkTypesIsNotACapture) {
    // libpcap opens it (only the first IDB is read at open) and fails at the second IDB.
    ScratchDir dir;
    const std::string path = dir.write(
        "mixed.pcapng", test::pcapng(Endian::little, {dlt_en10mb, dlt_null},
                                     {NgPacket{0, 1, 0, bytes_counting(14, 0)},
                                      NgPacket{1, 2, 0, bytes_counting(8, 0)}}));
    try {
        FileReader reader(path);
        Packet packet;
        for (int i = 0; i < 3; ++i) {
            (void)reader.next(packet);
        }
        ADD_FAILURE() << "read a pcapng with two link types";
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
    }
}

// ---- damaged records and files that are not captures ----

TEST(FileReader, ImpossibleRecordLengthIsNotTruncation) {
    ScratchDir dir;
    std::vector<Record> records = two_records();
    test::ByteWriter w(Endian::little);
    for (std::uint8_t b : test::classic_pcap(Endian::little, test::pcap_magic_micro, 1, records)) {
        w.u8(b);
    }
    // Second record's caplen becomes 0x7fffffff: a damaged file, not a short one.
    const std::size_t caplen_offset =
        test::pcap_file_header_bytes + test::pcap_record_header_bytes + 10 + 8;
    w.patch_u32(caplen_offset, 0x7fffffffU);
    FileReader reader(dir.write("bad_len.pcap", w.bytes()));
    Packet packet;
    EXPECT_EQ(reader.next(packet), ReadStatus::packet);
    try {
        (void)reader.next(packet);
        ADD_FAILURE() << "accepted an impossible record length";
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
        EXPECT_NE(std::string(e.what()).find("packet 1"), std::string::npos) << e.what();
    }
}

CaptureError open_error(const std::string& path) {
    try {
        FileReader reader(path);
    } catch (const CaptureError& e) {
        return e;
    }
    return CaptureError(CaptureErrorKind::other, "<opened without error>");
}

TEST(FileReader, MissingFileIsFileNotFound) {
    ScratchDir dir;
    const std::string path = dir.file("no_such.pcap");
    const CaptureError e = open_error(path);
    EXPECT_EQ(e.kind(), CaptureErrorKind::file_not_found) << e.what();
    EXPECT_EQ(std::string(e.what()), "cannot open " + path + ": No such file or directory");
}

TEST(FileReader, DirectoryIsFileNotFound) {
    ScratchDir dir;
    const CaptureError e = open_error(dir.file(""));
    EXPECT_EQ(e.kind(), CaptureErrorKind::file_not_found) << e.what();
    EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
}

TEST(FileReader, TextFileIsNotACapture) {
    ScratchDir dir;
    const std::string text = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\nthis is not a capture\n";
    const std::string path =
        dir.write("notes.txt", std::vector<std::uint8_t>(text.begin(), text.end()));
    const CaptureError e = open_error(path);
    EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind(path + " is not a capture libpcap can read", 0), 0U)
        << e.what();
}

TEST(FileReader, EmptyFileIsNotACapture) {
    ScratchDir dir;
    const CaptureError e = open_error(dir.write("zero.pcap", {}));
    EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
}

}  // namespace
}  // namespace labtool::capture
