// Clocks for server deadlines and the Date header: cheap to read, whole-second accuracy is enough.
// Linux reads the coarse clocks (no TSC read); elsewhere the ordinary ones.
#pragma once

#include <cstdint>

namespace labtool::platform {

/// Monotonic time in nanoseconds (a few milliseconds of resolution on Linux).
std::int64_t coarse_monotonic_ns();

/// Wall-clock seconds since 1970.
std::int64_t coarse_realtime_seconds();

}  // namespace labtool::platform
