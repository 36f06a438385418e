// FileReader (our own pcap/pcapng reader) against libpcap itself, opened with
// pcap_open_offline_with_tstamp_precision(NANO) as the old FileReader did: on every capture
// committed under tests/ and on generated files in every variant, each whole, cut at many
// lengths and mutated byte by byte (deterministically). Both must agree on link type, snaplen,
// every packet (time, lengths, bytes) and how the file ends: clean end, truncated, or damaged
// (where libpcap refuses to open, FileReader must refuse too). The differences file_reader.cpp
// documents are asserted as such, one by one, never skipped. Also: Recorder's files are
// byte-identical to libpcap's pcap_dump output and read the same by both readers.
#include "capture_files.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/pcapng_writer.hpp"
#include "labtool/capture/recorder.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#ifndef LABTOOL_TESTS_DIR
#error "LABTOOL_TESTS_DIR (the folder with the committed captures) must be defined"
#endif

namespace labtool::capture {
namespace {

using test::Endian;
using test::NgFile;
using test::ScratchDir;

constexpr std::int64_t max_seconds = 9'223'372'035;  // FileReader clamps pcapng seconds here
constexpr std::int64_t billion = 1'000'000'000;
constexpr std::size_t default_mutants_per_file = 300;  // LABTOOL_DIFF_MUTANTS=N for a deeper run
constexpr std::size_t evenly_spaced_cuts = 200;
constexpr std::size_t every_cut_below = 200;
constexpr std::size_t packet_limit = 1'000'000;

enum class Ending { end, truncated, damaged, not_opened };

const char* name(Ending e) {
    switch (e) {
        case Ending::end: return "end";
        case Ending::truncated: return "truncated";
        case Ending::damaged: return "damaged";
        case Ending::not_opened: return "not opened";
    }
    return "?";
}

struct Seen {
    std::int64_t sec = 0;
    std::int64_t frac = 0;  // nanoseconds as handed over (libpcap: tv_usec, any value)
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    std::vector<std::uint8_t> data;
};

struct Outcome {
    int link = -1;
    int snaplen = -1;
    std::vector<Seen> packets;
    Ending ending = Ending::not_opened;
    std::string message;
};

Outcome read_with_libpcap(const std::string& path) {
    Outcome o;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        o.message = errbuf;
        return o;
    }
    o.link = pcap_datalink(p);
    o.snaplen = pcap_snapshot(p);
    for (;;) {
        pcap_pkthdr* h = nullptr;
        const u_char* bytes = nullptr;
        const int rc = pcap_next_ex(p, &h, &bytes);
        if (rc == 1) {
            o.packets.push_back({static_cast<std::int64_t>(h->ts.tv_sec), static_cast<std::int64_t>(h->ts.tv_usec),
                                 h->caplen, h->len, std::vector<std::uint8_t>(bytes, bytes + h->caplen)});
            if (o.packets.size() < packet_limit) continue;
        }
        if (rc == PCAP_ERROR_BREAK) {
            o.ending = Ending::end;
        } else if (rc != 1) {
            o.message = pcap_geterr(p);
            // The old FileReader's rule: libpcap words every short read "truncated ...".
            o.ending = o.message.find("truncated") != std::string::npos ? Ending::truncated : Ending::damaged;
        }
        break;
    }
    pcap_close(p);
    return o;
}

Outcome read_with_ours(const std::string& path) {
    Outcome o;
    std::optional<FileReader> reader;
    try {
        reader.emplace(path);
    } catch (const CaptureError& e) {
        o.message = e.what();
        return o;
    }
    o.link = reader->link_type();
    o.snaplen = reader->snaplen();
    Packet packet;
    try {
        for (;;) {
            const ReadStatus status = reader->next(packet);
            if (status == ReadStatus::end) {
                o.ending = Ending::end;
                break;
            }
            if (status == ReadStatus::truncated) {
                o.ending = Ending::truncated;
                o.message = reader->error();
                break;
            }
            EXPECT_LT(packet.ts.nsec, 1'000'000'000U);
            EXPECT_LE(packet.caplen, packet.data.size());
            o.packets.push_back({packet.ts.sec, packet.ts.nsec, packet.caplen, packet.len,
                                 std::vector<std::uint8_t>(packet.data.begin(), packet.data.end())});
            if (o.packets.size() >= packet_limit) break;
        }
    } catch (const CaptureError& e) {
        o.ending = Ending::damaged;
        o.message = e.what();
        // Damaged is sticky: the same error again.
        try {
            (void)reader->next(packet);
            ADD_FAILURE() << "a second next() after damage did not throw";
        } catch (const CaptureError& again) {
            EXPECT_EQ(std::string(again.what()), o.message);
        }
    }
    return o;
}

/// How often each documented difference was met (printed at the end, to show they are real).
struct DifferenceCounts {
    std::size_t compared = 0;
    std::size_t endings[4] = {};         // by Ending: how the files ended, for the log
    std::size_t sign_extended = 0;       // classic pcap: libpcap's signed fields, host order
    std::size_t fraction_carried = 0;    // classic pcap: sub-second field out of range
    std::size_t seconds_clamped = 0;     // pcapng: seconds beyond +-max_seconds
    std::size_t second_raw_interface = 0;  // pcapng: LINKTYPE != DLT on a later interface
    std::size_t pseudo_header_kept = 0;  // PFLOG, USB Linux, NFLOG packets
};

DifferenceCounts& counts() {
    static DifferenceCounts c;
    return c;
}

Timestamp normalize(std::int64_t sec, std::int64_t frac) {
    std::int64_t carry = frac / billion;
    std::int64_t rest = frac % billion;
    if (rest < 0) {
        rest += billion;
        --carry;
    }
    return {sec + carry, static_cast<std::uint32_t>(rest)};
}

bool pseudo_header_rewritten_by_libpcap(int dlt) {
    return dlt == DLT_PFLOG || dlt == DLT_USB_LINUX || dlt == DLT_USB_LINUX_MMAPPED || dlt == DLT_NFLOG;
}

/// The number in libpcap's "an interface has a type N different from the type of the first
/// interface", if that is the message.
std::optional<std::uint32_t> other_interface_type(const std::string& message) {
    const std::string head = "an interface has a type ";
    if (message.rfind(head, 0) != 0 || message.find("different from the type of the first interface") == std::string::npos) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(std::stoul(message.substr(head.size())));
}

bool is_pcapng(const std::vector<std::uint8_t>& bytes) {
    return bytes.size() >= 4 && bytes[0] == 0x0A && bytes[1] == 0x0D && bytes[2] == 0x0D && bytes[3] == 0x0A;
}

constexpr std::int64_t two_to_32 = std::int64_t{1} << 32;

/// The classic-pcap magic as this host reads it (libpcap's first try, before swapping).
std::uint32_t host_magic(const std::vector<std::uint8_t>& bytes) {
    std::uint32_t magic = 0;
    std::memcpy(&magic, bytes.data(), sizeof magic);
    return magic;
}

bool native_order(const std::vector<std::uint8_t>& bytes) {
    const std::uint32_t m = host_magic(bytes);
    return m == 0xa1b2c3d4 || m == 0xa1b23c4d || m == 0xa1b2cd34;
}

bool nano_magic(const std::vector<std::uint8_t>& bytes) {
    const std::uint32_t m = host_magic(bytes);
    return m == 0xa1b23c4d || m == 0x4d3cb2a1;
}

/// Compares the two readers on one file; `what` names it in failures.
void expect_same(const std::string& path, const std::vector<std::uint8_t>& bytes, const std::string& what) {
    SCOPED_TRACE(what);
    const Outcome theirs = read_with_libpcap(path);
    const Outcome ours = read_with_ours(path);
    ++counts().compared;
    ++counts().endings[static_cast<int>(theirs.ending)];

    ASSERT_EQ(ours.ending == Ending::not_opened, theirs.ending == Ending::not_opened)
        << "libpcap: " << name(theirs.ending) << " " << theirs.message << "\nours: " << name(ours.ending) << " "
        << ours.message;
    if (theirs.ending == Ending::not_opened) {
        return;
    }
    ASSERT_EQ(ours.link, theirs.link);
    ASSERT_EQ(ours.snaplen, theirs.snaplen);

    // Difference: a later pcapng interface whose LINKTYPE is not the first one's DLT but maps to
    // it (LINKTYPE_RAW 101 after DLT_RAW 12): libpcap stops there, we read on.
    std::size_t comparable = std::max(ours.packets.size(), theirs.packets.size());
    bool compare_ending = true;
    if (const auto type = other_interface_type(theirs.message); type && theirs.ending == Ending::damaged) {
        if (dlt_from_linktype(*type) == theirs.link) {
            ASSERT_NE(static_cast<int>(*type), theirs.link);
            ASSERT_GE(ours.packets.size(), theirs.packets.size());
            comparable = theirs.packets.size();
            compare_ending = false;
            ++counts().second_raw_interface;
        }
    }
    if (compare_ending) {
        ASSERT_EQ(ours.packets.size(), theirs.packets.size())
            << "libpcap: " << name(theirs.ending) << " " << theirs.message << "\nours: " << name(ours.ending) << " "
            << ours.message;
    }
    const bool pseudo = pseudo_header_rewritten_by_libpcap(theirs.link);
    for (std::size_t i = 0; i < comparable; ++i) {
        SCOPED_TRACE("packet " + std::to_string(i + 1));
        const Seen& a = ours.packets[i];
        const Seen& b = theirs.packets[i];
        // Difference: classic pcap seconds and fractions are unsigned; libpcap sign-extends them
        // in a file of the host's byte order (only there can they come out negative).
        std::int64_t sec = b.sec;
        std::int64_t frac = b.frac;
        if (!is_pcapng(bytes) && (sec < 0 || frac < 0)) {
            ASSERT_TRUE(native_order(bytes)) << "libpcap reads a swapped file's fields unsigned";
            if (sec < 0) sec += two_to_32;
            if (frac < 0) frac += nano_magic(bytes) ? two_to_32 : two_to_32 * 1000;
            ++counts().sign_extended;
        }
        // Difference: classic pcap sub-second fields out of range are carried into the seconds.
        const Timestamp expected = normalize(sec, frac);
        if (expected.sec != sec || expected.nsec != frac) {
            ASSERT_FALSE(is_pcapng(bytes)) << "libpcap's pcapng fractions are always below a second";
            ++counts().fraction_carried;
        }
        if (a.sec != expected.sec) {
            // Difference: pcapng seconds beyond +-max_seconds are clamped (libpcap wraps them).
            ASSERT_TRUE(is_pcapng(bytes)) << "ours " << a.sec << "." << a.frac << " libpcap " << b.sec << "." << b.frac;
            ASSERT_TRUE(a.sec == max_seconds || a.sec == -max_seconds) << "ours " << a.sec << " libpcap " << b.sec;
            ++counts().seconds_clamped;
        }
        EXPECT_EQ(a.frac, static_cast<std::int64_t>(expected.nsec));
        EXPECT_EQ(a.caplen, b.caplen);
        if (pseudo) {
            // Difference: pseudo-headers of PFLOG, USB Linux, NFLOG are kept as stored.
            ++counts().pseudo_header_kept;
            if (theirs.link != DLT_USB_LINUX_MMAPPED) {
                EXPECT_EQ(a.len, b.len);
            }
        } else {
            EXPECT_EQ(a.len, b.len);
            EXPECT_EQ(a.data, b.data);
        }
        if (::testing::Test::HasFailure()) return;
    }
    if (compare_ending) {
        EXPECT_EQ(name(ours.ending), name(theirs.ending))
            << "libpcap: " << theirs.message << "\nours: " << ours.message;
    }
}

// ---- the corpus

struct CorpusFile {
    std::string name;
    std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<CorpusFile> committed_captures() {
    std::vector<CorpusFile> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(LABTOOL_TESTS_DIR)) {
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) {
            files.push_back({entry.path().lexically_relative(LABTOOL_TESTS_DIR).string(), read_file(entry.path())});
        }
    }
    std::sort(files.begin(), files.end(), [](const CorpusFile& a, const CorpusFile& b) { return a.name < b.name; });
    return files;
}

std::vector<std::uint8_t> frame(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v = test::syn_frame();
    v.resize(n);
    for (std::size_t i = 54; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
    return v;
}

/// A Linux cooked (SLL) SocketCAN frame: libpcap swaps its CAN ID in a file of the other order.
std::vector<std::uint8_t> sll_can_frame() {
    std::vector<std::uint8_t> v(16 + 16, 0);
    v[14] = 0x00;
    v[15] = 0x0C;  // LINUX_SLL_P_CAN
    for (std::size_t i = 16; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i);
    return v;
}

std::vector<std::uint8_t> sll2_can_frame() {
    std::vector<std::uint8_t> v(20 + 16, 0);
    v[0] = 0x00;
    v[1] = 0x0D;  // LINUX_SLL_P_CANFD
    for (std::size_t i = 20; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i);
    return v;
}

std::vector<CorpusFile> generated_captures() {
    using test::RawRecord;
    std::vector<CorpusFile> files;
    const std::uint32_t t0 = 1700000000;
    auto rec = [](std::uint32_t sec, std::uint32_t frac, std::vector<std::uint8_t> data, std::uint32_t len = 0) {
        const auto caplen = static_cast<std::uint32_t>(data.size());
        return RawRecord{sec, frac, caplen, len != 0 ? len : caplen, std::move(data)};
    };
    for (const Endian e : {Endian::little, Endian::big}) {
        const std::string en = e == Endian::little ? "le" : "be";
        const std::vector<RawRecord> three = {rec(t0, 1, frame(54, 1)), rec(t0 + 1, 999999, frame(300, 2), 1500),
                                              rec(t0 + 2, 0, frame(60, 3))};
        files.push_back({en + "_micro", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 65535, 1, three)});
        files.push_back({en + "_nano", test::classic_pcap_raw(e, test::pcap_magic_nano, 2, 4, 262144, 1, three)});
        files.push_back({en + "_kuznetzov", test::classic_pcap_raw(e, 0xa1b2cd34, 2, 4, 1500, 1, three, 8)});
        // Version 2.2: caplen and len stored the other way round; 2.3: either way.
        std::vector<RawRecord> swapped = three;
        for (RawRecord& r : swapped) std::swap(r.caplen, r.len);
        files.push_back({en + "_v22", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 2, 65535, 1, swapped)});
        std::vector<RawRecord> mixed = three;
        std::swap(mixed[1].caplen, mixed[1].len);
        files.push_back({en + "_v23", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 3, 65535, 1, mixed)});
        // snaplen 0 (means the maximum), a record above the snaplen (cut to it), FCS bits.
        files.push_back({en + "_snap0_raw", test::classic_pcap_raw(e, test::pcap_magic_nano, 2, 4, 0, 101, three)});
        files.push_back({en + "_over_snaplen", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 100, 0x14000001, three)});
        files.push_back({en + "_sll_can", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 65535, 113,
                                                                 {rec(t0, 5, sll_can_frame())})});
        files.push_back({en + "_sll2_can", test::classic_pcap_raw(e, test::pcap_magic_nano, 2, 4, 65535, 276,
                                                                  {rec(t0, 5, sll2_can_frame())})});
        // Link types whose pseudo-headers libpcap rewrites (not decoded by labtool): PFLOG, USB.
        files.push_back({en + "_pflog", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 65535, 117,
                                                               {rec(t0, 5, std::vector<std::uint8_t>(80, 0x30))})});
        files.push_back({en + "_usb_mmapped", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 65535, 220,
                                                                     {rec(t0, 5, std::vector<std::uint8_t>(64, 0))}, 0)});
        // Fractions out of range (a damaged writer): libpcap passes them on, we carry them.
        files.push_back({en + "_bad_fraction", test::classic_pcap_raw(e, test::pcap_magic_micro, 2, 4, 65535, 1,
                                                                      {rec(t0, 2500000, frame(54, 4)),
                                                                       rec(0x80000000U, 0xFFFFFFFFU, frame(54, 5))})});

        // pcapng: resolutions, offsets, old and simple packet blocks, sections, options.
        for (const std::uint8_t res : {std::uint8_t{6}, std::uint8_t{9}, std::uint8_t{0}, std::uint8_t{3},
                                       std::uint8_t{12}, std::uint8_t{19}, std::uint8_t{0x80 | 10},
                                       std::uint8_t{0x80 | 30}, std::uint8_t{0x80 | 40}, std::uint8_t{0x80 | 63}}) {
            NgFile f(e);
            f.shb(test::concat({test::ng_comment(e, "section"), test::ng_end(e)}))
                .idb(1, 65535, test::concat({test::ng_tsresol(e, res), test::ng_end(e)}))
                .epb(0, 0x0123456789ABCDEFULL, frame(54, 6))
                .epb(0, 1700000000ULL * 1000000ULL, frame(99, 7), 1500,
                     test::concat({test::ng_comment(e, "a packet comment"), test::ng_end(e)}))
                .epb(0, ~std::uint64_t{0}, frame(54, 8));
            files.push_back({en + "_ng_tsresol_" + std::to_string(res), f.bytes()});
        }
        {
            NgFile f(e);
            f.shb().idb(1, 0, test::concat({test::ng_tsoffset(e, 1000), test::ng_end(e)}))
                .idb(1, 0, test::concat({test::ng_tsoffset(e, -2000), test::ng_tsresol(e, 9), test::ng_end(e)}))
                .epb(0, 5500000, frame(54, 9))
                .epb(1, 7, frame(54, 10))
                .pb(1, 123456789, frame(70, 11))
                .spb(1000, frame(64, 12))
                .block(0x00000005, std::vector<std::uint8_t>(28, 0))   // interface statistics
                .block(0x00000BAD, std::vector<std::uint8_t>(8, 0xEE)) // custom
                .shb({}, 1, 2)
                .idb(1, 0)
                .epb(0, 42, frame(54, 13))
                .epb(0, ~std::uint64_t{0} - 5, frame(54, 14));
            files.push_back({en + "_ng_sections_offsets", f.bytes()});
        }
        {
            NgFile f(e);  // snaplen 64: SPB cut to it
            f.shb().idb(113, 64).spb(200, frame(64, 15)).epb(0, 1, frame(64, 16), 2000);
            files.push_back({en + "_ng_spb_snaplen", f.bytes()});
        }
        {
            NgFile f(e);  // an SLL CAN frame: the CAN ID is swapped in a file of the other order
            f.shb().idb(113, 262144).epb(0, 1, sll_can_frame());
            files.push_back({en + "_ng_sll_can", f.bytes()});
        }
        {
            NgFile f(e);  // two link types: libpcap and we both stop at the second interface
            f.shb().idb(1, 262144).epb(0, 1, frame(54, 17)).idb(0, 262144).epb(1, 2, frame(54, 18));
            files.push_back({en + "_ng_two_link_types", f.bytes()});
        }
        {
            NgFile f(e);  // a second raw-IP interface: the documented difference
            f.shb().idb(101, 262144).epb(0, 1, frame(40, 19)).idb(101, 262144).epb(1, 2, frame(40, 20));
            files.push_back({en + "_ng_two_raw_interfaces", f.bytes()});
        }
        {
            NgFile f(e);  // tsoffset near the limits: seconds clamped where libpcap wraps
            f.shb()
                .idb(1, 262144, test::concat({test::ng_tsoffset(e, INT64_MAX), test::ng_end(e)}))
                .epb(0, 0, frame(54, 21))
                .shb()
                .idb(1, 262144, test::concat({test::ng_tsoffset(e, INT64_MIN), test::ng_tsresol(e, 0), test::ng_end(e)}))
                .epb(0, 5, frame(54, 22))
                .epb(0, ~std::uint64_t{0}, frame(54, 23));
            files.push_back({en + "_ng_extreme_offsets", f.bytes()});
        }
    }
    return files;
}

