// labtool: serve a page on loopback, capture it, and explain every packet; or replay a capture.
// Only main chooses exit codes: 0 ok, 1 runtime error, 2 usage error.
#include "explain.hpp"
#include "sessions.hpp"

#include "labtool/platform/process.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <vector>
#include <iostream>

namespace {

constexpr const char* main_examples = R"EX(
Examples:
  labtool run --port 3000                 serve the built-in lab page, capture and explain live
  labtool run --port 3000 --record s.pcap ... and save every captured packet to s.pcap
  labtool run --root ./my-site            serve your own folder instead
  labtool capture --port 8080             explain the traffic of a server you run yourself
  labtool replay s.pcap                   explain a saved capture (pcap/pcapng, any OS)
  labtool replay s.pcap --format json     one JSON object per event, for scripts
  labtool report s.pcap -o report.html    an HTML page with a sequence diagram per connection
  labtool serve --port 8080               the web server alone, no capture
  labtool doctor                          check capture permission, loopback device, port

Capturing needs root or CAP_NET_RAW on Linux: sudo labtool run, or once
  sudo setcap cap_net_raw,cap_net_admin=eip "$(command -v labtool)"
macOS: sudo labtool run (or Wireshark's ChmodBPF). Windows: Npcap with "Support loopback
traffic capture" (https://npcap.com/#download); replay, report and serve work without it.)EX";

constexpr const char* run_examples = R"EX(
Examples:
  labtool run --port 3000
  labtool run --port 3000 --record session.pcap
  labtool run --port 3000 --record session.pcapng --lang zh     (Wireshark shows the words)
  labtool run --port 3000 --ladder                              (the sequence diagram)
  labtool run --root ~/lab1 --port 3000 --format json > events.jsonl
Then open http://127.0.0.1:3000/ in a browser and watch the terminal; Ctrl-C stops and
prints a summary.)EX";

constexpr const char* capture_examples = R"EX(
Examples:
  node server.js &  labtool capture --port 3000      explain the traffic of your own server
  labtool capture --port 8080 --record s.pcap
  labtool capture -i eth0 --port 80 --format json)EX";

constexpr const char* replay_examples = R"EX(
Examples:
  labtool replay session.pcap
  labtool replay wireshark-lo0.pcapng --port 3000
  labtool replay session.pcap --format json | jq 'select(.event=="http_response")')EX";

void add_output_options(CLI::App* cmd, labtool::cli::OutputOptions& out, std::string& format) {
    cmd->add_option("--format", format, "Output: text (annotated, for people) or json (one object per line)")
        ->check(CLI::IsMember({"text", "json"}))
        ->default_val("text");
    cmd->add_flag("--no-color", out.no_color, "No colours (also when NO_COLOR is set or output is not a terminal)");
    cmd->add_option("--lang", out.lang, "Language of the explanations: en or zh (default: from LC_ALL, LC_MESSAGES or LANG)")
        ->check(CLI::IsMember({"en", "zh"}));
    cmd->add_flag("-q,--brief", out.brief, "One line per connection and per HTTP exchange");
    cmd->add_flag("-v,--verbose", out.verbose, "Every packet in Wireshark's detail style (layers, fields, flag bits, options)");
    cmd->add_flag("-x,--hex", out.hex, "Like -v, plus each packet's bytes as hex and ASCII");
    cmd->add_flag("--ladder", out.ladder,
                  "Draw the ladder (sequence) diagram: a lane per side, an arrow per packet, the states beside");
    cmd->add_option("--max-buffer-mib", out.max_buffer_mib,
                    "Out-of-order TCP data kept while waiting for a missing segment, all connections together; "
                    "beyond it the hole is reported as a gap")
        ->check(CLI::Range(1, 4096))
        ->default_val(32);
    cmd->add_flag("--packets", out.packets,
                  "Also one line (text) or `packet` event (json) per TCP frame: numbers and Wireshark-style analysis flags");
}

void add_capture_options(CLI::App* cmd, labtool::cli::RunOptions& o) {
    cmd->add_option("-i,--interface", o.interface, "Capture interface (default: the loopback device)");
    cmd->add_option("-w,--record", o.record_path,
                    "Also write every captured packet to this file as it arrives: .pcap, or .pcapng with each "
                    "packet's explanation as a comment (when analysis keeps up); never through a symbolic link");
    cmd->add_option("-s,--snaplen", o.snaplen, "Bytes kept of each packet (default 65600: a whole loopback packet)")
        ->check(CLI::Range(64, 262144));
    cmd->add_option("-B,--buffer", o.buffer_mib, "Capture buffer in MiB (default " + std::to_string(labtool::cli::default_buffer_mib()) +
                    " on this OS; drops are reported)")
        ->check(CLI::Range(1, 2048));
    cmd->add_option("--queue-mib", o.queue_mib,
                    "Memory for packets waiting to be analysed, in MiB (default 64); past it packets are still "
                    "recorded but not analysed, and the summary counts them")
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--batch-ms", o.batch_ms,
                    "0 (default): immediate mode, each packet at once; N: packets in blocks at most N ms late, "
                    "for tens of thousands of packets per second")
        ->check(CLI::Range(0, 1000));
}

