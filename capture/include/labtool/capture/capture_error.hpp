// The one exception capture throws: it could not open or use a source, with advice for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace labtool::capture {

enum class CaptureErrorKind {
    permission_denied,  // no right to capture: advice names sudo / setcap / ChmodBPF / Npcap
    no_such_device,
    file_not_found,
    not_a_capture,      // the file is not pcap/pcapng, or a pcapng with mixed link types
    library_missing,    // Windows: Npcap (wpcap.dll) is not installed; live capture is impossible
    other,
};

class CaptureError : public std::runtime_error {
public:
    CaptureError(CaptureErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    [[nodiscard]] CaptureErrorKind kind() const noexcept { return kind_; }

private:
    CaptureErrorKind kind_;
};

}  // namespace labtool::capture
