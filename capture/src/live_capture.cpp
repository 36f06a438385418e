// LiveCapture: libpcap in immediate, non-blocking mode with a large ring, read by poll(2).
#ifdef _WIN32
// Before any header that may pull in <windows.h> (pcap.h does, via winsock2.h): keep its
// min/max macros and its `interface` macro (objbase.h) away from std::min and our names.
#define NOMINMAX
#define WIN32_LEAN_AND_MEAN
#endif

#include "labtool/capture/live_capture.hpp"

#include "labtool/capture/capture_error.hpp"
#include "labtool/platform/files.hpp"
#include "labtool/platform/process.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#ifdef interface
#undef interface
#endif
#else
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#endif

namespace labtool::capture {

namespace {

// pcap_set_timeout only matters in blocking mode; we read non-blocking, but libpcap wants a
// value before activation and some platforms use it to batch BPF reads.
constexpr int read_timeout_ms = 100;
// One poll() reads bursts fully: dispatch again while packets keep coming, up to this bound so
// a flood cannot keep poll() from returning.
constexpr int max_dispatch_rounds = 64;
// drain(): the ring counts as empty after this many empty reads in a row, with a short pause
// between them so packets still in flight through the loopback path can land.
constexpr int drain_empty_reads = 3;
constexpr std::chrono::milliseconds drain_pause{10};
constexpr int max_drain_reads = 10000;  // hard bound even if traffic never stops
constexpr std::uint32_t nsec_per_usec = 1000;

std::string device_list() {
    pcap_if_t* devices = nullptr;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    if (pcap_findalldevs(&devices, errbuf) != 0) {
        return std::string("(could not list devices: ") + errbuf + ")";
    }
    std::string names;
    for (pcap_if_t* dev = devices; dev != nullptr; dev = dev->next) {
        if (!names.empty()) {
            names += ", ";
        }
        names += dev->name;
    }
    pcap_freealldevs(devices);
    return names.empty() ? std::string("(none visible)") : names;
}

std::string permission_message(const std::string& interface, const std::string& reason) {
    std::string message = "no permission to capture on " + interface;
    if (!reason.empty()) {
        message += " (" + reason + ")";
    }
    const auto os = platform::os_name();
    if (os == "windows") {
        message += ": Npcap was installed for administrators only: run labtool from an administrator "
                   "prompt, or reinstall Npcap without \"Restrict Npcap driver's access to Administrators only\"";
    } else if (os == "linux") {
        const auto self = platform::executable_path();
        message += ": run with sudo, or grant the capability once: sudo setcap cap_net_raw,cap_net_admin=eip " +
                   (self.empty() ? std::string("<path of labtool>") : platform::to_utf8(self));
    } else {
        message += ": run with sudo, or let your user read the BPF devices (/dev/bpf*): on macOS install "
                   "Wireshark's ChmodBPF and log in again";
    }
    return message;
}

bool mentions_permission(const std::string& text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("operation not permitted") != std::string::npos ||
           lower.find("permission") != std::string::npos;
}

// Before the first pcap_* call: on Windows wpcap.dll is delay-loaded, and a call without it
// would end the process, so its absence becomes one clear error here. Then libpcap is told that
// our strings (device names, errors) are UTF-8, not the ANSI code page (libpcap >= 1.10).
void ensure_library() {
    std::string why;
    if (!platform::load_capture_library(why)) throw CaptureError(CaptureErrorKind::library_missing, why);
#ifdef PCAP_CHAR_ENC_UTF_8
    static std::once_flag once;
    std::call_once(once, [] {
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        (void)pcap_init(PCAP_CHAR_ENC_UTF_8, errbuf);  // fails only on old libpcap: keep the default
    });
#endif
}

#if defined(__linux__)
// Linux, immediate mode: libpcap (1.10) makes a TPACKET_V2 ring of equal slots, each
// TPACKET_ALIGN(68 + frame) bytes (its headers, then the frame: the snaplen, but at most
// max(MTU, 65535) + 18 on an Ethernet-like interface such as lo), in blocks of a power of two of
// at least a page with no slot across two blocks, and enough slots for the buffer it is given.
// A whole loopback packet (65554 bytes) makes 65632-byte slots in 128 KiB blocks: half of every
// block unused, so a buffer of B gave a ring of 2B. This returns the buffer to ask for so that
// the ring (what the process really holds) is `wanted` bytes, rounded down to whole blocks.
constexpr long tpacket_v2_headers = 68;
constexpr long tpacket_alignment = 16;
constexpr long ethernet_overhead = 18;  // libpcap's allowance: header and CRC
constexpr long largest_offloaded_packet = 65535;

long interface_mtu(const std::string& name, bool& ethernet_like) {
    ethernet_like = false;
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -1;
    ifreq req{};
    name.copy(req.ifr_name, sizeof req.ifr_name - 1);
    long mtu = -1;
    if (::ioctl(fd, SIOCGIFMTU, &req) == 0) mtu = req.ifr_mtu;
    ifreq hw{};
    name.copy(hw.ifr_name, sizeof hw.ifr_name - 1);
    // ARPHRD_ETHER 1 and ARPHRD_LOOPBACK 772 are the ones libpcap captures as DLT_EN10MB.
    if (::ioctl(fd, SIOCGIFHWADDR, &hw) == 0)
        ethernet_like = hw.ifr_hwaddr.sa_family == 1 || hw.ifr_hwaddr.sa_family == 772;
    ::close(fd);
    return mtu;
}

int ring_request(const std::string& interface, int snaplen, int wanted) {
    long page = ::sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    long frame = std::max(snaplen, 1);
    bool ethernet_like = false;
    const long mtu = interface_mtu(interface, ethernet_like);
    if (mtu > 0 && ethernet_like) frame = std::min(frame, std::max(mtu, largest_offloaded_packet) + ethernet_overhead);
    const long slot = (tpacket_v2_headers + frame + tpacket_alignment - 1) / tpacket_alignment * tpacket_alignment;
    long block = page;
    while (block < slot) block *= 2;
    const long per_block = block / slot;
    const long blocks = std::max(1L, static_cast<long>(wanted) / block);
    return static_cast<int>(std::min<long>(blocks * per_block * slot, wanted));
}
#endif

}  // namespace

std::string default_loopback_interface() {
    ensure_library();
    pcap_if_t* devices = nullptr;
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    if (pcap_findalldevs(&devices, errbuf) != 0 || devices == nullptr) {
        // Without capture rights some systems list nothing; the name is still well known.
#if defined(__linux__)
        return "lo";
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
        return "lo0";
#else
        throw CaptureError(CaptureErrorKind::no_such_device,
                           std::string("cannot list capture devices: ") + errbuf +
                               " (Windows: install Npcap with loopback support)");
#endif
    }

    std::string preferred;
    std::string first_loopback;
    std::string npcap_loopback;
    for (pcap_if_t* dev = devices; dev != nullptr; dev = dev->next) {
        const std::string name = dev->name;
        const std::string description = dev->description != nullptr ? dev->description : "";
        if (name == "lo" || name == "lo0") {
            preferred = name;
        }
        if ((dev->flags & PCAP_IF_LOOPBACK) != 0 && first_loopback.empty()) {
            first_loopback = name;
        }
        if (npcap_loopback.empty() &&
            (name.find("NPF_Loopback") != std::string::npos ||
             description.find("Adapter for loopback traffic capture") != std::string::npos)) {
            npcap_loopback = name;
        }
    }
    pcap_freealldevs(devices);

    for (const std::string* candidate : {&preferred, &first_loopback, &npcap_loopback}) {
        if (!candidate->empty()) {
            return *candidate;
        }
    }
    throw CaptureError(CaptureErrorKind::no_such_device,
                       "no loopback interface found among: " + device_list() +
                           " (Windows: install Npcap with \"Support loopback traffic\")");
}

struct LiveCapture::Impl {
    pcap_t* handle = nullptr;
    std::string interface;
    int link_type = 0;
    int snaplen = 0;
    bool nano = false;              // libpcap delivers ns (else µs, converted per packet)
    std::uint64_t received = 0;

