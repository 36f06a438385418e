// `labtool doctor`: checks what capturing needs on this machine and says how to fix each problem.
#include "explain.hpp"
#include "frame_adapter.hpp"
#include "sessions.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/live_capture.hpp"

#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace labtool::cli {
namespace {

struct Report {
    Lang lang;
    int problems = 0;
    void ok(const std::string& what) { std::cout << "  ✓ " << what << '\n'; }
    void bad(const std::string& what, const std::string& fix) {
        ++problems;
        std::cout << "  ✗ " << what << "\n      " << format_msg(lang, Msg::doctor_fix, fmt::arg("fix", fix)) << '\n';
    }
    void note(const std::string& what) { std::cout << "  · " << what << '\n'; }
};

// The fix for missing capture rights, in this OS's terms.
std::string capture_rights_fix(Lang lang) {
    const auto os = platform::os_name();
    if (os == "windows") return format_msg(lang, Msg::doctor_rights_fix_windows);
    if (os == "macos") return format_msg(lang, Msg::doctor_rights_fix_macos);
    if (os == "linux") return format_msg(lang, Msg::doctor_rights_fix_linux);
    return format_msg(lang, Msg::doctor_rights_fix_other);
}

// The platform layer describes the user and the capture rights in fixed English phrases
// (platform::who_am_i, capture_rights_note); those it is known to say are told in `lang`, any
// other is shown as it is.
std::string platform_phrase(Lang lang, const std::string& phrase) {
    static const std::pair<std::string_view, Msg> known[] = {
        {"an administrator (elevated)", Msg::doctor_who_admin},
        {"a user without elevation", Msg::doctor_who_not_elevated},
        {"with CAP_NET_RAW", Msg::doctor_rights_cap_net_raw},
        {"without CAP_NET_RAW", Msg::doctor_rights_no_cap_net_raw},
        {"/dev/bpf0 is readable and writable", Msg::doctor_rights_bpf_ok},
        {"/dev/bpf0 is not readable by this user", Msg::doctor_rights_bpf_denied},
        {"Npcap was installed without loopback support", Msg::doctor_rights_npcap_no_loopback},
        {"Npcap is restricted to administrators", Msg::doctor_rights_npcap_admin_only},
    };
    for (const auto& [text, msg] : known)
        if (phrase == text) return format_msg(lang, msg);
    constexpr std::string_view user = "user ";  // POSIX: "user 1000"
    if (phrase.size() > user.size() && phrase.compare(0, user.size(), user) == 0 &&
        std::all_of(phrase.begin() + static_cast<std::ptrdiff_t>(user.size()), phrase.end(),
                    [](char c) { return c >= '0' && c <= '9'; }))
        return format_msg(lang, Msg::doctor_who_user, fmt::arg("uid", phrase.substr(user.size())));
    return phrase;
}

// The capture-rights note: phrases joined by "; " (Windows says two at once).
std::string rights_text(Lang lang, const std::string& note) {
    std::string out;
    std::size_t at = 0;
    while (at <= note.size()) {
        const std::size_t end = std::min(note.find("; ", at), note.size());
        if (!out.empty()) out += format_msg(lang, Msg::doctor_rights_separator);
        out += platform_phrase(lang, note.substr(at, end - at));
        at = end + 2;
    }
    return out;
}

std::string busy_port_fix(Lang lang, std::uint16_t port) {
    const auto os = platform::os_name();
    const std::string p = std::to_string(port);
    std::string who;
    if (os == "windows") who = "netstat -ano | findstr :" + p;
    else if (os == "linux") who = "ss -ltnp 'sport = :" + p + "'";
    else who = "lsof -nP -iTCP:" + p + " -sTCP:LISTEN";
    return format_msg(lang, Msg::doctor_busy_port_fix, fmt::arg("command", who));
}

std::string tshark_install_hint(Lang lang) {
    const auto os = platform::os_name();
    if (os == "windows") return format_msg(lang, Msg::doctor_tshark_hint_windows);
    if (os == "macos") return "brew install --cask wireshark";
    if (os == "linux") return "sudo apt-get install tshark";
    return format_msg(lang, Msg::doctor_tshark_hint_other);
}

}  // namespace

