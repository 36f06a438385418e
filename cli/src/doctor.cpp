// `labtool doctor`: checks what capturing needs on this machine and says how to fix each problem.
#include "frame_adapter.hpp"
#include "sessions.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/live_capture.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

namespace labtool::cli {
namespace {

struct Report {
    int problems = 0;
    void ok(const std::string& what) { std::cout << "  ✓ " << what << '\n'; }
    void bad(const std::string& what, const std::string& fix) {
        ++problems;
        std::cout << "  ✗ " << what << "\n      fix: " << fix << '\n';
    }
    void note(const std::string& what) { std::cout << "  · " << what << '\n'; }
};

/// CAP_NET_RAW (bit 13) in the effective capability set, from /proc/self/status.
bool has_cap_net_raw() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        const unsigned long long caps = std::strtoull(line.substr(7).c_str(), nullptr, 16);
        return (caps >> 13) & 1u;
    }
    return false;
}

/// Binds and closes a listening socket; the errno on failure, 0 on success.
int try_bind(int family, std::uint16_t port) {
    const int fd = ::socket(family, SOCK_STREAM, 0);
    if (fd < 0) return errno;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_loopback;
        int v6only = 1;
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    const int err = rc == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

}  // namespace

int run_doctor(std::uint16_t port) {
    Report r;
    std::cout << "labtool doctor: what capturing needs on this machine\n\n";

    // 1. The loopback device.
    std::string device;
    try {
        device = capture::default_loopback_interface();
        r.ok("loopback device: " + device);
    } catch (const capture::CaptureError& e) {
        r.bad(std::string("no loopback device found (") + e.what() + ")",
              "on Windows install Npcap with \"Support loopback traffic capture\"; elsewhere check `ip link` / `ifconfig`");
    }

    // 2. Permission to capture (and the link type it gives).
    const bool root = ::geteuid() == 0;
    r.note(std::string("running as ") + (root ? "root" : "user " + std::to_string(::geteuid())) +
           (has_cap_net_raw() ? ", with CAP_NET_RAW" : ", without CAP_NET_RAW"));
    if (!device.empty()) {
        try {
            capture::LiveOptions o;
            o.interface = device;
            o.filter = "tcp port " + std::to_string(port);
            o.buffer_bytes = 1 << 20;
            capture::LiveCapture cap(o);
            r.ok("capture on " + device + " works; link type " + link_type_description(cap.link_type()) +
                 (link_type_for(cap.link_type()) ? "" : " (labtool cannot decode it!)"));
        } catch (const capture::CaptureError& e) {
            if (e.kind() == capture::CaptureErrorKind::permission_denied)
                r.bad("no permission to capture on " + device,
                      "run with sudo, or once: sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v labtool)\" "
                      "(macOS: install Wireshark's ChmodBPF; Windows: Npcap with loopback support)");
            else
                r.bad(std::string("cannot capture on ") + device + ": " + e.what(), "see the message above");
        }
    }

    // 3. What `localhost` means to a browser.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo("localhost", nullptr, &hints, &res) == 0 && res != nullptr) {
        char buf[INET6_ADDRSTRLEN] = {};
        const addrinfo* first = res;
        const void* addr = first->ai_family == AF_INET6
                               ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(first->ai_addr)->sin6_addr)
                               : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(first->ai_addr)->sin_addr);
        ::inet_ntop(first->ai_family, addr, buf, sizeof buf);
        r.ok(std::string("localhost resolves first to ") + buf +
             (first->ai_family == AF_INET6 ? " (a browser may talk IPv6; labtool listens on ::1 too and captures both)" : ""));
        ::freeaddrinfo(res);
    } else {
        r.bad("localhost does not resolve", "add \"127.0.0.1 localhost\" and \"::1 localhost\" to /etc/hosts");
    }

    // 4. The port.
    const int v4 = try_bind(AF_INET, port);
    if (v4 == 0) r.ok("port " + std::to_string(port) + " is free on 127.0.0.1");
    else r.bad("port " + std::to_string(port) + " on 127.0.0.1: " + std::strerror(v4),
               v4 == EADDRINUSE ? "stop the program using it (ss -ltnp 'sport = :" + std::to_string(port) +
                                      "'), or use another port with --port"
                                : "use a port above 1023 with --port");
    const int v6 = try_bind(AF_INET6, port);
    if (v6 == 0) r.ok("port " + std::to_string(port) + " is free on ::1");
    else if (v6 == EADDRNOTAVAIL || v6 == EAFNOSUPPORT) r.note("no IPv6 loopback (::1): labtool serves 127.0.0.1 only");
    else r.bad("port " + std::to_string(port) + " on ::1: " + std::strerror(v6), "use another port with --port");

    // 5. Optional tools.
    if (std::system("command -v tshark > /dev/null 2>&1") == 0) r.ok("tshark is installed (to cross-check a recording)");
    else r.note("tshark is not installed (optional: sudo apt-get install tshark)");

    std::cout << '\n' << (r.problems == 0 ? "everything labtool needs is in place\n"
                                          : std::to_string(r.problems) + " problem(s) to fix\n");
    return r.problems == 0 ? 0 : 1;
}

}  // namespace labtool::cli
