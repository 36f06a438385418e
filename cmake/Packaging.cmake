# Packaging: `cpack` in a build folder makes labtool-<version>-<system>.zip on Windows and
# labtool-<version>-<system>.tar.gz elsewhere from the install rules of cli/ (labtool, in bin/)
# and www/ (the built-in page). Included once, at the end of the top-level CMakeLists.txt.
#   cmake --build build --config Release && cd build && cpack -C Release
# Npcap's wpcap.dll / Packet.dll are never packed: they come with Npcap's installer (its free
# licence does not allow shipping them, and they must match the installed driver). labtool.exe
# loads wpcap.dll only when it captures.

set(CPACK_PACKAGE_NAME labtool)
set(CPACK_PACKAGE_VENDOR labtool)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")

if(WIN32)
  set(CPACK_GENERATOR ZIP)
  if(CMAKE_SIZEOF_VOID_P EQUAL 8)
    set(_labtool_package_system windows-x64)
  else()
    set(_labtool_package_system windows-x86)
  endif()
elseif(APPLE)
  set(CPACK_GENERATOR TGZ)
  set(_labtool_package_system macos-${CMAKE_SYSTEM_PROCESSOR})
else()
  set(CPACK_GENERATOR TGZ)
  string(TOLOWER "${CMAKE_SYSTEM_NAME}-${CMAKE_SYSTEM_PROCESSOR}" _labtool_package_system)
endif()
# One folder of that name inside the archive (bin/labtool, bin/www or share/labtool/www).
set(CPACK_PACKAGE_FILE_NAME labtool-${PROJECT_VERSION}-${_labtool_package_system})
set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
set(CPACK_PACKAGE_CHECKSUM SHA256)
set(CPACK_STRIP_FILES ON)  # a no-op for MSVC (symbols are in the .pdb, which is not packed)

# The runtime an MSVC-built labtool.exe needs beside it. None is needed for a static build
# (vcpkg triplet x64-windows-static with CMAKE_MSVC_RUNTIME_LIBRARY=MultiThreaded, as CI and
# the README build it) or for mingw-w64 (linked with -static).
if(MSVC AND (NOT DEFINED CMAKE_MSVC_RUNTIME_LIBRARY OR CMAKE_MSVC_RUNTIME_LIBRARY MATCHES "DLL"))
  set(CMAKE_INSTALL_SYSTEM_RUNTIME_DESTINATION bin)
  include(InstallRequiredSystemLibraries)  # msvcp140.dll, vcruntime140.dll, … into bin/
endif()
# A dynamic vcpkg triplet (x64-windows): the DLLs of the imported libraries labtool links
# (fmt, spdlog, …). PCAP::PCAP is not a SHARED imported target, so wpcap.dll is never among them.
if(WIN32 AND DEFINED VCPKG_TARGET_TRIPLET AND NOT VCPKG_TARGET_TRIPLET MATCHES "static"
   AND CMAKE_VERSION VERSION_GREATER_EQUAL 3.21)
  install(FILES $<TARGET_RUNTIME_DLLS:labtool> DESTINATION bin)
endif()

include(CPack)
