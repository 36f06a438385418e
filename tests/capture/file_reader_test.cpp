// FileReader on pcap / pcapng files built byte by byte: byte orders, precisions, link types,
// pcapng timestamp resolutions and offsets, old formats, truncation at every length, damaged
// files, and the errors users meet (missing file, text file). file_reader_libpcap_test.cpp
// compares the same reader with libpcap itself.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
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

CaptureError open_error(const std::string& path) {
    try {
        FileReader reader(path);
    } catch (const CaptureError& e) {
        return e;
    }
    return CaptureError(CaptureErrorKind::other, "<opened without error>");
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

// ---- pcapng timestamps: every kind of if_tsresol, if_tsoffset, the clamp ----

struct TsresolCase {
    std::uint8_t tsresol;      // the option's byte
    std::uint64_t ts;          // the EPB's 64-bit timestamp
    std::int64_t sec;          // expected
    std::uint32_t nsec;
};

class PcapngTsresol : public ::testing::TestWithParam<TsresolCase> {};

TEST_P(PcapngTsresol, ConvertsToSecondsAndNanoseconds) {
    const TsresolCase c = GetParam();
    for (Endian endian : {Endian::little, Endian::big}) {
        SCOPED_TRACE(endian == Endian::little ? "little" : "big");
        ScratchDir dir;
        test::NgFile f(endian);
        f.shb().idb(1, 262144, test::concat({test::ng_tsresol(endian, c.tsresol), test::ng_end(endian)}))
            .epb(0, c.ts, bytes_counting(14, 0));
        FileReader reader(dir.write("r.pcapng", f.bytes()));
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.status, ReadStatus::end);
        ASSERT_EQ(result.packets.size(), 1U);
        EXPECT_EQ(result.packets[0].sec, c.sec);
        EXPECT_EQ(result.packets[0].nsec, c.nsec);
    }
}

constexpr std::uint64_t t0 = 1700000000;

INSTANTIATE_TEST_SUITE_P(
    EveryKind, PcapngTsresol,
    ::testing::Values(
        TsresolCase{0, t0, 1700000000, 0},                                          // seconds
        TsresolCase{3, t0 * 1000 + 123, 1700000000, 123000000},                     // ms
        TsresolCase{6, t0 * 1000000 + 654321, 1700000000, 654321000},               // us (default)
        TsresolCase{9, t0 * 1000000000 + 999999999, 1700000000, 999999999},         // ns
        TsresolCase{12, 10000000ULL * 1000000000000 + 123456789999, 10000000, 123456789},  // ps: cut
        TsresolCase{19, 17000000000000000000ULL, 1, 700000000},                     // 10^-19 s
        TsresolCase{0x80, t0, 1700000000, 0},                                       // 2^0 s
        TsresolCase{0x80 | 10, t0 * 1024 + 512, 1700000000, 500000000},             // 1/1024 s
        TsresolCase{0x80 | 20, (t0 << 20) | 1, 1700000000, 953},                    // 2^-20 s
        TsresolCase{0x80 | 30, (t0 << 30) | (1U << 29), 1700000000, 500000000},     // 2^-30 s
        TsresolCase{0x80 | 34, (std::uint64_t{1} << 34) * 3 + (std::uint64_t{1} << 33), 3, 500000000},
        // Finer than 2^-34 s libpcap's fraction * 10^9 wraps in 64 bits; we compute as it does.
        TsresolCase{0x80 | 40, (std::uint64_t{5} << 40) | (std::uint64_t{1} << 39), 5,
                    static_cast<std::uint32_t>(((std::uint64_t{1} << 39) * 1000000000ULL) >> 40)},
        TsresolCase{0x80 | 63, ~std::uint64_t{0}, 1,
                    static_cast<std::uint32_t>((((std::uint64_t{1} << 63) - 1) * 1000000000ULL) >> 63)},
        // 2^64 - 1 seconds would overflow sec * 10^9: clamped to year 2262.
        TsresolCase{0, ~std::uint64_t{0}, 9223372035, 0}),
    [](const ::testing::TestParamInfo<TsresolCase>& p) {
        return "tsresol_" + std::to_string(p.param.tsresol) + "_case" + std::to_string(p.index);
    });