    // State of the dispatch in progress, read by the C callback.
    const Handler* handler = nullptr;
    std::exception_ptr handler_error;

    ~Impl() {
        if (handle != nullptr) {
            pcap_close(handle);
        }
    }

    static void on_packet(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
        auto* self = reinterpret_cast<Impl*>(user);
        if (self->handler_error) {
            return;  // pcap_breakloop is pending; the dispatch ends after this packet
        }
        Packet packet;
        packet.ts.sec = static_cast<std::int64_t>(header->ts.tv_sec);
        packet.ts.nsec = self->nano
                             ? static_cast<std::uint32_t>(header->ts.tv_usec)
                             : static_cast<std::uint32_t>(header->ts.tv_usec) * nsec_per_usec;
        packet.caplen = header->caplen;
        packet.len = header->len;
        packet.data = std::span<const std::uint8_t>(bytes, header->caplen);
        ++self->received;
        // Exceptions must not unwind through libpcap's C frames: park it and stop the loop.
        try {
            (*self->handler)(packet);
        } catch (...) {
            self->handler_error = std::current_exception();
            pcap_breakloop(self->handle);
        }
    }

    // One non-blocking pcap_dispatch; returns packets handled. Rethrows a handler's exception.
    int dispatch_once(const Handler& h) {
        handler = &h;
        const int rc = pcap_dispatch(handle, -1, &Impl::on_packet, reinterpret_cast<u_char*>(this));
        handler = nullptr;
        if (handler_error) {
            std::exception_ptr error = handler_error;
            handler_error = nullptr;
            std::rethrow_exception(error);
        }
        if (rc == PCAP_ERROR) {
            throw CaptureError(CaptureErrorKind::other,
                               "capture on " + interface + " failed: " + pcap_geterr(handle));
        }
        return rc > 0 ? rc : 0;  // PCAP_ERROR_BREAK without a handler error: nothing to report
    }

