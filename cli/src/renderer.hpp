// Renderers turn analysis events into output: annotated text for people, JSON lines for scripts.
#pragma once

#include "labtool/analysis/engine.hpp"
#include "labtool/analysis/events.hpp"
#include "messages.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace labtool::cli {

/// Terminal colours (ANSI SGR) for the text and ladder renderers; `paint` leaves text alone when
/// colour is off (--no-color, NO_COLOR, or not a terminal).
namespace ansi {
inline constexpr const char* reset = "\033[0m";
inline constexpr const char* bold = "\033[1m";
inline constexpr const char* dim = "\033[2m";
inline constexpr const char* red = "\033[31m";
inline constexpr const char* green = "\033[32m";
inline constexpr const char* yellow = "\033[33m";
inline constexpr const char* blue = "\033[34m";
inline constexpr const char* magenta = "\033[35m";
inline constexpr const char* cyan = "\033[36m";
inline std::string paint(bool on, const char* code, const std::string& text) {
    return on ? std::string(code) + text + reset : text;
}
}  // namespace ansi

/// What the end-of-run summary reports besides the engine's counters.
struct RunSummary {
    analysis::EngineStats engine;
    bool live = false;
    std::uint64_t captured = 0;
    std::uint64_t dropped = 0;              // kernel drops (pcap_stats)
    std::optional<std::string> record_path;
    std::uint64_t recorded = 0;             // packets the recording really holds
    std::optional<std::string> record_error;   // the recording stopped: the OS's reason
    std::uint64_t recorded_without_comment = 0; // pcapng: written before analysis explained them
    std::uint64_t not_analysed = 0;         // live: skipped because analysis fell behind
    std::optional<std::string> warning;     // e.g. the file was cut off
};

class Renderer {
public:
    virtual ~Renderer() = default;
    virtual void on_event(const analysis::Event& event) = 0;
    virtual void on_summary(const RunSummary& summary) = 0;
    /// A comment stored in the capture file: frame 0 for the file's own comment.
    virtual void on_comment(std::uint64_t frame, const std::string& comment) = 0;
    /// Writes out what is buffered (called when the capture is idle and at the end).
    virtual void flush() = 0;
    /// The raw frame, just before the engine analyses it (for -v / -x); most renderers ignore it.
    virtual void on_frame(std::uint64_t /*number*/, double /*time*/, const analysis::Frame& /*frame*/) {}
};

struct TextOptions {
    bool color = false;
    Lang lang = Lang::en;
    bool brief = false;     // -q: one line per connection and per HTTP exchange
    std::string server_name = "server";   // lane label in the ladder ("labtool" when it serves)
    bool verbose = false;   // -v: every packet in Wireshark's detail style
    bool hex = false;       // -x: and its bytes
};

std::unique_ptr<Renderer> make_text_renderer(std::ostream& out, TextOptions options);
std::unique_ptr<Renderer> make_json_renderer(std::ostream& out);
/// The ladder diagram; `grouped`: each connection printed whole at the end (replay), else rows
/// as packets arrive (live). Needs PacketInfo events.
std::unique_ptr<Renderer> make_ladder_renderer(std::ostream& out, TextOptions options, bool grouped);

/// Colour on a terminal, none when piped, when NO_COLOR is set, or when asked.
bool want_color(bool no_color_flag);

}  // namespace labtool::cli