// ---- cuts and mutants

std::vector<std::size_t> cut_lengths(std::size_t size) {
    std::set<std::size_t> cuts;
    for (std::size_t n = 0; n <= std::min(size, every_cut_below); ++n) cuts.insert(n);
    for (std::size_t i = 0; i <= evenly_spaced_cuts; ++i) cuts.insert(size * i / evenly_spaced_cuts);
    cuts.erase(size);  // the whole file is compared on its own
    return {cuts.begin(), cuts.end()};
}

/// Offsets of the fields that steer a reader: file and record headers (pcap), block headers,
/// fixed parts, options and trailers (pcapng). Mutants aim there more often than at payload.
std::vector<std::size_t> structural_offsets(const std::vector<std::uint8_t>& f) {
    std::vector<std::size_t> at;
    auto span = [&](std::size_t from, std::size_t n) {
        for (std::size_t i = from; i < std::min(f.size(), from + n); ++i) at.push_back(i);
    };
    auto u32 = [&](std::size_t p, bool big) {
        return big ? (std::uint32_t{f[p]} << 24 | std::uint32_t{f[p + 1]} << 16 | std::uint32_t{f[p + 2]} << 8 | f[p + 3])
                   : (std::uint32_t{f[p + 3]} << 24 | std::uint32_t{f[p + 2]} << 16 | std::uint32_t{f[p + 1]} << 8 | f[p]);
    };
    if (f.size() < 24) {
        span(0, f.size());
        return at;
    }
    if (is_pcapng(f)) {
        const bool big = f[8] == 0x1A;
        std::size_t p = 0;
        while (p + 12 <= f.size()) {
            const std::uint32_t total = u32(p + 4, big);
            span(p, 40);
            if (total < 12 || p + total > f.size()) break;
            span(p + total - 4, 4);
            p += total;
        }
        return at;
    }
    const bool big = f[0] == 0xA1;
    const std::size_t header = (u32(0, big) == 0xa1b2cd34) ? 24 : 16;
    span(0, 24);
    std::size_t p = 24;
    while (p + header <= f.size()) {
        span(p, header);
        p += header + u32(p + 8, big);
    }
    return at;
}

