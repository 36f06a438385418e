// `labtool replay FILE`: read a saved capture through the same engine as a live run.
#include "commented_recorder.hpp"
#include "explain.hpp"
#include "frame_adapter.hpp"
#include "html_report.hpp"
#include "renderer.hpp"
#include "sessions.hpp"

#include "labtool/analysis/engine.hpp"
#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/file_reader.hpp"
#include "labtool/capture/pcapng_comments.hpp"
#include "labtool/platform/files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <system_error>

namespace labtool::cli {

void print_error(Lang lang, const std::string& message) {
    std::cerr << format_msg(lang, Msg::err_prefix, fmt::arg("message", message)) << '\n';
}
void print_warning(Lang lang, const std::string& message) {
    std::cerr << format_msg(lang, Msg::warn_prefix, fmt::arg("message", message)) << '\n';
}

Lang lang_or_environment(const std::string& lang) {
    Lang l = lang_from_environment();
    if (!lang.empty()) parse_lang(lang, l);
    return l;
}

Lang output_lang(const OutputOptions& o) { return lang_or_environment(o.lang); }

std::unique_ptr<Renderer> make_renderer(const OutputOptions& o, bool live, bool labtool_serves) {
    if (o.format == OutputFormat::json) return make_json_renderer(std::cout);
    if (o.ladder) {
        TextOptions t;
        t.color = want_color(o.no_color);
        t.lang = output_lang(o);
        t.server_name = labtool_serves ? "labtool" : (t.lang == Lang::zh ? "服务器" : "server");
        return make_ladder_renderer(std::cout, t, !live);
    }
    TextOptions t;
    t.color = want_color(o.no_color);
    t.brief = o.brief;
    t.verbose = o.verbose || o.hex;
    t.hex = o.hex;
    t.lang = output_lang(o);
    return make_text_renderer(std::cout, t);
}

namespace {

/// Opens a capture file whose link type labtool decodes; prints the reason and returns false
/// otherwise.
bool open_capture(Lang lang, const std::string& path, std::unique_ptr<capture::FileReader>& reader,
                  std::optional<analysis::LinkType>& link) {
    try {
        reader = std::make_unique<capture::FileReader>(path);
    } catch (const capture::CaptureError& e) {
        print_error(lang, e.what());
        return false;
    }
    link = link_type_for(reader->link_type());
    if (!link) {
        print_error(lang, format_msg(lang, Msg::err_link_type_file, fmt::arg("path", path),
                                     fmt::arg("link", link_type_description(reader->link_type()))));
        return false;
    }
    return true;
}

/// Why reading stopped before the end of the file (everything before it has been handed over).
struct ReadStop {
    bool damaged = false;  // false: cut off in the middle of a record; true: damaged or unreadable
    std::string error;     // the reader's words: where (packet, byte) and why
};

/// Hands every frame of the file to `on_frame` (numbered from 1). Returns why it stopped before
/// the end: a file cut off in the middle of a record, or one damaged (a second link type, an
/// impossible block length, ...) or unreadable past some packet.
std::optional<ReadStop> read_capture(capture::FileReader& reader, analysis::LinkType link,
                                     const std::function<void(std::uint64_t, const analysis::Frame&)>& on_frame) {
    capture::Packet packet;
    for (std::uint64_t frame = 1;; ++frame) {
        capture::ReadStatus status = capture::ReadStatus::end;
        try {
            status = reader.next(packet);
        } catch (const capture::CaptureError& e) {
            return ReadStop{true, e.what()};
        }
        if (status == capture::ReadStatus::end) return std::nullopt;
        if (status == capture::ReadStatus::truncated) return ReadStop{false, reader.error()};
        on_frame(frame, to_frame(packet, link));
    }
}

/// A file removed when the object goes away unless `path` was cleared (a report being written).
struct PartialFile {
    std::filesystem::path path;
    PartialFile() = default;
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;
    ~PartialFile() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove(path, ec);
    }
};

/// "report.html" -> "report.html.<random>.part", in the same folder (so rename() replaces the
/// target in one step, on the same file system).
std::filesystem::path partial_name(const std::filesystem::path& target) {
    std::random_device random;
    std::filesystem::path partial = target;
    partial += "." + std::to_string(random()) + ".part";
    return partial;
}

/// The warning for a file read only up to `stop` (read_capture's result).
std::string cut_off_warning(Lang lang, const std::string& path, const ReadStop& stop) {
    return format_msg(lang, stop.damaged ? Msg::warn_file_unreadable : Msg::warn_file_cut_off, fmt::arg("path", path),
                      fmt::arg("error", stop.error));
}

}  // namespace

