// The subcommands' work: a live run (serve + capture + explain), a replay of a file, and the
// server alone. Each returns the process exit code (0 ok, 1 runtime error).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace labtool::cli {

enum class OutputFormat { text, json };
enum class Lang;  // messages.hpp

struct OutputOptions {
    OutputFormat format = OutputFormat::text;
    bool no_color = false;
    bool packets = false;                // one `packet` event per TCP frame
    bool brief = false;                  // -q
    bool ladder = false;                 // --ladder: the sequence diagram instead of the text
    bool verbose = false;                // -v: packet details
    bool hex = false;                    // -x: packet details and bytes
    std::string lang;                    // "en", "zh", or empty: from the locale
    int max_buffer_mib = 32;             // out-of-order data buffered, all connections together
};

/// Server options shared by `run` and `serve`.
struct ServerFlags {
    bool allow_dotfiles = false;
    bool list_dirs = false;
    std::uint32_t cache_seconds = 0;
    bool cors = false;
    std::uint32_t header_timeout = 30;
    std::uint32_t keep_alive_timeout = 5;
    std::size_t max_connections = 512;
};

/// The capture buffer labtool asks for by default, in MiB: 128 on Linux (bursts of a page load
/// on a fast loopback), 8 on Windows (Npcap locks it in driver memory), 4 elsewhere (macOS's BPF
/// caps what it gives anyway).
int default_buffer_mib();

struct RunOptions {
    std::uint16_t port = 3000;
    std::string root;                    // empty: the built-in page
    std::string interface;               // empty: the loopback device
    std::string record_path;             // empty: no recording
    std::vector<std::string> hosts{"127.0.0.1", "::1"};
    bool access_log = false;
    bool serve = true;                   // false: `labtool capture` (another program serves)
    ServerFlags server;
    int snaplen = 65600;
    int buffer_mib = default_buffer_mib();
    int batch_ms = 0;
    /// Bound of the queue from capture to analysis, in MiB (--queue-mib): past it packets are
    /// recorded but not analysed, and the summary says how many.
    int queue_mib = 64;
    OutputOptions output;
};

struct ReplayOptions {
    std::string path;
    std::optional<std::uint16_t> port;
    OutputOptions output;
};

struct ServeOptions {
    std::uint16_t port = 3000;
    std::string root;
    std::vector<std::string> hosts{"127.0.0.1", "::1"};
    bool quiet = false;
    ServerFlags server;
    unsigned threads = 0;                // 0: one per core
};

struct ReportOptions {
    std::string path;                    // capture file
    std::string output;                  // -o: HTML file to write; "-" = stdout
    std::optional<std::uint16_t> port;   // only connections with this port
    std::string lang;                    // "en", "zh", or empty: from the locale
    std::string title;                   // empty: the capture file's name
};

int run_live(const RunOptions& options);
int run_report(const ReportOptions& options);
int run_replay(const ReplayOptions& options);
int run_serve(const ServeOptions& options);
int run_doctor(std::uint16_t port, Lang lang);

/// The language of the explanations: --lang, else the locale.
Lang output_lang(const OutputOptions& o);
/// `lang` ("en", "zh") if set, else the locale's language.
Lang lang_or_environment(const std::string& lang);

/// Prints "labtool: error: <message>" on stderr, in `lang` ("labtool：错误：" …); the message
/// comes from the catalogue (a library's own text, such as e.what(), is passed as it is).
void print_error(Lang lang, const std::string& message);
void print_warning(Lang lang, const std::string& message);

}  // namespace labtool::cli