/// splitmix64: small, fast and the same everywhere, so every mutant is reproducible by number.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

std::vector<std::uint8_t> mutant(const std::vector<std::uint8_t>& original, const std::vector<std::size_t>& hot,
                                 std::uint64_t seed) {
    std::vector<std::uint8_t> m = original;
    if (m.empty()) return m;
    std::uint64_t state = mix(seed);
    auto next = [&] { return state = mix(state); };
    const std::size_t flips = 1 + next() % 3;
    for (std::size_t i = 0; i < flips; ++i) {
        const std::size_t at = (!hot.empty() && next() % 10 < 7) ? hot[next() % hot.size()] : next() % m.size();
        switch (next() % 4) {
            case 0:
            case 1: m[at] ^= static_cast<std::uint8_t>(1 + next() % 255); break;
            case 2: {
                static constexpr std::uint8_t edges[] = {0x00, 0xFF, 0x80, 0x7F};
                m[at] = edges[next() % 4];
                break;
            }
            default: m[at] = static_cast<std::uint8_t>(m[at] + ((next() & 1) != 0 ? 1 : -1)); break;
        }
    }
    return m;
}

std::size_t mutants_per_file() {
    const char* text = std::getenv("LABTOOL_DIFF_MUTANTS");
    return text != nullptr && *text != '\0' ? static_cast<std::size_t>(std::stoul(text)) : default_mutants_per_file;
}