TEST(FileReader, PcapngTsresolOutOfRangeIsNotACapture) {
    for (std::uint8_t tsresol : {std::uint8_t{20}, std::uint8_t{0x80 | 64}, std::uint8_t{0xFF}}) {
        SCOPED_TRACE(std::to_string(tsresol));
        ScratchDir dir;
        test::NgFile f(Endian::little);
        f.shb().idb(1, 262144, test::concat({test::ng_tsresol(Endian::little, tsresol), test::ng_end(Endian::little)}));
        const std::string path = dir.write("bad.pcapng", f.bytes());
        try {
            FileReader reader(path);
            ADD_FAILURE() << "accepted if_tsresol " << int{tsresol};
        } catch (const CaptureError& e) {
            EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
            EXPECT_NE(std::string(e.what()).find("if_tsresol"), std::string::npos) << e.what();
        }
    }
}

TEST(FileReader, PcapngTsoffsetAddsSecondsEitherWay) {
    for (Endian e : {Endian::little, Endian::big}) {
        ScratchDir dir;
        test::NgFile f(e);
        f.shb()
            .idb(1, 0, test::concat({test::ng_tsoffset(e, 1000), test::ng_end(e)}))
            .idb(1, 0, test::concat({test::ng_tsoffset(e, -10), test::ng_tsresol(e, 9), test::ng_end(e)}))
            .epb(0, 5500000, bytes_counting(14, 0))
            .epb(1, 5500000000ULL, bytes_counting(14, 0))
            .epb(1, 0, bytes_counting(14, 0))
            .shb()
            .idb(1, 0, test::concat({test::ng_tsoffset(e, INT64_MAX), test::ng_end(e)}))
            .epb(0, 1, bytes_counting(14, 0))
            .idb(1, 0, test::concat({test::ng_tsoffset(e, INT64_MIN), test::ng_end(e)}))
            .epb(1, 1, bytes_counting(14, 0));
        FileReader reader(dir.write("off.pcapng", f.bytes()));
        EXPECT_EQ(reader.snaplen(), 262144);  // 0 in the IDB: the link type's maximum
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.status, ReadStatus::end);
        ASSERT_EQ(result.packets.size(), 5U);
        EXPECT_EQ(result.packets[0].sec, 1005);
        EXPECT_EQ(result.packets[0].nsec, 500000000U);
        EXPECT_EQ(result.packets[1].sec, -5);
        EXPECT_EQ(result.packets[1].nsec, 500000000U);
        EXPECT_EQ(result.packets[2].sec, -10);
        EXPECT_EQ(result.packets[3].sec, 9223372035);   // clamped, not wrapped to a negative
        EXPECT_EQ(result.packets[4].sec, -9223372035);
    }
}

