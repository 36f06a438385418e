// `labtool doctor`: checks what capturing needs on this machine and says how to fix each problem.
#include "frame_adapter.hpp"
#include "sessions.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/live_capture.hpp"

#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

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

// The fix for missing capture rights, in this OS's terms.
std::string capture_rights_fix() {
    const auto os = platform::os_name();
    if (os == "windows")
        return "reinstall Npcap (https://npcap.com/#download) with \"Support loopback traffic capture\"; if it was "
               "installed with \"Restrict Npcap driver's access to Administrators only\", run labtool as administrator";
    if (os == "macos")
        return "run with sudo, or install Wireshark's ChmodBPF (it lets the access_bpf group read /dev/bpf*) and log in again";
    if (os == "linux")
        return "run with sudo, or once: sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v labtool)\"";
    return "run with sudo, or give your user read access to the capture devices (/dev/bpf*)";
}

std::string busy_port_fix(std::uint16_t port) {
    const auto os = platform::os_name();
    const std::string p = std::to_string(port);
    std::string who;
    if (os == "windows") who = "netstat -ano | findstr :" + p;
    else if (os == "linux") who = "ss -ltnp 'sport = :" + p + "'";
    else who = "lsof -nP -iTCP:" + p + " -sTCP:LISTEN";
    return "stop the program using it (" + who + "), or use another port with --port";
}

std::string tshark_install_hint() {
    const auto os = platform::os_name();
    if (os == "windows") return "install Wireshark, which brings tshark";
    if (os == "macos") return "brew install --cask wireshark";
    if (os == "linux") return "sudo apt-get install tshark";
    return "install Wireshark's tshark";
}

}  // namespace

int run_doctor(std::uint16_t port) {
    Report r;
    std::cout << "labtool doctor: what capturing needs on this machine\n\n";

    // 0. The capture library (Windows: Npcap's wpcap.dll, loaded only when it is needed).
    std::string why;
    const bool have_pcap = platform::load_capture_library(why);
    if (!have_pcap) r.bad(why, "install Npcap from https://npcap.com/#download with \"Support loopback traffic capture\"");

    // 1. The loopback device.
    std::string device;
    if (have_pcap) {
        try {
            device = capture::default_loopback_interface();
            r.ok("loopback device: " + device);
        } catch (const capture::CaptureError& e) {
            r.bad(std::string("no loopback device found (") + e.what() + ")",
                  platform::os_name() == "windows"
                      ? "reinstall Npcap with \"Support loopback traffic capture\" (it adds the NPF_Loopback adapter)"
                      : "check `ip link` / `ifconfig` for a loopback interface (lo, lo0)");
        }
    }

    // 2. Permission to capture (and the link type it gives).
    const std::string rights = platform::capture_rights_note();
    r.note("running as " + platform::who_am_i() + (rights.empty() ? std::string() : ", " + rights));
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
                r.bad("no permission to capture on " + device, capture_rights_fix());
            else
                r.bad(std::string("cannot capture on ") + device + ": " + e.what(), "see the message above");
        }
    }

    // 3. What `localhost` means to a browser: it may try ::1 first.
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::resolver resolver(io);
        boost::system::error_code ec;
        const auto results = resolver.resolve("localhost", "", ec);
        if (!ec && !results.empty()) {
            const auto first = results.begin()->endpoint().address();
            r.ok("localhost resolves first to " + first.to_string() +
                 (first.is_v6() ? " (a browser may talk IPv6; labtool listens on ::1 too and captures both)" : ""));
        } else {
            r.bad("localhost does not resolve",
                  platform::os_name() == "windows"
                      ? "add \"127.0.0.1 localhost\" and \"::1 localhost\" to C:\\Windows\\System32\\drivers\\etc\\hosts"
                      : "add \"127.0.0.1 localhost\" and \"::1 localhost\" to /etc/hosts");
        }
    }

    // 4. The port (bound exclusively: on Windows a shared bind would hide a busy port).
    const std::string p = std::to_string(port);
    const auto v4 = platform::probe_loopback_port(port, false);
    if (!v4) r.ok("port " + p + " is free on 127.0.0.1");
    else r.bad("port " + p + " on 127.0.0.1: " + v4.message(),
               v4 == std::errc::address_in_use ? busy_port_fix(port) : "use a port above 1023 with --port");
    const auto v6 = platform::probe_loopback_port(port, true);
    if (!v6) r.ok("port " + p + " is free on ::1");
    else if (v6 == std::errc::address_not_available || v6 == std::errc::address_family_not_supported)
        r.note("no IPv6 loopback (::1): labtool serves 127.0.0.1 only");
    else r.bad("port " + p + " on ::1: " + v6.message(),
               v6 == std::errc::address_in_use ? busy_port_fix(port) : "use another port with --port");

    // 5. Optional tools.
    if (!platform::find_program("tshark").empty()) r.ok("tshark is installed (to cross-check a recording)");
    else r.note("tshark is not installed (optional: " + tshark_install_hint() + ")");

    std::cout << '\n' << (r.problems == 0 ? "everything labtool needs is in place\n"
                                          : std::to_string(r.problems) + " problem(s) to fix\n");
    return r.problems == 0 ? 0 : 1;
}

}  // namespace labtool::cli