// A pcapng's comments (Wireshark's packet and file comments) for a renderer: the file's at once,
// each packet's as its frame is read. Packet comments that labtool wrote itself are skipped (the
// analysis says it all again), and so are all packet comments with `brief`.
class CommentFeed {
public:
    CommentFeed(const std::string& path, Renderer& renderer, bool brief)
        : comments_(capture::read_pcapng_comments(path)), renderer_(renderer) {
        bool own = false;
        for (const auto& c : comments_.file) {
            own = own || CommentedRecorder::is_own_section_comment(c);
            if (!brief) renderer_.on_comment(0, c);
        }
        if (own || brief) comments_.packets.clear();
    }
    void frame(std::uint64_t frame) {
        if (comments_.packets.empty()) return;
        const auto it = comments_.packets.find(frame);
        if (it != comments_.packets.end()) renderer_.on_comment(frame, it->second);
    }

private:
    capture::PcapngComments comments_;
    Renderer& renderer_;
};

int run_replay(const ReplayOptions& options) {
    const Lang lang = output_lang(options.output);
    std::unique_ptr<capture::FileReader> reader;
    std::optional<analysis::LinkType> link;
    if (!open_capture(lang, options.path, reader, link)) return 1;
    auto renderer = make_renderer(options.output, false, false);
    analysis::EngineOptions eo;
    eo.port = options.port;
    eo.emit_packets = options.output.packets || options.output.ladder || options.output.verbose || options.output.hex;
    eo.max_buffered_bytes = static_cast<std::size_t>(options.output.max_buffer_mib) << 20;
    analysis::Engine engine(eo);
    const analysis::Engine::Sink sink = [&](const analysis::Event& e) { renderer->on_event(e); };

    RunSummary summary;
    int exit_code = 0;
    CommentFeed comments(options.path, *renderer, options.output.brief);
    analysis::Timestamp first_ts;
    const auto cut_off = read_capture(*reader, *link, [&](std::uint64_t frame, const analysis::Frame& fr) {
        if (frame == 1) first_ts = fr.ts;
        renderer->on_frame(frame, static_cast<double>(fr.ts.sec - first_ts.sec) + (static_cast<double>(fr.ts.nsec) - first_ts.nsec) / 1e9, fr);
        engine.process(fr, sink);
        comments.frame(frame);
    });
    if (cut_off) {
        exit_code = 1;
        // JSON says it in English, whatever --lang says (as its other values).
        summary.warning = cut_off_warning(options.output.format == OutputFormat::json ? Lang::en : lang, options.path, *cut_off);
    }
    engine.finish(sink);
    summary.engine = engine.stats();
    renderer->on_summary(summary);
    renderer->flush();
    if (cut_off) print_warning(lang, cut_off_warning(lang, options.path, *cut_off));
    return exit_code;
}

int run_report(const ReportOptions& options) {
    const Lang lang = lang_or_environment(options.lang);
    std::unique_ptr<capture::FileReader> reader;
    std::optional<analysis::LinkType> link;
    if (!open_capture(lang, options.path, reader, link)) return 1;
    // The report is written beside the target under a name of its own and takes the target's
    // name only when whole: a failed run leaves no 0-byte or half-written report (and an older
    // report stays as it was).
    PartialFile partial;
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (options.output != "-") {
        partial.path = partial_name(platform::from_utf8(options.output));  // UTF-8 name
        file.open(partial.path, std::ios::binary | std::ios::trunc);
        if (!file) {
            const int error = errno;
            partial.path.clear();  // not created
            print_error(lang, format_msg(lang, Msg::err_cannot_write, fmt::arg("path", options.output),
                                         fmt::arg("error", std::strerror(error))));
            return 1;
        }
        out = &file;
    }
    const std::string title =
        options.title.empty() ? platform::to_utf8(platform::from_utf8(options.path).filename()) : options.title;
    auto renderer = make_html_report(*out, lang, title);
    analysis::EngineOptions eo;
    eo.port = options.port;
    eo.emit_packets = true;   // the diagram draws one arrow per PacketInfo
    analysis::Engine engine(eo);
    const analysis::Engine::Sink sink = [&](const analysis::Event& e) { renderer->on_event(e); };
    RunSummary summary;
    int exit_code = 0;
    CommentFeed comments(options.path, *renderer, false);  // shown beside their packets
    const auto cut_off = read_capture(*reader, *link, [&](std::uint64_t frame, const analysis::Frame& fr) {
        engine.process(fr, sink);
        comments.frame(frame);
    });
    if (cut_off) {
        exit_code = 1;
        summary.warning = cut_off_warning(lang, options.path, *cut_off);
    }
    engine.finish(sink);
    summary.engine = engine.stats();
    renderer->on_summary(summary);   // writes the whole document
    renderer->flush();
    if (file.is_open()) {
        file.close();
        if (!file) {
            print_error(lang, format_msg(lang, Msg::err_write_failed, fmt::arg("path", options.output)));
            return 1;
        }
        std::error_code ec;
        std::filesystem::rename(partial.path, platform::from_utf8(options.output), ec);
        if (ec) {
            print_error(lang, format_msg(lang, Msg::err_cannot_write, fmt::arg("path", options.output),
                                         fmt::arg("error", ec.message())));
            return 1;
        }
        partial.path.clear();  // it is the report now
    }
    if (summary.warning) print_warning(lang, *summary.warning);
    return exit_code;
}

}  // namespace labtool::cli