TEST(FileReader, PcapngEveryTsresolAndTimestampStaysInRange) {
    // All 256 if_tsresol bytes (2^-n and 10^-n, huge exponents included) with the extreme 64-bit
    // timestamps and offsets: refused as damaged, or converted with nsec < 10^9 and |sec| within
    // the clamp (no overflow: the UBSan build reports any).
    constexpr std::int64_t max_seconds = 9'223'372'035;
    const std::uint64_t stamps[] = {0, 1, 999'999'999, 0xFFFFFFFFULL, 1ULL << 32, 16'725'225'600'000'000ULL,
                                    1ULL << 63, (1ULL << 63) - 1, ~std::uint64_t{0}, ~std::uint64_t{0} - 1};
    const std::int64_t offsets[] = {0, 1, -1, INT64_MAX, INT64_MIN, 16'725'225'600, -16'725'225'600};
    int accepted = 0;
    for (int tsresol = 0; tsresol < 256; ++tsresol) {
        SCOPED_TRACE("if_tsresol " + std::to_string(tsresol));
        const Endian e = tsresol % 2 == 0 ? Endian::little : Endian::big;
        ScratchDir dir;
        test::NgFile f(e);
        f.shb();
        for (const std::int64_t offset : offsets) {
            f.idb(1, 0, test::concat({test::ng_tsresol(e, static_cast<std::uint8_t>(tsresol)),
                                      test::ng_tsoffset(e, offset), test::ng_end(e)}));
        }
        for (std::uint32_t i = 0; i < std::size(offsets); ++i) {
            for (const std::uint64_t ts : stamps) f.epb(i, ts, bytes_counting(14, 0));
        }
        const std::string path = dir.write("ts.pcapng", f.bytes());
        try {
            FileReader reader(path);
            const test::ReadResult result = test::read_all(reader);
            EXPECT_EQ(result.status, ReadStatus::end) << result.error;
            EXPECT_EQ(result.packets.size(), std::size(offsets) * std::size(stamps));
            for (const test::ReadPacket& p : result.packets) {
                EXPECT_LT(p.nsec, 1'000'000'000U);
                EXPECT_LE(p.sec, max_seconds);
                EXPECT_GE(p.sec, -max_seconds);
            }
            ++accepted;
        } catch (const CaptureError& error) {
            EXPECT_NE(std::string(error.what()).find("if_tsresol"), std::string::npos) << error.what();
        }
    }
    EXPECT_EQ(accepted, 20 + 64);  // 10^0..10^-19 and 2^0..2^-63
}

// ---- pcapng: old and simple packet blocks, sections, skipped blocks ----

TEST(FileReader, PcapngSimpleAndObsoletePacketBlocksAndSections) {
    for (Endian e : {Endian::little, Endian::big}) {
        SCOPED_TRACE(e == Endian::little ? "little" : "big");
        ScratchDir dir;
        test::NgFile f(e);
        f.shb(test::concat({test::ng_comment(e, "first section"), test::ng_end(e)}))
            .block(0x00000BAD, std::vector<std::uint8_t>(12, 0xEE))   // custom: skipped
            .idb(101, 16, test::concat({test::ng_tsoffset(e, 77), test::ng_end(e)}))
            .spb(40, bytes_counting(16, 1))                             // cut to the snaplen
            .pb(0, 3000001, bytes_counting(9, 2), 90)
            .block(0x00000005, std::vector<std::uint8_t>(28, 0))        // statistics: skipped
            .shb({}, 1, 2)                                              // version 1.2 is read too
            .idb(101, 16)
            .epb(0, 42, bytes_counting(3, 3));
        FileReader reader(dir.write("blocks.pcapng", f.bytes()));
        EXPECT_EQ(reader.link_type(), DLT_RAW);
        EXPECT_EQ(reader.snaplen(), 16);
        const test::ReadResult result = test::read_all(reader);
        EXPECT_EQ(result.status, ReadStatus::end) << result.error;
        ASSERT_EQ(result.packets.size(), 3U);
        EXPECT_EQ(result.packets[0].sec, 77);  // an SPB has no time: the interface's offset
        EXPECT_EQ(result.packets[0].nsec, 0U);
        EXPECT_EQ(result.packets[0].caplen, 16U);
        EXPECT_EQ(result.packets[0].len, 40U);
        EXPECT_EQ(result.packets[0].data, bytes_counting(16, 1));
        EXPECT_EQ(result.packets[1].sec, 77 + 3);
        EXPECT_EQ(result.packets[1].nsec, 1000U);
        EXPECT_EQ(result.packets[1].caplen, 9U);
        EXPECT_EQ(result.packets[1].len, 90U);
        EXPECT_EQ(result.packets[2].sec, 0);
        EXPECT_EQ(result.packets[2].nsec, 42000U);
        EXPECT_EQ(result.packets[2].data, bytes_counting(3, 3));
    }
}

TEST(FileReader, PcapngSecondRawInterfaceIsTheSameLinkType) {
    // LINKTYPE_RAW 101 twice: one DLT (libpcap 1.10 refuses the second interface here).
    ScratchDir dir;
    test::NgFile f(Endian::little);
    f.shb().idb(101, 262144).epb(0, 1, bytes_counting(20, 0)).idb(101, 262144).epb(1, 2, bytes_counting(20, 1));
    FileReader reader(dir.write("raw2.pcapng", f.bytes()));
    EXPECT_EQ(reader.link_type(), DLT_RAW);
    EXPECT_EQ(test::read_all(reader).packets.size(), 2U);
}

TEST(FileReader, PcapngDamageIsNotACaptureAndSticky) {
    struct Case {
        const char* name;
        std::vector<std::uint8_t> bytes;
        const char* reason;
    };
    const Endian e = Endian::little;
    std::vector<Case> cases;
    cases.push_back({"packet on an unknown interface",
                     test::NgFile(e).shb().idb(1, 262144).epb(1, 1, bytes_counting(14, 0)).bytes(),
                     "no Interface Description Block for that interface"});
    cases.push_back({"caplen above the snaplen",
                     test::NgFile(e).shb().idb(1, 10).epb(0, 1, bytes_counting(14, 0)).bytes(),
                     "bigger than snaplen of 10"});
    cases.push_back({"second section without interfaces",
                     test::NgFile(e).shb().idb(1, 0).shb().epb(0, 1, bytes_counting(14, 0)).bytes(),
                     "no Interface Description Block"});
    cases.push_back({"other snaplen",
                     test::NgFile(e).shb().idb(1, 100).idb(1, 200).epb(0, 1, bytes_counting(14, 0)).bytes(),
                     "snapshot length"});
    {
        std::vector<std::uint8_t> bad_trailer = test::NgFile(e).shb().idb(1, 0).epb(0, 1, bytes_counting(14, 0)).bytes();
        bad_trailer.back() ^= 0x01;
        cases.push_back({"trailer length differs", bad_trailer, "don't match"});
    }
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        ScratchDir dir;
        const std::string path = dir.write("bad.pcapng", c.bytes);
        std::optional<FileReader> reader;
        try {
            reader.emplace(path);
        } catch (const CaptureError& err) {
            ADD_FAILURE() << "refused at open: " << err.what();
            continue;
        }
        Packet packet;
        std::string first;
        try {
            while (reader->next(packet) == ReadStatus::packet) {
            }
            ADD_FAILURE() << "read to the end";
        } catch (const CaptureError& err) {
            EXPECT_EQ(err.kind(), CaptureErrorKind::not_a_capture);
            first = err.what();
            EXPECT_NE(first.find(c.reason), std::string::npos) << first;
            EXPECT_NE(first.find(path + " cannot be read past packet 0 (byte "), std::string::npos) << first;
        }
        try {
            (void)reader->next(packet);
            ADD_FAILURE() << "not sticky";
        } catch (const CaptureError& err) {
            EXPECT_EQ(std::string(err.what()), first);
        }
    }
}