    // Waits until the capture has something to read or `timeout` passes.
    bool wait_readable(std::chrono::milliseconds timeout) {
#ifdef _WIN32
        const HANDLE event = pcap_getevent(handle);
        const auto ms = static_cast<DWORD>(std::max<std::int64_t>(0, timeout.count()));
        return WaitForSingleObject(event, ms) == WAIT_OBJECT_0;
#else
        const int fd = pcap_get_selectable_fd(handle);
        if (fd < 0) {
            // No selectable descriptor (rare): sleep for libpcap's required interval instead.
            const timeval* required = pcap_get_required_select_timeout(handle);
            auto pause = timeout;
            if (required != nullptr) {
                pause = std::min(pause, std::chrono::milliseconds(required->tv_sec * 1000 +
                                                                  required->tv_usec / 1000));
            }
            std::this_thread::sleep_for(pause);
            return true;
        }
        pollfd pfd{};
        pfd.fd = fd;
        pfd.events = POLLIN;
        const auto clamped = std::clamp<std::int64_t>(timeout.count(), 0, INT_MAX);
        const int rc = ::poll(&pfd, 1, static_cast<int>(clamped));
        if (rc < 0) {
            if (errno == EINTR) {
                return true;  // a signal (Ctrl-C): let the caller look at the ring and decide
            }
            throw CaptureError(CaptureErrorKind::other,
                               "capture on " + interface + " failed: poll: " +
                                   std::generic_category().message(errno));
        }
        return rc > 0;
#endif
    }
};

LiveCapture::LiveCapture(const LiveOptions& options) : impl_(std::make_unique<Impl>()) {
    ensure_library();
    Impl& impl = *impl_;
    impl.interface = options.interface.empty() ? default_loopback_interface() : options.interface;
    const std::string& name = impl.interface;

    char errbuf[PCAP_ERRBUF_SIZE] = {};
    impl.handle = pcap_create(name.c_str(), errbuf);
    if (impl.handle == nullptr) {
        const std::string reason = errbuf;
        if (mentions_permission(reason)) {
            throw CaptureError(CaptureErrorKind::permission_denied,
                               permission_message(name, reason));
        }
        throw CaptureError(CaptureErrorKind::other, "cannot capture on " + name + ": " + reason);
    }

    // These only fail on an already activated handle, which this one is not.
    pcap_set_snaplen(impl.handle, options.snaplen);
    // Immediate mode: each packet is readable as soon as it is captured (a TPACKET_V2 ring).
    // Batched: the kernel hands over blocks of packets (TPACKET_V3) at most batch_ms late,
    // far fewer wakeups for high packet rates.
    pcap_set_immediate_mode(impl.handle, options.batch_ms > 0 ? 0 : 1);
    int buffer_bytes = options.buffer_bytes;
#if defined(__linux__)
    // The ring is what -B says (see ring_request); batched mode's TPACKET_V3 ring already is.
    if (options.batch_ms == 0) buffer_bytes = ring_request(name, options.snaplen, options.buffer_bytes);
#endif
    pcap_set_buffer_size(impl.handle, buffer_bytes);
    pcap_set_timeout(impl.handle, options.batch_ms > 0 ? options.batch_ms : read_timeout_ms);
    pcap_set_promisc(impl.handle, 0);
    // Nanoseconds where the platform has them; otherwise microseconds, scaled per packet.
    pcap_set_tstamp_precision(impl.handle, PCAP_TSTAMP_PRECISION_NANO);

    const int status = pcap_activate(impl.handle);
    if (status < 0) {
        const std::string detail = pcap_geterr(impl.handle);
        const std::string reason = detail.empty() ? pcap_statustostr(status) : detail;
        switch (status) {
        case PCAP_ERROR_PERM_DENIED:
        case PCAP_ERROR_PROMISC_PERM_DENIED:
            throw CaptureError(CaptureErrorKind::permission_denied,
                               permission_message(name, reason));
        case PCAP_ERROR_NO_SUCH_DEVICE:
            throw CaptureError(CaptureErrorKind::no_such_device,
                               "no interface named " + name + "; available: " + device_list());
        case PCAP_ERROR_IFACE_NOT_UP:
            throw CaptureError(CaptureErrorKind::other,
                               "cannot capture on " + name + ": the interface is down (" +
                                   reason + ")");
        default:
            if (mentions_permission(reason)) {
                throw CaptureError(CaptureErrorKind::permission_denied,
                                   permission_message(name, reason));
            }
            throw CaptureError(CaptureErrorKind::other,
                               "cannot capture on " + name + ": " + reason);
        }
    }
    // status > 0 is a warning (e.g. PCAP_WARNING_TSTAMP_TYPE_NOTSUP): the capture works.

    impl.nano = pcap_get_tstamp_precision(impl.handle) == PCAP_TSTAMP_PRECISION_NANO;
    impl.link_type = pcap_datalink(impl.handle);
    impl.snaplen = pcap_snapshot(impl.handle);

    if (!options.filter.empty()) {
        bpf_program program{};
        if (pcap_compile(impl.handle, &program, options.filter.c_str(), 1,
                         PCAP_NETMASK_UNKNOWN) != 0) {
            throw CaptureError(CaptureErrorKind::other, "invalid capture filter \"" +
                                                            options.filter +
                                                            "\": " + pcap_geterr(impl.handle));
        }
        const int rc = pcap_setfilter(impl.handle, &program);
        pcap_freecode(&program);
        if (rc != 0) {
            throw CaptureError(CaptureErrorKind::other,
                               "cannot install capture filter \"" + options.filter +
                                   "\" on " + name + ": " + pcap_geterr(impl.handle));
        }
    }

    if (pcap_setnonblock(impl.handle, 1, errbuf) != 0) {
        throw CaptureError(CaptureErrorKind::other,
                           "cannot capture on " + name + ": " + errbuf);
    }
}

LiveCapture::~LiveCapture() = default;

const std::string& LiveCapture::interface() const noexcept { return impl_->interface; }

int LiveCapture::link_type() const noexcept { return impl_->link_type; }

int LiveCapture::snaplen() const noexcept { return impl_->snaplen; }

int LiveCapture::poll(const Handler& handler, std::chrono::milliseconds timeout) {
    // Packets may already be waiting (read_timeout and ring semantics differ per platform).
    int handled = impl_->dispatch_once(handler);
    if (handled == 0) {
        if (!impl_->wait_readable(timeout)) {
            return 0;
        }
        handled = impl_->dispatch_once(handler);
    }
    // A burst may span several ring blocks: keep reading while packets keep coming.
    for (int round = 1; round < max_dispatch_rounds; ++round) {
        const int more = impl_->dispatch_once(handler);
        if (more == 0) {
            break;
        }
        handled += more;
    }
    return handled;
}

int LiveCapture::drain(const Handler& handler) {
    int handled = 0;
    int empty_in_a_row = 0;
    for (int reads = 0; reads < max_drain_reads && empty_in_a_row < drain_empty_reads; ++reads) {
        const int got = impl_->dispatch_once(handler);
        handled += got;
        if (got == 0) {
            ++empty_in_a_row;
            if (empty_in_a_row < drain_empty_reads) {
                std::this_thread::sleep_for(drain_pause);
            }
        } else {
            empty_in_a_row = 0;
        }
    }
    return handled;
}

CaptureStats LiveCapture::stats() const {
    pcap_stat raw{};
    if (pcap_stats(impl_->handle, &raw) != 0) {
        throw CaptureError(CaptureErrorKind::other, "cannot read capture statistics on " +
                                                        impl_->interface + ": " +
                                                        pcap_geterr(impl_->handle));
    }
    CaptureStats stats;
    stats.received = impl_->received;
    stats.dropped = raw.ps_drop;
    stats.if_dropped = raw.ps_ifdrop;
    return stats;
}

}  // namespace labtool::capture
