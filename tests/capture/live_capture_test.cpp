// LiveCapture on the real loopback interface: a TCP connection to a listener of our own must
// show up (handshake first, teardown read by drain()) with no drops. Needs root or CAP_NET_RAW:
// skips without it, unless LABTOOL_REQUIRE_LIVE=1 turns the skip into a failure (CI).
#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/live_capture.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace labtool::capture {
namespace {

constexpr int dlt_en10mb = 1;
constexpr std::size_t ethernet_header_bytes = 14;
constexpr std::uint8_t tcp_flag_fin = 0x01;
constexpr std::uint8_t tcp_flag_syn = 0x02;
constexpr std::uint8_t tcp_flag_ack = 0x10;
constexpr auto poll_budget = std::chrono::seconds(3);

bool live_required() {
    const char* value = std::getenv("LABTOOL_REQUIRE_LIVE");
    return value != nullptr && std::string(value) == "1";
}

// Opens a capture; on permission_denied returns null and sets `skip` (or fails when required).
std::unique_ptr<LiveCapture> open_live(const LiveOptions& options, std::string& skip) {
    try {
        return std::make_unique<LiveCapture>(options);
    } catch (const CaptureError& e) {
        if (e.kind() != CaptureErrorKind::permission_denied) {
            throw;
        }
        if (live_required()) {
            ADD_FAILURE() << "LABTOOL_REQUIRE_LIVE=1 but: " << e.what();
        } else {
            skip = "no permission to capture (run as root or with CAP_NET_RAW)";
        }
        return nullptr;
    }
}

#define OPEN_LIVE_OR_SKIP(var, options)                      \
    std::string skip_reason_;                                \
    auto var = open_live((options), skip_reason_);           \
    if (!var) {                                              \
        if (!skip_reason_.empty()) {                         \
            GTEST_SKIP() << skip_reason_;                    \
        }                                                    \
        return;                                              \
    }

/// A socket closed on scope exit.
class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {
        if (fd_ < 0) {
            throw std::runtime_error("socket() failed");
        }
    }
    ~Socket() { close(); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    [[nodiscard]] int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

// The TCP flags byte of an Ethernet/IPv4/TCP frame, or -1 if the frame is not that.
int tcp_flags(const Packet& p) {
    const auto d = p.data;
    if (d.size() < ethernet_header_bytes + 20 || d[12] != 0x08 || d[13] != 0x00) {
        return -1;
    }
    const std::size_t ihl = static_cast<std::size_t>(d[ethernet_header_bytes] & 0x0f) * 4;
    const std::size_t flags_at = ethernet_header_bytes + ihl + 13;
    if (d[ethernet_header_bytes + 9] != 6 || d.size() <= flags_at) {
        return -1;
    }
    return d[flags_at];
}

struct Seen {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;
    std::uint32_t caplen = 0;
    std::uint32_t len = 0;
    int flags = -1;
};

TEST(LiveCapture, DefaultLoopbackInterfaceIsFound) {
    const std::string name = default_loopback_interface();
    EXPECT_FALSE(name.empty());
#if defined(__linux__)
    EXPECT_EQ(name, "lo");
#endif
}

TEST(LiveCapture, SeesAConnectionToOurListener) {
    Socket listener(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in addr = loopback(0);
    ASSERT_EQ(::bind(listener.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.fd(), 4), 0);
    socklen_t addr_len = sizeof addr;
    ASSERT_EQ(::getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&addr), &addr_len), 0);
    const std::uint16_t port = ntohs(addr.sin_port);

    LiveOptions options;
    options.interface = default_loopback_interface();
    options.filter = "tcp port " + std::to_string(port);
    OPEN_LIVE_OR_SKIP(capture, options);
    EXPECT_EQ(capture->interface(), options.interface);
#if defined(__linux__)
    EXPECT_EQ(capture->link_type(), dlt_en10mb);
#endif
    EXPECT_EQ(capture->snaplen(), options.snaplen);

    const auto wall_before = std::time(nullptr);
    {
        Socket client(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in target = loopback(port);
        ASSERT_EQ(::connect(client.fd(), reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
        Socket server(::accept(listener.fd(), nullptr, nullptr));
        const char message[] = "hello";
        ASSERT_EQ(::send(client.fd(), message, sizeof message - 1, 0),
                  static_cast<ssize_t>(sizeof message - 1));
        char buffer[16] = {};
        ASSERT_EQ(::recv(server.fd(), buffer, sizeof buffer, 0),
                  static_cast<ssize_t>(sizeof message - 1));
        client.close();
        server.close();
    }

    std::vector<Seen> seen;
    const LiveCapture::Handler handler = [&seen](const Packet& p) {
        seen.push_back({p.ts.sec, p.ts.nsec, p.caplen, p.len, tcp_flags(p)});
    };
    const auto deadline = std::chrono::steady_clock::now() + poll_budget;
    while (seen.size() < 3 && std::chrono::steady_clock::now() < deadline) {
        capture->poll(handler, std::chrono::milliseconds(100));
    }
    const std::size_t before_drain = seen.size();
    const int drained = capture->drain(handler);
    EXPECT_EQ(seen.size(), before_drain + static_cast<std::size_t>(drained));

    ASSERT_GE(seen.size(), 3U) << "handshake not captured";
    EXPECT_EQ(seen[0].flags, tcp_flag_syn) << "first packet is not the SYN";
    EXPECT_EQ(seen[1].flags, tcp_flag_syn | tcp_flag_ack);
    EXPECT_EQ(seen[2].flags & (tcp_flag_syn | tcp_flag_ack), tcp_flag_ack);
    int fins = 0;
    for (const Seen& s : seen) {
        EXPECT_LT(s.nsec, 1000000000U);
        EXPECT_GE(s.sec, static_cast<std::int64_t>(wall_before) - 60);
        EXPECT_LE(s.sec, static_cast<std::int64_t>(std::time(nullptr)) + 60);
        EXPECT_EQ(s.caplen, s.len);
        if (s.flags >= 0 && (s.flags & tcp_flag_fin) != 0) {
            ++fins;
        }
    }
    EXPECT_EQ(fins, 2) << "drain() should have read both FINs of the teardown";

    const CaptureStats stats = capture->stats();
    EXPECT_EQ(stats.received, seen.size());
    EXPECT_EQ(stats.dropped, 0U);
}

#if defined(__linux__)
// Bytes of this process's memory mapped from sockets: the capture rings (nothing else here maps
// a socket), as /proc/self/maps lists them ("socket:[inode]").
std::uint64_t socket_mapped_bytes() {
    std::ifstream maps("/proc/self/maps");
    std::uint64_t total = 0;
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("socket:[") == std::string::npos) continue;
        const auto dash = line.find('-');
        const auto space = line.find(' ');
        total += std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16) -
                 std::stoull(line.substr(0, dash), nullptr, 16);
    }
    return total;
}

// The kernel ring is the buffer asked for, not twice it: with the default snaplen every slot takes
// a 128 KiB block (a whole loopback packet is just over 64 KiB), which libpcap's request ignores.
TEST(LiveCapture, TheRingIsTheBufferAskedFor) {
    constexpr int mib = 1024 * 1024;
    struct Case {
        int snaplen;
        int buffer;
        int batch_ms;
    };
    for (const Case c : {Case{65600, 16 * mib, 0}, Case{262144, 8 * mib, 0}, Case{1000, 8 * mib, 0},
                         Case{65600, 16 * mib, 10}}) {
        SCOPED_TRACE("snaplen " + std::to_string(c.snaplen) + ", buffer " + std::to_string(c.buffer) +
                     ", batch_ms " + std::to_string(c.batch_ms));
        const std::uint64_t before = socket_mapped_bytes();
        LiveOptions options;
        options.filter = "tcp port 9 and host 127.0.0.254";
        options.snaplen = c.snaplen;
        options.buffer_bytes = c.buffer;
        options.batch_ms = c.batch_ms;
        OPEN_LIVE_OR_SKIP(capture, options);
        const std::uint64_t ring = socket_mapped_bytes() - before;
        EXPECT_LE(ring, static_cast<std::uint64_t>(c.buffer)) << "ring of " << ring << " bytes";
        EXPECT_GE(ring, static_cast<std::uint64_t>(c.buffer) - 256 * 1024) << "ring of " << ring << " bytes";
    }
}
#endif

TEST(LiveCapture, PollTimesOutWithNothingToRead) {
    LiveOptions options;
    options.filter = "tcp port 9 and host 127.0.0.254";  // nothing will match
    OPEN_LIVE_OR_SKIP(capture, options);
    int calls = 0;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(capture->poll([&calls](const Packet&) { ++calls; }, std::chrono::milliseconds(50)),
              0);
    EXPECT_EQ(calls, 0);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
    EXPECT_EQ(capture->drain([&calls](const Packet&) { ++calls; }), 0);
}

TEST(LiveCapture, HandlerExceptionReachesTheCaller) {
    Socket listener(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in addr = loopback(0);
    ASSERT_EQ(::bind(listener.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.fd(), 4), 0);
    socklen_t addr_len = sizeof addr;
    ASSERT_EQ(::getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&addr), &addr_len), 0);
    const std::uint16_t port = ntohs(addr.sin_port);