TEST(FileReader, PcapngBeforeTheFirstInterfaceIsNotACapture) {
    const Endian e = Endian::big;
    const std::vector<std::pair<std::vector<std::uint8_t>, const char*>> cases = {
        {test::NgFile(e).shb().bytes(), "no Interface Description Blocks"},
        {test::NgFile(e).shb().epb(0, 1, bytes_counting(4, 0)).bytes(), "packet block before any Interface"},
        {test::NgFile(e).shb({}, 2, 0).idb(1, 0).bytes(), "unsupported pcapng savefile version 2.0"},
        {test::NgFile(e).shb().block(1, {0, 1, 0, 0}).bytes(), "too short"},
    };
    for (const auto& [bytes, reason] : cases) {
        SCOPED_TRACE(reason);
        ScratchDir dir;
        const CaptureError err = [&] {
            try {
                FileReader reader(dir.write("x.pcapng", bytes));
            } catch (const CaptureError& caught) {
                return caught;
            }
            return CaptureError(CaptureErrorKind::other, "<opened>");
        }();
        EXPECT_EQ(err.kind(), CaptureErrorKind::not_a_capture) << err.what();
        EXPECT_NE(std::string(err.what()).find(reason), std::string::npos) << err.what();
    }
}

TEST(FileReader, PcapngBlockLengthIsBoundedBeforeAnythingIsAllocated) {
    // A block that claims 2 GiB: refused from its header (libpcap's 16 MiB limit), not read.
    ScratchDir dir;
    test::ByteWriter w(Endian::little);
    w.raw(test::NgFile(Endian::little).shb().idb(1, 0).bytes());
    w.u32(6);
    w.u32(0x80000000U);
    w.u32(0);
    FileReader reader(dir.write("huge.pcapng", w.bytes()));
    Packet packet;
    try {
        (void)reader.next(packet);
        ADD_FAILURE() << "accepted a 2 GiB block";
    } catch (const CaptureError& e) {
        EXPECT_NE(std::string(e.what()).find("pcapng block size 2147483648 > maximum 16777216"), std::string::npos)
            << e.what();
    }
}

// ---- classic pcap: old versions and headers ----

