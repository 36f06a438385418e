// Test support: runs Ethernet frames (one millisecond apart) through the analysis engine into a
// renderer, then its summary, as `labtool replay` does with a capture.
#pragma once

#include "labtool/analysis/engine.hpp"
#include "renderer.hpp"

#include <cstdint>
#include <vector>

namespace labtool::test {

inline void render_frames(cli::Renderer& r, const std::vector<std::vector<std::uint8_t>>& frames, bool emit_packets) {
    analysis::EngineOptions eo;
    eo.emit_packets = emit_packets;
    analysis::Engine engine(eo);
    auto sink = [&](const analysis::Event& e) { r.on_event(e); };
    for (std::size_t i = 0; i < frames.size(); ++i)
        engine.process(analysis::Frame{analysis::LinkType::ethernet, {1, static_cast<std::uint32_t>(i * 1000)}, 0, frames[i]},
                       sink);
    engine.finish(sink);
    cli::RunSummary s;
    s.engine = engine.stats();
    r.on_summary(s);
    r.flush();
}

}  // namespace labtool::test