/// Writes `bytes` as a new file at `path` (removed first: rewriting a file in place makes ext4
/// flush it on close, tens of thousands of times here) and compares the readers on it.
void compare_variant(const ScratchDir& dir, const std::vector<std::uint8_t>& bytes, const std::string& what) {
    const std::string path = dir.file("variant.cap");
    std::error_code ec;
    std::filesystem::remove(path, ec);
    dir.write("variant.cap", bytes);
    expect_same(path, bytes, what);
}

void run_differential(const std::vector<CorpusFile>& corpus, std::uint64_t seed_base) {
    ScratchDir dir;
    for (std::size_t k = 0; k < corpus.size(); ++k) {
        const CorpusFile& file = corpus[k];
        SCOPED_TRACE(file.name);
        compare_variant(dir, file.bytes, "whole file");
        for (const std::size_t n : cut_lengths(file.bytes.size())) {
            const std::vector<std::uint8_t> cut(file.bytes.begin(), file.bytes.begin() + static_cast<std::ptrdiff_t>(n));
            compare_variant(dir, cut, "cut to " + std::to_string(n) + " bytes");
            if (::testing::Test::HasFatalFailure()) return;
        }
        const std::vector<std::size_t> hot = structural_offsets(file.bytes);
        for (std::size_t i = 0, n = mutants_per_file(); i < n; ++i) {
            compare_variant(dir, mutant(file.bytes, hot, seed_base + k * 1'000'000 + i), "mutant " + std::to_string(i));
            if (::testing::Test::HasFatalFailure()) return;
        }
    }
}

