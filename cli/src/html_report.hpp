// `labtool report FILE -o report.html`: one self-contained HTML page (inline CSS and SVG, no
// external assets, no network access) with the connection list, an SVG ladder diagram per
// connection, the HTTP exchanges, each side's TCP state timeline and the packet details.
#pragma once

#include "messages.hpp"
#include "renderer.hpp"

#include <memory>
#include <ostream>
#include <string>

namespace labtool::cli {

/// A Renderer that collects every event (including PacketInfo: run the engine with
/// EngineOptions::emit_packets = true) and, in on_summary(), writes one self-contained HTML
/// document to `out`. `title` is shown as the page title (usually the capture file's name).
std::unique_ptr<Renderer> make_html_report(std::ostream& out, Lang lang, std::string title);

}  // namespace labtool::cli
