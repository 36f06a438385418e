# Cross build for 64-bit Windows with Debian's mingw-w64 (posix threads), tests run under wine.
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake \
#         -DLABTOOL_DEPS_PREFIX=$PWD/build-win-deps
# scripts/cross-windows.sh prepares LABTOOL_DEPS_PREFIX (header copies, GoogleTest) and does all
# of this. The host's /usr/include is never searched: glibc headers break mingw.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_mingw}-windres)
find_program(CMAKE_DLLTOOL NAMES ${_mingw}-dlltool REQUIRED)

# Folder with the dependency headers and libraries built for Windows (include/, lib/): from the
# cache, the environment or beside the source tree. Passed on to try_compile projects.
if(NOT LABTOOL_DEPS_PREFIX)
  if(DEFINED ENV{LABTOOL_DEPS_PREFIX})
    set(LABTOOL_DEPS_PREFIX "$ENV{LABTOOL_DEPS_PREFIX}")
  else()
    get_filename_component(LABTOOL_DEPS_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../build-win-deps" ABSOLUTE)
  endif()
endif()
set(LABTOOL_DEPS_PREFIX "${LABTOOL_DEPS_PREFIX}" CACHE PATH "Windows dependency prefix (include/, lib/)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LABTOOL_DEPS_PREFIX)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw} "${LABTOOL_DEPS_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools (dlltool, wine) come from the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config would report the host's .pc files (libpcap.pc): never in this build.
set(ENV{PKG_CONFIG_LIBDIR} "${LABTOOL_DEPS_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest, gtest_discover_tests and add_test(COMMAND <target>) run the .exe files under wine.
# The wine prefix: $WINEPREFIX if set, else <build>/wineprefix (made on first use, ~20 s).
set(CMAKE_CROSSCOMPILING_EMULATOR
    ${CMAKE_COMMAND} -E env "LABTOOL_WINE_DEFAULT_PREFIX=${CMAKE_BINARY_DIR}/wineprefix"
    ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh)

# Self-contained .exe files: only Windows' own DLLs (and wpcap.dll, delay-loaded) at run time.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")

# Windows 10 API level; no min/max macros; windows.h without objbase.h's `interface` macro.
# Defined empty, as sources that `#define NOMINMAX` themselves do, so there is no redefinition.
set(_labtool_win_defs "-D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN= -DNOMINMAX=")
set(CMAKE_C_FLAGS_INIT "${_labtool_win_defs}")
set(CMAKE_CXX_FLAGS_INIT "${_labtool_win_defs}")