TEST(FileReaderVsLibpcap, CommittedCaptures) {
    const std::vector<CorpusFile> corpus = committed_captures();
    ASSERT_FALSE(corpus.empty()) << "no .pcap/.pcapng under " << LABTOOL_TESTS_DIR;
    for (const CorpusFile& f : corpus) std::cout << "[ INFO     ] committed capture: " << f.name << "\n";
    run_differential(corpus, 1);
}

TEST(FileReaderVsLibpcap, GeneratedCaptures) {
    counts() = DifferenceCounts{};
    run_differential(generated_captures(), 1'000'000'000);
    // The corpus meets every documented difference, so none of them is an untested claim.
    const DifferenceCounts& c = counts();
    std::cout << "[ INFO     ] files compared: " << c.compared << "; sign-extended by libpcap: " << c.sign_extended
              << "; fractions carried: " << c.fraction_carried
              << "; seconds clamped: " << c.seconds_clamped << "; second raw-IP interface: " << c.second_raw_interface
              << "; packets with pseudo-headers kept: " << c.pseudo_header_kept << "\n"
              << "[ INFO     ] libpcap's verdicts: end " << c.endings[0] << ", truncated " << c.endings[1]
              << ", damaged " << c.endings[2] << ", not opened " << c.endings[3] << "\n";
    EXPECT_GT(c.sign_extended, 0U);
    EXPECT_GT(c.fraction_carried, 0U);
    EXPECT_GT(c.seconds_clamped, 0U);
    EXPECT_GT(c.second_raw_interface, 0U);
    EXPECT_GT(c.pseudo_header_kept, 0U);
}

// ---- Recorder: libpcap's own bytes, read back by both readers

std::vector<std::uint8_t> file_bytes(const std::string& path) { return read_file(path); }

TEST(RecorderVsLibpcap, WritesWhatPcapDumpWrites) {
    ScratchDir dir;
    for (const int link : {DLT_EN10MB, DLT_NULL, DLT_RAW, DLT_LOOP, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_IPV4}) {
        for (const int snaplen : {65535, 262144, 100}) {
            SCOPED_TRACE("link " + std::to_string(link) + " snaplen " + std::to_string(snaplen));
            const std::string ours = dir.file("ours.pcap");
            const std::string theirs = dir.file("theirs.pcap");
            std::vector<std::vector<std::uint8_t>> frames;
            for (std::size_t i = 0; i < 50; ++i) frames.push_back(frame(54 + i * 37, static_cast<std::uint8_t>(i)));
            {
                Recorder recorder(ours, link, snaplen);
                pcap_t* dead = pcap_open_dead_with_tstamp_precision(link, snaplen, PCAP_TSTAMP_PRECISION_NANO);
                ASSERT_NE(dead, nullptr);
                pcap_dumper_t* dumper = pcap_dump_open(dead, theirs.c_str());
                ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
                for (std::size_t i = 0; i < frames.size(); ++i) {
                    Packet p;
                    p.ts = Timestamp{1700000000 + static_cast<std::int64_t>(i), static_cast<std::uint32_t>(i * 12345679U % 1000000000U)};
                    p.caplen = static_cast<std::uint32_t>(std::min<std::size_t>(frames[i].size(), static_cast<std::size_t>(snaplen)));
                    p.len = static_cast<std::uint32_t>(frames[i].size() + (i % 3 == 0 ? 100 : 0));
                    p.data = std::span<const std::uint8_t>(frames[i].data(), p.caplen);
                    recorder.write(p);
                    pcap_pkthdr h{};
                    h.ts.tv_sec = static_cast<time_t>(p.ts.sec);
                    h.ts.tv_usec = static_cast<suseconds_t>(p.ts.nsec);
                    h.caplen = p.caplen;
                    h.len = p.len;
                    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, p.data.data());
                }
                pcap_dump_close(dumper);
                pcap_close(dead);
            }
            EXPECT_EQ(file_bytes(ours), file_bytes(theirs));
            expect_same(ours, file_bytes(ours), "Recorder output");
            FileReader reader(ours);
            EXPECT_EQ(reader.link_type(), link);
            EXPECT_EQ(test::read_all(reader).packets.size(), frames.size());
        }
    }
}

