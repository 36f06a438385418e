// Records a session as pcapng with labtool's explanation of each packet as its comment, so
// Wireshark shows the words beside the packet (tshark: frame.comment).
#pragma once

#include "renderer.hpp"

#include "labtool/analysis/events.hpp"
#include "labtool/capture/packet.hpp"
#include "labtool/capture/pcapng_writer.hpp"

#include <memory>
#include <sstream>
#include <string>

namespace labtool::cli {

class CommentedRecorder {
public:
    /// Throws capture::CaptureError when `path` cannot be written.
    CommentedRecorder(const std::string& path, int link_type, int snaplen, const std::string& interface, Lang lang);

    /// Collects the explanation of the frame being analysed.
    void on_event(const analysis::Event& event) { renderer_->on_event(event); }
    /// Writes the frame with everything explained since the previous one as its comment.
    void write(const capture::Packet& packet);
    void flush() { writer_.flush(); }
    [[nodiscard]] std::uint64_t packets_written() const noexcept { return writer_.packets_written(); }
    [[nodiscard]] const std::string& warning() const noexcept { return writer_.warning(); }

    /// True for the section comment labtool writes: its packet comments are its own explanations,
    /// which a replay regenerates, so they need not be shown again.
    static bool is_own_section_comment(const std::string& comment);

    /// True when `path` asks for pcapng (".pcapng" or ".ntar").
    static bool wants_pcapng(const std::string& path);

private:
    capture::PcapngWriter writer_;
    std::ostringstream text_;
    std::unique_ptr<Renderer> renderer_;
};

}  // namespace labtool::cli