int run_doctor(std::uint16_t port, Lang lang) {
    Report r{lang};
    std::cout << format_msg(lang, Msg::doctor_title) << "\n\n";

    // 0. The capture library (Windows: Npcap's wpcap.dll, loaded only when it is needed).
    std::string why;
    const bool have_pcap = platform::load_capture_library(why);
    if (!have_pcap)
        r.bad(format_msg(lang, Msg::doctor_no_capture_library, fmt::arg("why", why)),
              format_msg(lang, Msg::doctor_install_npcap_fix));

    // 1. The loopback device.
    std::string device;
    if (have_pcap) {
        try {
            device = capture::default_loopback_interface();
            r.ok(format_msg(lang, Msg::doctor_loopback_device, fmt::arg("device", device)));
        } catch (const capture::CaptureError& e) {
            r.bad(format_msg(lang, Msg::doctor_no_loopback, fmt::arg("error", e.what())),
                  format_msg(lang, platform::os_name() == "windows" ? Msg::doctor_no_loopback_fix_windows
                                                                    : Msg::doctor_no_loopback_fix));
        }
    }

    // 2. Permission to capture (and the link type it gives).
    const std::string rights = platform::capture_rights_note();
    const std::string who = platform_phrase(lang, platform::who_am_i());
    r.note(rights.empty() ? format_msg(lang, Msg::doctor_running_as, fmt::arg("who", who))
                          : format_msg(lang, Msg::doctor_running_as_rights, fmt::arg("who", who),
                                       fmt::arg("rights", rights_text(lang, rights))));
    if (!device.empty()) {
        try {
            capture::LiveOptions o;
            o.interface = device;
            o.filter = "tcp port " + std::to_string(port);
            o.buffer_bytes = 1 << 20;
            capture::LiveCapture cap(o);
            r.ok(format_msg(lang, link_type_for(cap.link_type()) ? Msg::doctor_capture_works : Msg::doctor_capture_works_undecodable,
                            fmt::arg("device", device), fmt::arg("link", link_type_description(cap.link_type()))));
        } catch (const capture::CaptureError& e) {
            if (e.kind() == capture::CaptureErrorKind::permission_denied)
                r.bad(format_msg(lang, Msg::doctor_no_permission, fmt::arg("device", device)), capture_rights_fix(lang));
            else
                r.bad(format_msg(lang, Msg::doctor_capture_failed, fmt::arg("device", device), fmt::arg("error", e.what())),
                      format_msg(lang, Msg::doctor_see_above));
        }
    }

    // 3. What `localhost` means to a browser: every address it resolves to, in order. A browser
    // may connect to any of them (Chromium tries ::1 and 127.0.0.1, Happy Eyeballs). No
    // AI_ADDRCONFIG: without a non-loopback IPv6 address it would hide ::1, which works all the same.
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::resolver resolver(io);
        boost::system::error_code ec;
        const auto results = resolver.resolve("localhost", "", boost::asio::ip::resolver_base::flags(), ec);
        std::vector<std::string> addresses;
        if (!ec) {
            for (const auto& entry : results) {
                const std::string a = entry.endpoint().address().to_string();
                if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
            }
        }
        if (!addresses.empty()) {
            std::string list;
            for (const auto& a : addresses) list += (list.empty() ? "" : format_msg(lang, Msg::item_separator)) + a;
            r.ok(format_msg(lang, Msg::doctor_localhost, fmt::arg("addresses", list)));
            // Server::start binds 127.0.0.1 and ::1 unless --host; the capture filter is the port.
            r.note(format_msg(lang, Msg::doctor_localhost_labtool));
        } else {
            r.bad(format_msg(lang, Msg::doctor_localhost_unresolved),
                  format_msg(lang, Msg::doctor_localhost_fix,
                             fmt::arg("hosts", platform::os_name() == "windows"
                                                   ? "C:\\Windows\\System32\\drivers\\etc\\hosts"
                                                   : "/etc/hosts")));
        }
    }

    // 4. The port (bound exclusively: on Windows a shared bind would hide a busy port).
    const auto port_free = [&](const char* address) {
        return format_msg(lang, Msg::doctor_port_free, fmt::arg("port", port), fmt::arg("address", address));
    };
    const auto port_error = [&](const char* address, const std::error_code& ec) {
        return format_msg(lang, Msg::doctor_port_error, fmt::arg("port", port), fmt::arg("address", address),
                          fmt::arg("error", ec.message()));
    };
    const auto v4 = platform::probe_loopback_port(port, false);
    if (!v4) r.ok(port_free("127.0.0.1"));
    else r.bad(port_error("127.0.0.1", v4),
               v4 == std::errc::address_in_use ? busy_port_fix(lang, port) : format_msg(lang, Msg::doctor_low_port_fix));
    const auto v6 = platform::probe_loopback_port(port, true);
    if (!v6) r.ok(port_free("::1"));
    else if (v6 == std::errc::address_not_available || v6 == std::errc::address_family_not_supported)
        r.note(format_msg(lang, Msg::doctor_no_ipv6));
    else r.bad(port_error("::1", v6),
               v6 == std::errc::address_in_use ? busy_port_fix(lang, port) : format_msg(lang, Msg::doctor_other_port_fix));

    // 5. Optional tools.
    if (!platform::find_program("tshark").empty()) r.ok(format_msg(lang, Msg::doctor_tshark_ok));
    else r.note(format_msg(lang, Msg::doctor_tshark_missing, fmt::arg("hint", tshark_install_hint(lang))));

    std::cout << '\n' << (r.problems == 0 ? format_msg(lang, Msg::doctor_all_ok)
                                          : format_msg(lang, Msg::doctor_problems, fmt::arg("n", r.problems)))
              << '\n';
    return r.problems == 0 ? 0 : 1;
}

}  // namespace labtool::cli
