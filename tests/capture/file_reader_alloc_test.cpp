// FileReader on files whose length fields lie: a pcapng block, a pcapng option or a pcap record
// claiming far more than the file holds. The reader must answer (truncated, or damaged) at once
// and never allocate more than the file's size for it. A binary of its own: it replaces the
// global operator new to see the size of every allocation.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {

std::atomic<bool> watching{false};
std::atomic<std::size_t> largest{0};

void* allocate(std::size_t n) {
    if (watching.load(std::memory_order_relaxed)) {
        std::size_t seen = largest.load(std::memory_order_relaxed);
        while (n > seen && !largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace labtool::capture {
namespace {

using test::Endian;
using test::ScratchDir;

constexpr std::uint16_t linktype_ethernet = 1;
constexpr std::uint16_t linktype_dbus = 231;  // packets up to 128 MiB: the largest blocks allowed

long max_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;  // KiB on Linux
}

struct Outcome {
    std::size_t largest_allocation = 0;
    long rss_growth_kib = 0;
    double seconds = 0;
    std::string result;  // "packets N, truncated: ...", "damaged: ..."
};

/// Opens and reads `bytes` as a file, watching every allocation made meanwhile.
Outcome read_watched(const std::vector<std::uint8_t>& bytes) {
    ScratchDir dir;
    const std::string path = dir.write("lying.pcapng", bytes);
    Outcome o;
    const long rss_before = max_rss_kib();
    const auto start = std::chrono::steady_clock::now();
    largest = 0;
    watching = true;
    try {
        FileReader reader(path);
        Packet packet;
        std::size_t packets = 0;
        ReadStatus status = ReadStatus::packet;
        while ((status = reader.next(packet)) == ReadStatus::packet) ++packets;
        o.result = "packets " + std::to_string(packets) +
                   (status == ReadStatus::truncated ? ", truncated: " + reader.error() : ", end");
    } catch (const CaptureError& e) {
        o.result = std::string("damaged: ") + e.what();
    }
    watching = false;
    o.largest_allocation = largest;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    o.rss_growth_kib = max_rss_kib() - rss_before;
    return o;
}

/// What a reader may allocate for a file of `size` bytes: that, or a few KiB of strings.
std::size_t allowance(std::size_t size) { return std::max<std::size_t>(size, 4096); }

void expect_bounded(const std::vector<std::uint8_t>& bytes, const std::string& expected_result) {
    const Outcome o = read_watched(bytes);
    EXPECT_NE(o.result.find(expected_result), std::string::npos) << o.result;
    EXPECT_LE(o.largest_allocation, allowance(bytes.size())) << o.result;
    EXPECT_LT(o.rss_growth_kib, 8 * 1024) << o.result;
    EXPECT_LT(o.seconds, 2.0) << o.result;
}

/// SHB and an IDB, then the 8 header bytes of a block of type `type` claiming `total` bytes,
/// and `tail` bytes of zeros.
std::vector<std::uint8_t> pcapng_claiming(std::uint16_t link, std::uint32_t type, std::uint32_t total,
                                          std::size_t tail) {
    test::NgFile f(Endian::little);
    f.shb().idb(link, 0);
    std::vector<std::uint8_t> bytes = f.bytes();
    test::ByteWriter w(Endian::little);
    w.u32(type);
    w.u32(total);
    bytes.insert(bytes.end(), w.bytes().begin(), w.bytes().end());
    bytes.resize(bytes.size() + tail);
    return bytes;
}

TEST(FileReaderAllocation, PcapngBlockClaimingSixteenMiBInATinyFile) {
    for (std::uint32_t type : {6U, 3U, 2U, 1U, 5U, 0x0A0D0D0AU}) {
        SCOPED_TRACE(type);
        expect_bounded(pcapng_claiming(linktype_ethernet, type, 16U * 1024 * 1024, 20), "truncated");
    }
}

TEST(FileReaderAllocation, PcapngDbusBlockClaimingAHundredMiB) {
    // D-Bus raises the block limit to 128 MiB; the file still holds 64 KiB.
    expect_bounded(pcapng_claiming(linktype_dbus, 6, 100U * 1024 * 1024, 64 * 1024), "truncated");
}

TEST(FileReaderAllocation, PcapngBlockAboveTheMaximumIsDamaged) {
    expect_bounded(pcapng_claiming(linktype_ethernet, 6, 0xFFFFFFFC, 20), "damaged: ");
}

TEST(FileReaderAllocation, PcapngFirstSectionHeaderClaimingAMiB) {
    test::ByteWriter w(Endian::little);
    w.u32(0x0A0D0D0A);
    w.u32(1024 * 1024);  // the most a Section Header Block may have
    w.u32(0x1A2B3C4D);
    w.u16(1);
    w.u16(0);
    w.u64(~std::uint64_t{0});
    expect_bounded(w.bytes(), "damaged: ");  // cut before the first interface: not a capture
}

TEST(FileReaderAllocation, PcapngOptionLongerThanItsBlockIsDamaged) {
    test::ByteWriter opt(Endian::little);
    opt.u16(9);        // if_tsresol
    opt.u16(0xFFFF);   // 65535 bytes of value in a block of 32
    opt.u32(6);
    test::NgFile f(Endian::little);
    f.shb().idb(linktype_ethernet, 0, opt.bytes());
    expect_bounded(f.bytes(), "too short");
}

TEST(FileReaderAllocation, ClassicRecordClaimingMoreThanTheFile) {
    // D-Bus allows 128 MiB records; this one claims 100 MiB in a file of a few bytes.
    std::vector<test::RawRecord> records = {{1, 0, 100U * 1024 * 1024, 100U * 1024 * 1024, {1, 2, 3, 4}}};
    expect_bounded(test::classic_pcap_raw(Endian::little, test::pcap_magic_micro, 2, 4, 0, linktype_dbus, records),
                   "truncated");
    records[0].caplen = records[0].len = 200'000;  // Ethernet: below the 262144 maximum
    expect_bounded(test::classic_pcap_raw(Endian::big, test::pcap_magic_nano, 2, 4, 0, linktype_ethernet, records),
                   "truncated");
}

TEST(FileReaderAllocation, LargeRecordsStillRead) {
    // A 3 MiB D-Bus packet: the buffer grows past 1 MiB, and no further than the file.
    std::vector<std::uint8_t> data(3 * 1024 * 1024 + 1, 0x5A);
    test::NgFile f(Endian::big);
    f.shb().idb(linktype_dbus, 0).epb(0, 1, data).epb(0, 2, {1, 2, 3});
    const Outcome o = read_watched(f.bytes());
    EXPECT_EQ(o.result, "packets 2, end");
    EXPECT_LE(o.largest_allocation, f.bytes().size());
}

}  // namespace
}  // namespace labtool::capture