TEST(FileReader, ClassicOldVersionsSwapLengthsAndKuznetzovHeaders) {
    using test::RawRecord;
    for (Endian e : {Endian::little, Endian::big}) {
        SCOPED_TRACE(e == Endian::little ? "little" : "big");
        ScratchDir dir;
        // 2.2 stores len before caplen; 2.3 either way (caplen is the smaller).
        const std::vector<RawRecord> stored = {RawRecord{5, 6, 60, 4, bytes_counting(4, 0)}};
        for (std::uint16_t minor : {std::uint16_t{2}, std::uint16_t{3}}) {
            FileReader reader(dir.write("v.pcap", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, minor, 100, 1, stored)));
            const test::ReadResult r = test::read_all(reader);
            ASSERT_EQ(r.packets.size(), 1U);
            EXPECT_EQ(r.packets[0].caplen, 4U);
            EXPECT_EQ(r.packets[0].len, 60U);
            EXPECT_EQ(r.packets[0].nsec, 6000U);
        }
        // Kuznetzov's patched format: 24-byte record headers; Ethernet snaplen + 14.
        const std::vector<RawRecord> patched = {RawRecord{7, 8, 4, 4, bytes_counting(4, 9)},
                                                RawRecord{9, 10, 2, 50, bytes_counting(2, 1)}};
        FileReader reader(dir.write("k.pcap", test::classic_pcap_raw(e, 0xa1b2cd34, 2, 4, 100, 1, patched, 8)));
        EXPECT_EQ(reader.snaplen(), 114);
        const test::ReadResult r = test::read_all(reader);
        EXPECT_EQ(r.status, ReadStatus::end);
        ASSERT_EQ(r.packets.size(), 2U);
        EXPECT_EQ(r.packets[0].data, bytes_counting(4, 9));
        EXPECT_EQ(r.packets[1].sec, 9);
        EXPECT_EQ(r.packets[1].nsec, 10000U);
        EXPECT_EQ(r.packets[1].len, 50U);
    }
}

TEST(FileReader, ClassicRecordAboveTheSnaplenIsCutToIt) {
    // libpcap reads it, hands over snaplen bytes and skips the rest (old Solaris files).
    using test::RawRecord;
    ScratchDir dir;
    const std::vector<RawRecord> records = {RawRecord{1, 2, 10, 10, bytes_counting(10, 0)},
                                            RawRecord{3, 4, 2, 2, bytes_counting(2, 50)}};
    FileReader reader(dir.write("over.pcap", test::classic_pcap_raw(Endian::little, test::pcap_magic_nano, 2, 4, 6, 1, records)));
    EXPECT_EQ(reader.snaplen(), 6);
    const test::ReadResult r = test::read_all(reader);
    EXPECT_EQ(r.status, ReadStatus::end);
    ASSERT_EQ(r.packets.size(), 2U);
    EXPECT_EQ(r.packets[0].caplen, 6U);
    EXPECT_EQ(r.packets[0].len, 10U);
    EXPECT_EQ(r.packets[0].data, bytes_counting(6, 0));
    EXPECT_EQ(r.packets[1].data, bytes_counting(2, 50));
}

TEST(FileReader, ClassicTimesAreUnsignedAndFractionsCarried) {
    using test::RawRecord;
    for (Endian e : {Endian::little, Endian::big}) {
        ScratchDir dir;
        const std::vector<RawRecord> records = {RawRecord{0x80000000U, 2500000, 1, 1, {0}},   // 2038+, 2.5 s in us
                                                RawRecord{0xFFFFFFFFU, 999999, 1, 1, {0}}};
        FileReader reader(dir.write("t.pcap", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 100, 1, records)));
        const test::ReadResult r = test::read_all(reader);
        ASSERT_EQ(r.packets.size(), 2U);
        EXPECT_EQ(r.packets[0].sec, 2147483648LL + 2);
        EXPECT_EQ(r.packets[0].nsec, 500000000U);
        EXPECT_EQ(r.packets[1].sec, 4294967295LL);
        EXPECT_EQ(r.packets[1].nsec, 999999000U);
    }
}

