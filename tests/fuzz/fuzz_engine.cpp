// libFuzzer target for the analysis engine: the input is cut into frames (2-byte length, then
// bytes) under a link type chosen by the first byte; every decoder, the connection table, the
// sequence analysis, reassembly and HTTP parsing must take anything without crashing.
#include "labtool/analysis/engine.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace labtool::analysis;
    if (size < 1) return 0;
    static constexpr LinkType links[] = {LinkType::ethernet, LinkType::null, LinkType::loop, LinkType::raw,
                                         LinkType::linux_sll, LinkType::linux_sll2, LinkType::ipv4, LinkType::ipv6};
    const LinkType link = links[data[0] % 8];
    EngineOptions o;
    o.emit_packets = (data[0] & 0x80) != 0;
    o.reassembly_cap_bytes = 4096;
    o.max_connections = 8;
    Engine engine(o);
    std::size_t events = 0;
    auto sink = [&](const Event&) { ++events; };
    std::size_t at = 1;
    std::uint32_t second = 0;
    while (at + 2 <= size) {
        const std::size_t len = static_cast<std::size_t>(data[at] | (data[at + 1] << 8)) % 2048;
        at += 2;
        const std::size_t n = len < size - at ? len : size - at;
        Frame f{link, {second++, 0}, static_cast<std::uint32_t>(n + (len - n)), {data + at, n}};
        engine.process(f, sink);
        at += n;
    }
    engine.finish(sink);
    return 0;
}
