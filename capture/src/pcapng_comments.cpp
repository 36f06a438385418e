// pcapng comments (RFC draft-ietf-opsawg-pcapng §4: opt_comment = 1 in any block's options).
// Every length is checked against the block and the file; a damaged block ends the walk.
#include "labtool/capture/pcapng_comments.hpp"
#include "pcapng_format.hpp"

#include "labtool/platform/files.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace labtool::capture {
namespace {

using namespace pcapng;
constexpr std::size_t max_file_bytes = 64u * 1024 * 1024;   // comments are read from the first 64 MiB

struct Reader {
    const std::vector<unsigned char>& d;
    bool big = false;
    [[nodiscard]] std::uint32_t u32(std::size_t at) const {
        const std::uint32_t a = d[at], b = d[at + 1], c = d[at + 2], e = d[at + 3];
        return big ? (a << 24 | b << 16 | c << 8 | e) : (e << 24 | c << 16 | b << 8 | a);
    }
    [[nodiscard]] std::uint16_t u16(std::size_t at) const {
        const std::uint16_t a = d[at], b = d[at + 1];
        return static_cast<std::uint16_t>(big ? (a << 8 | b) : (b << 8 | a));
    }
};

std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

/// Appends every opt_comment in [begin, end) to `out`.
void read_options(const Reader& r, std::size_t begin, std::size_t end, std::vector<std::string>& out) {
    std::size_t at = begin;
    while (at + 4 <= end) {
        const std::uint16_t code = r.u16(at);
        const std::uint16_t len = r.u16(at + 2);
        if (code == opt_endofopt) break;
        if (at + 4 + len > end) break;
        if (code == opt_comment) out.emplace_back(reinterpret_cast<const char*>(&r.d[at + 4]), len);
        at += 4 + pad4(len);
    }
}

}  // namespace

PcapngComments read_pcapng_comments(const std::string& path) {
    PcapngComments result;
    // Through a std::filesystem::path: a UTF-8 name opens on Windows too (not the ANSI code page).
    std::ifstream in(platform::from_utf8(path), std::ios::binary);
    if (!in) return result;
    // Only pcapng files are read further, and no more of them than they hold.
    unsigned char head[4] = {};
    in.read(reinterpret_cast<char*>(head), 4);
    if (in.gcount() != 4 || head[0] != 0x0A || head[1] != 0x0D || head[2] != 0x0D || head[3] != 0x0A) return result;
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
    in.seekg(0);
    std::vector<unsigned char> d(std::min(size, max_file_bytes));
    in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(d.size()));
    d.resize(static_cast<std::size_t>(in.gcount()));
    if (d.size() < 12) return result;
    Reader r{d};
    if (r.u32(0) != block_shb) return result;   // not pcapng (the SHB type is a palindrome)
    std::uint64_t packet = 0;
    std::size_t at = 0;
    while (at + 12 <= d.size()) {
        const std::uint32_t type = r.u32(at);
        if (type == block_shb) {
            const std::uint32_t magic = (std::uint32_t{d[at + 8]} << 24) | (std::uint32_t{d[at + 9]} << 16) |
                                        (std::uint32_t{d[at + 10]} << 8) | d[at + 11];
            if (magic == byte_order_magic) r.big = true;
            else if (magic == 0x4D3C2B1A) r.big = false;
            else break;
        }
        const std::uint32_t len = r.u32(at + 4);
        if (len < 12 || len % 4 != 0 || at + len > d.size()) break;
        const std::size_t body = at + 8;
        const std::size_t end = at + len - 4;
        std::vector<std::string> comments;
        switch (type) {
            case block_shb:
                if (body + 16 <= end) read_options(r, body + 16, end, result.file);
                break;
            case block_idb:
                break;
            case block_epb:
            case block_pb:   // both: 20 bytes of fields, caplen at +12, the data, then options
                ++packet;
                if (body + 20 <= end) {
                    const std::uint32_t caplen = r.u32(body + 12);
                    const std::size_t opts = body + 20 + pad4(caplen);
                    if (opts <= end) read_options(r, opts, end, comments);
                }
                break;
            case block_spb:
                ++packet;
                break;
            default:
                break;
        }
        if (!comments.empty()) {
            std::string joined;
            for (const auto& c : comments) joined += (joined.empty() ? "" : "; ") + c;
            result.packets[packet] = joined;
        }
        at += len;
    }
    return result;
}

}  // namespace labtool::capture