TEST(RecorderVsLibpcap, Utf8FileNameRoundTrip) {
    ScratchDir dir;
    const std::string path = dir.file("实验.pcap");
    const std::vector<std::uint8_t> f = frame(60, 1);
    {
        Recorder recorder(path, DLT_EN10MB, 65535);
        Packet p;
        p.ts = Timestamp{1700000000, 5};
        p.caplen = p.len = static_cast<std::uint32_t>(f.size());
        p.data = f;
        recorder.write(p);
    }
    expect_same(path, file_bytes(path), "UTF-8 name");
    FileReader reader(path);
    const test::ReadResult result = test::read_all(reader);
    ASSERT_EQ(result.packets.size(), 1U);
    EXPECT_EQ(result.packets[0].data, f);
}

TEST(PcapngWriterVsLibpcap, BothReadersAgree) {
    ScratchDir dir;
    const std::string path = dir.file("w.pcapng");
    {
        PcapngWriter writer(path, DLT_RAW, 0, "lo", "section", "labtool test");
        for (std::uint32_t i = 0; i < 20; ++i) {
            const std::vector<std::uint8_t> f = frame(40 + i, static_cast<std::uint8_t>(i));
            Packet p;
            p.ts = Timestamp{1700000000 + i, i * 49999999U};
            p.caplen = p.len = static_cast<std::uint32_t>(f.size());
            p.data = f;
            writer.write(p, i % 2 == 0 ? "comment " + std::to_string(i) : std::string());
        }
    }
    const std::vector<std::uint8_t> bytes = file_bytes(path);
    run_differential({{"PcapngWriter output", bytes}}, 7'000'000'000);
}

}  // namespace
}  // namespace labtool::capture