void add_server_options(CLI::App* cmd, labtool::cli::ServerFlags& s, std::string& dotfiles) {
    cmd->add_option("--dotfiles", dotfiles, "Serve names starting with '.' (allow) or answer 404 (deny)")
        ->check(CLI::IsMember({"allow", "deny"}))
        ->default_val("deny");
    cmd->add_flag("--list-dirs", s.list_dirs, "A folder without index.html gets a listing (else 404)");
    cmd->add_option("--cache", s.cache_seconds, "Cache-Control max-age in seconds (default 0: always revalidate)");
    cmd->add_flag("--cors", s.cors, "Send Access-Control-Allow-Origin: * on files");
    cmd->add_option("--header-timeout", s.header_timeout, "Seconds to receive a request's header (slowloris guard)")
        ->default_val(30)
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--keep-alive-timeout", s.keep_alive_timeout, "Seconds an idle keep-alive connection stays open")
        ->default_val(5)
        ->check(CLI::Range(1, 3600));
    cmd->add_option("--max-connections", s.max_connections, "Concurrent connections; more get 503")
        ->default_val(512)
        ->check(CLI::Range(1, 100000));
}

labtool::cli::OutputFormat parse_format(const std::string& f) {
    return f == "json" ? labtool::cli::OutputFormat::json : labtool::cli::OutputFormat::text;
}

// Whether --host names this machine only: "localhost" (any case) or a loopback address
// (127.0.0.0/8, ::1, ::ffff:127.x.x.x). Anything else, also a name that cannot be parsed as an
// address, may be reachable from the network.
bool is_loopback_host(const std::string& host) {
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
    if (lower == "localhost") return true;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) return false;
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
    return address.is_loopback();
}

}  // namespace

