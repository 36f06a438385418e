// `labtool run`: serve the page, capture its port on loopback, explain every packet live.
// `labtool serve`: the server alone.
#include "frame_adapter.hpp"
#include "commented_recorder.hpp"
#include "explain.hpp"
#include "packet_queue.hpp"
#include "renderer.hpp"
#include "sessions.hpp"

#include "labtool/analysis/engine.hpp"
#include "labtool/capture/capture_error.hpp"
#include "labtool/capture/live_capture.hpp"
#include "labtool/capture/recorder.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"
#include "labtool/platform/socket_io.hpp"
#include "labtool/server/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <system_error>
#include <thread>


namespace labtool::cli {

std::unique_ptr<Renderer> make_renderer(const OutputOptions& o, bool live, bool labtool_serves);

namespace {

std::atomic<bool> stop_requested{false};

/// How often the capture thread hands the recording to the OS: what a kill -9 can lose.
constexpr std::chrono::milliseconds record_flush_interval{100};
/// Recycled packet buffers kept while the queue is idle (the rest go back to the system).
constexpr std::size_t idle_queue_keep_bytes = std::size_t{1} << 20;

void install_stop_handlers() { platform::install_stop_flag(stop_requested); }

/// Resolves the folder to serve; prints an error and returns empty when it is unusable.
std::filesystem::path resolve_root(Lang lang, const std::string& root) {
    namespace fs = std::filesystem;
    if (root.empty()) {
        fs::path builtin = server::builtin_www_root();
        if (builtin.empty()) print_error(lang, format_msg(lang, Msg::err_no_builtin_page));
        return builtin;
    }
    std::error_code ec;
    const fs::path path = platform::from_utf8(root);
    if (!fs::is_directory(path, ec)) {
        print_error(lang, ec ? format_msg(lang, Msg::err_root_not_folder_because, fmt::arg("root", root),
                                          fmt::arg("error", ec.message()))
                             : format_msg(lang, Msg::err_root_not_folder, fmt::arg("root", root)));
        return {};
    }
    return fs::canonical(path, ec);
}

std::string urls(const std::vector<std::string>& hosts, std::uint16_t port) {
    std::string s;
    for (const auto& h : hosts) {
        if (!s.empty()) s += " and ";
        s += "http://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(port) + "/";
    }
    return s;
}

void apply(server::ServerConfig& c, const ServerFlags& f) {
    c.allow_dotfiles = f.allow_dotfiles;
    c.list_dirs = f.list_dirs;
    c.cache_seconds = f.cache_seconds;
    c.cors = f.cors;
    c.header_timeout = std::chrono::seconds(f.header_timeout);
    c.keep_alive_timeout = std::chrono::seconds(f.keep_alive_timeout);
    c.max_connections = f.max_connections;
}

/// Started with sudo: drop root (as tcpdump does) once the capture is open and the port bound
/// (the recording was given to the sudo user when it was opened). Returns false when the drop failed.
bool drop_root(Lang lang) {
    const auto drop = platform::drop_privileges_if_sudo();
    if (drop.error) {
        print_error(lang, drop.message.empty()
                              ? format_msg(lang, Msg::err_drop_root, fmt::arg("error", drop.error.message()))
                              : drop.message);
        return false;
    }
    if (drop.dropped && !drop.message.empty()) std::cerr << "labtool: " << drop.message << "\n";
    if (platform::running_as_root_without_sudo()) print_warning(lang, format_msg(lang, Msg::warn_root_without_sudo));
    return true;
}

int start_error(Lang lang, const std::error_code& ec, std::uint16_t port) {
    if (ec == std::errc::address_in_use)
        print_error(lang, format_msg(lang, Msg::err_port_in_use, fmt::arg("port", port)));
    else if (ec == std::errc::permission_denied)
        print_error(lang, format_msg(lang, Msg::err_port_denied, fmt::arg("port", port), fmt::arg("error", ec.message())));
    else
        print_error(lang, format_msg(lang, Msg::err_listen, fmt::arg("port", port), fmt::arg("error", ec.message())));
    return 1;
}

}  // namespace

int default_buffer_mib() {
    const auto os = platform::os_name();
    if (os == "linux") return 128;
    if (os == "windows") return 8;
    return 4;
}

int run_live(const RunOptions& options) {
    const Lang lang = output_lang(options.output);
    std::filesystem::path root;
    if (options.serve) {
        root = resolve_root(lang, options.root);
        if (root.empty()) return 1;
    }

    // Open the capture before the server listens, so the first connection is not missed.
    std::unique_ptr<capture::LiveCapture> cap;
    try {
        capture::LiveOptions lo;
        lo.interface = options.interface.empty() ? capture::default_loopback_interface() : options.interface;
        lo.filter = "tcp port " + std::to_string(options.port);
        lo.snaplen = options.snaplen;
        lo.buffer_bytes = options.buffer_mib * 1024 * 1024;
        lo.batch_ms = options.batch_ms;
        cap = std::make_unique<capture::LiveCapture>(lo);
    } catch (const capture::CaptureError& e) {
        print_error(lang, e.what());
        return 1;
    }
    const auto link = link_type_for(cap->link_type());
    if (!link) {
        print_error(lang, format_msg(lang, Msg::err_link_type_live, fmt::arg("interface", cap->interface()),
                                     fmt::arg("link", link_type_description(cap->link_type()))));
        return 1;
    }
    // Both kinds are written by the capture thread as packets arrive, before analysis, and
    // flushed every record_flush_interval: what is recorded never waits for analysis, and a kill
    // loses little. .pcapng: each packet waits a moment for its explanation as comment (see
    // commented_recorder.hpp). The headers are flushed now: a path that cannot be written fails here.
    std::unique_ptr<capture::Recorder> recorder;
    std::unique_ptr<CommentedRecorder> commented;
    if (!options.record_path.empty()) {
        try {
            if (CommentedRecorder::wants_pcapng(options.record_path))
                commented = std::make_unique<CommentedRecorder>(options.record_path, cap->link_type(), cap->snaplen(),
                                                                cap->interface(), lang);
            else
                recorder = std::make_unique<capture::Recorder>(options.record_path, cap->link_type(), cap->snaplen());
            if (commented) commented->flush();
            if (recorder) recorder->flush();
        } catch (const capture::CaptureError& e) {
            print_error(lang, e.what());
            return 1;
        }
        if (commented && !commented->warning().empty()) print_warning(lang, commented->warning());
        if (recorder && !recorder->warning().empty()) print_warning(lang, recorder->warning());
    }

 spdlog::set_level(options.access_log ? spdlog::level::info : spdlog::level::warn);
    boost::asio::io_context io;
    server::ServerConfig config;
    config.root = root;
    config.port = options.port;
    config.hosts = options.hosts;
    config.access_log = options.access_log;
    apply(config, options.server);
    std::optional<server::Server> srv;
    if (options.serve) {
        srv.emplace(io, config);
        if (const auto ec = srv->start()) return start_error(lang, ec, options.port);
    }
    if (!drop_root(lang)) return 1;

    install_stop_handlers();
    std::thread io_thread([&io] { io.run(); });

    if (srv) std::cerr << "labtool: serving " << platform::to_utf8(root) << " at " << urls(options.hosts, srv->port()) << "\n";
    std::cerr << "labtool: capturing on " << cap->interface() << " (tcp port " << options.port << ")"
              << (recorder || commented ? ", recording to " + options.record_path : std::string()) << "\n"
              << (srv ? "labtool: open the page in a browser; press Ctrl-C to stop\n"
                      : "labtool: press Ctrl-C to stop\n");

    auto renderer = make_renderer(options.output, true, options.serve);
    analysis::EngineOptions eo;
    eo.port = options.port;
    eo.emit_packets = options.output.packets || options.output.ladder || options.output.verbose || options.output.hex;
    eo.max_buffered_bytes = static_cast<std::size_t>(options.output.max_buffer_mib) << 20;
    analysis::Engine engine(eo);
    const analysis::Engine::Sink sink = [&](const analysis::Event& e) {
        renderer->on_event(e);
        if (commented) commented->on_event(e);
    };

    // Recording, on the capture thread only. A write error stops it and is reported at once, in
    // one line; capture and explanation go on, and the exit status says it failed.
    std::atomic<bool> recording{recorder || commented};
    std::string record_error;  // set by the capture thread, read after it has ended
    auto last_flush = std::chrono::steady_clock::now();
    const auto record_step = [&](const auto& step) {
        if (!recording.load(std::memory_order_relaxed)) return;
        try {
            step();
        } catch (const capture::CaptureError& e) {
            recording = false;
            const std::error_code ec = recorder ? recorder->error() : commented->error();
            record_error = ec ? ec.message() : std::string(e.what());
            const std::uint64_t written = recorder ? recorder->packets_written() : commented->packets_written();
            print_error(lang, format_msg(lang, Msg::err_record_failed, fmt::arg("path", options.record_path),
                                         fmt::arg("error", record_error), fmt::arg("packets", written)));
        }
    };
    // Every record_flush_interval (and when the buffer is full) the recording reaches the file.
    const auto record_tick = [&](bool force) {
        record_step([&] {
            if (commented) commented->pump(false);
            const auto now = std::chrono::steady_clock::now();
            if (!force && now - last_flush < record_flush_interval) return;
            last_flush = now;
            if (commented) commented->flush();
            if (recorder) recorder->flush();
        });
    };

    // The capture thread only reads, records and queues; this thread analyses and prints. The
    // queue is bounded: when analysis falls behind, packets are skipped for analysis (counted,
    // and said), never for the recording.
    PacketQueue queue(static_cast<std::size_t>(options.queue_mib) << 20);
    std::uint64_t captured = 0;
    std::string capture_failure;
    std::thread capture_thread([&] {
        const capture::LiveCapture::Handler handler = [&](const capture::Packet& p) {
            const std::uint64_t number = ++captured;
            if (commented && recording.load(std::memory_order_relaxed)) commented->hold(p, number);
            const bool queued = queue.push(p, number);
            record_step([&] {
                if (recorder) recorder->write(p);  // first: nothing captured is lost
                if (commented) {
                    if (!queued) commented->will_not_be_explained(number);
                    commented->pump(false);
                }
            });
        };
        // Packets waiting for their explanation (pcapng) are looked at often.
        const auto poll_timeout = [&] {
            return commented && recording.load(std::memory_order_relaxed) && commented->holding()
                       ? std::chrono::milliseconds(20)
                       : std::chrono::milliseconds(100);
        };
        try {
            while (!stop_requested.load()) {
                cap->poll(handler, poll_timeout());
                record_tick(false);
            }
            // Stop taking new work: close the server (its FINs are part of the lesson), then
            // keep reading until the ring is quiet and empty, so the teardown is not lost.
            if (srv) srv->stop();
            io_thread.join();
            int quiet_polls = 0;
            for (int i = 0; i < 10 && quiet_polls < 2; ++i) {
                quiet_polls = cap->poll(handler, std::chrono::milliseconds(100)) == 0 ? quiet_polls + 1 : 0;
                record_tick(false);
            }
            cap->drain(handler);
        } catch (const capture::CaptureError& e) {
            capture_failure = e.what();
            if (io_thread.joinable()) {
                if (srv) srv->stop();
                io_thread.join();
            }
        }
        // The last packets wait (at most their hold time) for their explanation; then every
        // packet captured is written and flushed.
        const auto wait_until = std::chrono::steady_clock::now() + CommentedRecorder::hold_time;
        while (commented && recording.load(std::memory_order_relaxed) && commented->holding() &&
               std::chrono::steady_clock::now() < wait_until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            record_tick(false);
        }
        record_step([&] {
            if (commented) commented->pump(true);
        });
        record_tick(true);
        queue.close();
    });

    // Analysis and output yield to the capture thread (and to the server) when the CPU is
    // short: a backlog in the queue is harmless, a full kernel ring loses packets.
    platform::lower_thread_priority();
    QueuedPacket packet;
    std::uint64_t frame_number = 0;
    analysis::Timestamp first_ts;
    std::uint64_t last_number = 0;       // capture number of the last packet analysed
    std::uint64_t not_analysed_said = 0; // skipped packets the user has been told about
    std::uint64_t not_analysed_unsaid = 0;
    auto last_said = std::chrono::steady_clock::time_point{};
    // Skipped packets are said at most once a second (a long overload is one line a second).
    const auto say_not_analysed = [&](bool now_or_never) {
        if (not_analysed_unsaid == 0) return;
        const auto now = std::chrono::steady_clock::now();
        if (!now_or_never && now - last_said < std::chrono::seconds(1)) return;
        not_analysed_said += not_analysed_unsaid;
        print_warning(lang, format_msg(lang, Msg::warn_not_analysed, fmt::arg("n", not_analysed_unsaid),
                                       fmt::arg("mib", options.queue_mib), fmt::arg("frame", frame_number + 1),
                                       fmt::arg("total", not_analysed_said)));
        not_analysed_unsaid = 0;
        last_said = now;
    };
    for (;;) {
        if (queue.pop(packet, std::chrono::milliseconds(50))) {
            if (packet.number > last_number + 1) {
                // Skipped packets keep their numbers: the explanation's frame numbers stay
                // those of the recording (and of Wireshark on it).
                const std::uint64_t skipped = packet.number - last_number - 1;
                not_analysed_unsaid += skipped;
                engine.skip_frames(skipped);
                frame_number += skipped;
                say_not_analysed(false);
            }
            last_number = packet.number;
            const analysis::Frame fr = to_frame(packet.view(), *link);
            if (++frame_number == 1 || first_ts.sec == 0) first_ts = fr.ts;
            renderer->on_frame(frame_number,
                               static_cast<double>(fr.ts.sec - first_ts.sec) + (static_cast<double>(fr.ts.nsec) - first_ts.nsec) / 1e9,
                               fr);
            engine.process(fr, sink);
            if (commented) commented->explained(packet.number);  // its comment, if still waiting
            continue;
        }
        engine.flush(sink);  // idle: a held FIN step need not wait for the next packet
        renderer->flush();   // and show what is pending
        say_not_analysed(true);
        // After a burst: the buffers it needed go back to the system, not only to the allocator.
        if (queue.trim(idle_queue_keep_bytes) > 0) platform::release_free_memory();
        if (queue.closed_and_empty()) break;
    }
    capture_thread.join();
    if (captured > last_number) {  // skipped at the very end, with no packet analysed after them
        not_analysed_unsaid += captured - last_number;
        say_not_analysed(true);
    }
    int exit_code = 0;
    if (!capture_failure.empty()) {
        print_error(lang, capture_failure);
        exit_code = 1;
    }
    engine.finish(sink);
    RunSummary summary;
    summary.engine = engine.stats();
    summary.live = true;
    summary.captured = captured;
    summary.not_analysed = queue.skipped();
    const auto st = cap->stats();
    summary.dropped = st.dropped + st.if_dropped;
    if (recorder || commented) {
        // What the file holds: everything captured, unless writing failed (said at once; the
        // summary says it again, and the exit status is 1).
        summary.record_path = options.record_path;
        summary.recorded = recorder ? recorder->packets_written() : commented->packets_written();
        if (commented) summary.recorded_without_comment = std::min(commented->packets_without_comment(), summary.recorded);
        if (!record_error.empty()) {
            summary.record_error = record_error;
            exit_code = 1;
        }
    }
    renderer->on_summary(summary);
    renderer->flush();
    return exit_code;
}

int run_serve(const ServeOptions& options) {
    const Lang lang = lang_from_environment();  // serve has no --lang
    const auto root = resolve_root(lang, options.root);
    if (root.empty()) return 1;
    spdlog::set_level(options.quiet ? spdlog::level::warn : spdlog::level::info);
    // The server uses the cores it is given: one io_context per thread, each with its own
    // listening sockets (SO_REUSEPORT), as nginx runs one worker per core.
    const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<boost::asio::io_context>> ios;
    std::vector<boost::asio::io_context*> io_ptrs;
    for (unsigned i = 0; i < threads; ++i) {
        // One thread per io_context, and each socket used only on its io_context's thread:
        // Asio may skip the per-socket locks (the scheduler stays locked for posts from others).
        // Without the fast accept, new connections are handed to the io_contexts by the first
        // one's thread, so their reactors must take registrations from other threads.
        ios.push_back(std::make_unique<boost::asio::io_context>(
            platform::fast_accept_supported() ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT));
        io_ptrs.push_back(ios.back().get());
    }
    server::ServerConfig config;
    config.root = root;
    config.port = options.port;
    config.hosts = options.hosts;
    config.access_log = !options.quiet;
    apply(config, options.server);
    server::Server srv(io_ptrs, config);
    if (const auto ec = srv.start()) return start_error(lang, ec, options.port);
    if (!drop_root(lang)) return 1;
    install_stop_handlers();
    std::cerr << "labtool: serving " << platform::to_utf8(root) << " at " << urls(options.hosts, srv.port())
              << " (no capture); press Ctrl-C to stop\n";
    // The first io_context runs on this thread (one thread fewer: with --threads 1 the process
    // stays single-threaded, and glibc skips the cancellation bookkeeping around each system
    // call); it also polls for Ctrl-C.
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < io_ptrs.size(); ++i) pool.emplace_back([io = io_ptrs[i]] { io->run(); });
    boost::asio::steady_timer stop_poll(*io_ptrs.front());
    std::function<void()> poll = [&] {
        stop_poll.expires_after(std::chrono::milliseconds(100));
        stop_poll.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            if (stop_requested.load()) return srv.stop();
            poll();
        });
    };
    poll();
    io_ptrs.front()->run();
    for (auto& t : pool) t.join();
    return 0;
}

}  // namespace labtool::cli