    LiveOptions options;
    options.filter = "tcp port " + std::to_string(port);
    OPEN_LIVE_OR_SKIP(capture, options);
    {
        Socket client(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in target = loopback(port);
        ASSERT_EQ(::connect(client.fd(), reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
    }
    int calls = 0;
    const LiveCapture::Handler throwing = [&calls](const Packet&) {
        ++calls;
        throw std::runtime_error("handler failed");
    };
    EXPECT_THROW(
        {
            const auto deadline = std::chrono::steady_clock::now() + poll_budget;
            while (std::chrono::steady_clock::now() < deadline) {
                capture->poll(throwing, std::chrono::milliseconds(100));
            }
        },
        std::runtime_error);
    EXPECT_EQ(calls, 1);  // the loop stopped at the packet that threw
    // The capture is still usable: the remaining packets are read normally.
    int rest = 0;
    capture->drain([&rest](const Packet&) { ++rest; });
    EXPECT_GE(rest, 1);
}

TEST(LiveCapture, BadFilterIsReported) {
    LiveOptions options;
    options.filter = "tcp port banana";
    try {
        std::string skip;
        auto capture = open_live(options, skip);
        if (!capture) {
            if (!skip.empty()) {
                GTEST_SKIP() << skip;
            }
            return;
        }
        ADD_FAILURE() << "accepted filter " << options.filter;
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::other) << e.what();
        EXPECT_NE(std::string(e.what()).find("banana"), std::string::npos) << e.what();
    }
}

TEST(LiveCapture, UnknownInterfaceListsTheAvailableOnes) {
    LiveOptions options;
    options.interface = "labtool-no-such-if0";
    try {
        std::string skip;
        auto capture = open_live(options, skip);
        if (!capture) {
            if (!skip.empty()) {
                GTEST_SKIP() << skip;
            }
            return;
        }
        ADD_FAILURE() << "opened " << options.interface;
    } catch (const CaptureError& e) {
        EXPECT_EQ(e.kind(), CaptureErrorKind::no_such_device) << e.what();
        EXPECT_NE(std::string(e.what()).find(default_loopback_interface()), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace labtool::capture