TEST(FileReader, ClassicHeaderErrorsAreNotACapture) {
    const std::vector<std::pair<std::vector<std::uint8_t>, const char*>> cases = {
        {test::classic_pcap_raw(Endian::little, test::pcap_magic_micro, 1, 0, 100, 1, {}), "archaic"},
        {test::classic_pcap_raw(Endian::big, test::pcap_magic_micro, 2, 5, 100, 1, {}), "unsupported pcap savefile version 2.5"},
        {test::classic_pcap_raw(Endian::big, test::pcap_magic_micro, 3, 0, 100, 1, {}), "version 3.0"},
        {{0xd4, 0xc3, 0xb2}, "truncated"},
    };
    for (const auto& [bytes, reason] : cases) {
        SCOPED_TRACE(reason);
        ScratchDir dir;
        const CaptureError err = open_error(dir.write("h.pcap", bytes));
        EXPECT_EQ(err.kind(), CaptureErrorKind::not_a_capture) << err.what();
        EXPECT_NE(std::string(err.what()).find(reason), std::string::npos) << err.what();
    }
    // DG/UX's 543.0 is a known old version (lengths in the old order).
    ScratchDir dir;
    FileReader reader(dir.write("dgux.pcap", test::classic_pcap_raw(Endian::big, test::pcap_magic_micro, 543, 0, 100, 1,
                                                                     {test::RawRecord{1, 1, 9, 3, bytes_counting(3, 0)}})));
    const test::ReadResult r = test::read_all(reader);
    ASSERT_EQ(r.packets.size(), 1U);
    EXPECT_EQ(r.packets[0].caplen, 3U);
    EXPECT_EQ(r.packets[0].len, 9U);
}

TEST(FileReader, LinkTypeConversionsMatchLibpcap) {
    EXPECT_EQ(dlt_from_linktype(0), DLT_NULL);
    EXPECT_EQ(dlt_from_linktype(1), DLT_EN10MB);
    EXPECT_EQ(dlt_from_linktype(101), DLT_RAW);
    EXPECT_EQ(dlt_from_linktype(108), DLT_LOOP);
    EXPECT_EQ(dlt_from_linktype(113), DLT_LINUX_SLL);
    EXPECT_EQ(dlt_from_linktype(228), DLT_IPV4);
    EXPECT_EQ(dlt_from_linktype(229), DLT_IPV6);
    EXPECT_EQ(dlt_from_linktype(276), DLT_LINUX_SLL2);
    EXPECT_EQ(dlt_from_linktype(100), DLT_ATM_RFC1483);
    EXPECT_EQ(dlt_from_linktype(106), DLT_ATM_CLIP);
    EXPECT_EQ(dlt_from_linktype(246), DLT_PFSYNC);
    EXPECT_EQ(dlt_from_linktype(258), DLT_PKTAP);
    EXPECT_EQ(dlt_from_linktype(60000), 60000);  // unknown: passed on
    EXPECT_EQ(linktype_from_dlt(DLT_RAW), 101);
    EXPECT_EQ(linktype_from_dlt(DLT_EN10MB), 1);
    EXPECT_EQ(linktype_from_dlt(DLT_LINUX_SLL2), 276);
    EXPECT_EQ(linktype_from_dlt(101), -1);   // not a DLT on this platform
    EXPECT_EQ(linktype_from_dlt(60000), -1);
    for (int linktype = 0; linktype < 300; ++linktype) {
        const int dlt = dlt_from_linktype(static_cast<std::uint32_t>(linktype));
        const int back = linktype_from_dlt(dlt);
        if (back != -1) {
            EXPECT_EQ(dlt_from_linktype(static_cast<std::uint32_t>(back)), dlt) << linktype;
        }
    }
    EXPECT_EQ(max_caplen_for_dlt(DLT_EN10MB), 262144U);
    EXPECT_EQ(max_caplen_for_dlt(231), 128U * 1024 * 1024);  // D-Bus
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
    EXPECT_EQ(std::string(e.what()).rfind(path + " is not a capture labtool can read (pcap or pcapng): unknown file format", 0), 0U)
        << e.what();
}

TEST(FileReader, EmptyFileIsNotACapture) {
    ScratchDir dir;
    const CaptureError e = open_error(dir.write("zero.pcap", {}));
    EXPECT_EQ(e.kind(), CaptureErrorKind::not_a_capture) << e.what();
}

}  // namespace
}  // namespace labtool::capture