int main(int argc, char** argv) {
    using namespace labtool::cli;
    namespace platform = labtool::platform;
    platform::setup_console();  // UTF-8 and colours on Windows consoles
    // UTF-8 arguments on every OS (on Windows from the UTF-16 command line, so 实验.pcap works).
    std::vector<std::string> args = platform::program_arguments(argc, argv);
    CLI::App app{"labtool — serve a web page, capture it on loopback, and explain TCP and HTTP packet by packet"};
    // "/path/x.pcap" is a file, never a Windows-style "/option".
    app.allow_windows_style_options(false);
    app.set_version_flag("--version", std::string("labtool ") + LABTOOL_VERSION);
    app.footer(main_examples);
    app.require_subcommand(1);

    RunOptions run;
    std::string run_format = "text";
    std::string run_host;
    auto* run_cmd = app.add_subcommand("run", "Serve the page, capture its port on loopback and explain it live");
    run_cmd->add_option("-p,--port", run.port, "TCP port to serve and capture")->default_val(3000);
    run_cmd->add_option("--root", run.root, "Folder to serve (default: the built-in lab page)");
    add_capture_options(run_cmd, run);
    run_cmd->add_option("--host", run_host, "Address to bind instead of 127.0.0.1 and ::1");
    run_cmd->add_flag("--access-log", run.access_log, "Also log one line per request on stderr");
    std::string run_dotfiles = "deny";
    add_server_options(run_cmd, run.server, run_dotfiles);
    add_output_options(run_cmd, run.output, run_format);
    run_cmd->footer(run_examples);

    ReplayOptions replay;
    std::string replay_format = "text";
    std::uint16_t replay_port = 0;
    auto* replay_cmd = app.add_subcommand("replay", "Explain a saved capture (pcap or pcapng) with the same analysis");
    replay_cmd->add_option("file", replay.path, "Capture file")->required();
    auto* port_opt = replay_cmd->add_option("-p,--port", replay_port, "Only connections with this TCP port");
    add_output_options(replay_cmd, replay.output, replay_format);
    replay_cmd->footer(replay_examples);

    RunOptions cap;
    cap.serve = false;
    std::string cap_format = "text";
    auto* cap_cmd = app.add_subcommand("capture", "Capture and explain a port live while another program serves it");
    cap_cmd->add_option("-p,--port", cap.port, "TCP port to capture")->required();
    add_capture_options(cap_cmd, cap);
    add_output_options(cap_cmd, cap.output, cap_format);
    cap_cmd->footer(capture_examples);

    ServeOptions serve;
    std::string serve_host;
    auto* serve_cmd = app.add_subcommand("serve", "Run the web server alone, without capture");
    serve_cmd->add_option("-p,--port", serve.port, "TCP port")->default_val(3000);
    serve_cmd->add_option("--root", serve.root, "Folder to serve (default: the built-in lab page)");
    serve_cmd->add_option("--host", serve_host, "Address to bind instead of 127.0.0.1 and ::1");
    serve_cmd->add_flag("-q,--quiet", serve.quiet, "No access log");
    serve_cmd->add_option("--threads", serve.threads, "Threads serving requests (default: one per core)")
        ->check(CLI::Range(1, 256));
    std::string serve_dotfiles = "deny";
    add_server_options(serve_cmd, serve.server, serve_dotfiles);
    serve_cmd->footer("\nExamples:\n  labtool serve --port 8080 --root ./site\n"
                      "  labtool serve --root ./site --list-dirs --cache 60");

    ReportOptions report;
    std::uint16_t report_port = 0;
    auto* report_cmd = app.add_subcommand(
        "report", "Write a self-contained HTML report of a capture: sequence diagrams, HTTP exchanges, TCP states");
    report_cmd->add_option("file", report.path, "Capture file (pcap or pcapng)")->required();
    report_cmd->add_option("-o,--output", report.output, "HTML file to write (- for stdout)")->required();
    auto* report_port_opt = report_cmd->add_option("-p,--port", report_port, "Only connections with this TCP port");
    report_cmd->add_option("--lang", report.lang, "en or zh (default: from LC_ALL, LC_MESSAGES or LANG)")
        ->check(CLI::IsMember({"en", "zh"}));
    report_cmd->add_option("--title", report.title, "Page title (default: the file name)");
    report_cmd->footer("\nExamples:\n  labtool report session.pcap -o report.html\n"
                       "  labtool report session.pcap -o report.html --lang zh");

    std::uint16_t doctor_port = 3000;
    std::string doctor_lang;
    auto* doctor_cmd = app.add_subcommand("doctor", "Check what capturing needs on this machine and how to fix it");
    doctor_cmd->add_option("-p,--port", doctor_port, "Port to check")->default_val(3000);
    doctor_cmd->add_option("--lang", doctor_lang, "Language of the checks and fixes: en or zh (default: from LC_ALL, LC_MESSAGES or LANG)")
        ->check(CLI::IsMember({"en", "zh"}));
    doctor_cmd->footer("\nExamples:\n  labtool doctor               # can this machine run `labtool run --port 3000`?\n"
                       "  labtool doctor --port 8080   # the same for another port\n"
                       "  labtool doctor --lang zh     # the same, in Chinese\n"
                       "It exits 1 when something needs fixing, and says how.");

    try {
        if (!args.empty()) args.erase(args.begin());  // the program name
        std::reverse(args.begin(), args.end());        // CLI11 takes them last-first
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }

    // The language of errors and warnings: the subcommand's --lang, else the locale.
    const Lang lang = *run_cmd      ? output_lang(run.output)
                      : *cap_cmd    ? output_lang(cap.output)
                      : *replay_cmd ? output_lang(replay.output)
                      : *report_cmd ? lang_or_environment(report.lang)
                                    : lang_or_environment(doctor_lang);  // doctor, or serve (no --lang)
    try {
        if (*run_cmd) {
            run.output.format = parse_format(run_format);
            run.server.allow_dotfiles = run_dotfiles == "allow";
            if (!run_host.empty()) {
                run.hosts = {run_host};
                if (!is_loopback_host(run_host))
                    print_warning(lang, format_msg(lang, Msg::warn_public_host, fmt::arg("host", run_host)));
            }
            return run_live(run);
        }
        if (*cap_cmd) {
            cap.output.format = parse_format(cap_format);
            return run_live(cap);
        }
        if (*replay_cmd) {
            replay.output.format = parse_format(replay_format);
            if (*port_opt) replay.port = replay_port;
            return run_replay(replay);
        }
        if (*doctor_cmd) return run_doctor(doctor_port, lang);
        if (*report_cmd) {
            if (*report_port_opt) report.port = report_port;
            return run_report(report);
        }
        if (*serve_cmd) {
            serve.server.allow_dotfiles = serve_dotfiles == "allow";
            if (!serve_host.empty()) {
                serve.hosts = {serve_host};
                if (!is_loopback_host(serve_host))
                    print_warning(lang, format_msg(lang, Msg::warn_public_host, fmt::arg("host", serve_host)));
            }
            return run_serve(serve);
        }
    } catch (const std::exception& e) {
        print_error(lang, e.what());
        return 1;
    }
    return 2;
}
