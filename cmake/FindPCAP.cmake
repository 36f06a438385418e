# FindPCAP: locate libpcap (or Npcap's SDK on Windows) and provide the imported target PCAP::PCAP.
#   PCAP_ROOT may point at an SDK folder (Npcap: the folder holding Include/ and Lib/).
#
# Windows: wpcap.dll is delay-loaded, so labtool.exe starts on a machine without Npcap and loads
# the DLL on its first pcap_* call (code must check that the DLL loads before calling libpcap).
#   MSVC   the Npcap SDK's Lib/x64/wpcap.lib, /DELAYLOAD:wpcap.dll and delayimp.lib.
#   mingw  a delay-import library made from cmake/wpcap.def with dlltool -y (at configure time,
#          again whenever wpcap.def changes); headers from PCAP_ROOT or any pcap/pcap.h in the
#          search path (the cross build: the copy of Debian's in LABTOOL_DEPS_PREFIX).
# A cross build never asks pkg-config: it would describe the host's libpcap.
if(NOT CMAKE_CROSSCOMPILING)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_PCAP QUIET libpcap)
  endif()
endif()

find_path(PCAP_INCLUDE_DIR NAMES pcap/pcap.h pcap.h
  HINTS ${PCAP_ROOT} ${PC_PCAP_INCLUDE_DIRS} PATH_SUFFIXES include Include)

set(_pcap_extra_libs)
set(_pcap_extra_options)
if(WIN32 AND NOT MSVC)
  # mingw: delay-import library for wpcap.dll generated from the .def file.
  set(_pcap_def "${CMAKE_CURRENT_LIST_DIR}/wpcap.def")
  set(_pcap_implib "${CMAKE_BINARY_DIR}/wpcap/libwpcap_delay.a")
  if(NOT CMAKE_DLLTOOL)
    find_program(CMAKE_DLLTOOL NAMES ${CMAKE_CXX_COMPILER_TARGET}-dlltool x86_64-w64-mingw32-dlltool dlltool)
  endif()
  if(NOT CMAKE_DLLTOOL)
    message(FATAL_ERROR "FindPCAP: dlltool not found (Debian: binutils-mingw-w64-x86-64); "
                        "it makes the wpcap.dll delay-import library")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_pcap_def}")
  if("${_pcap_def}" IS_NEWER_THAN "${_pcap_implib}")
    file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/wpcap")
    execute_process(
      COMMAND "${CMAKE_DLLTOOL}" -d "${_pcap_def}" -y "${_pcap_implib}"
      WORKING_DIRECTORY "${CMAKE_BINARY_DIR}/wpcap"
      RESULT_VARIABLE _pcap_rc ERROR_VARIABLE _pcap_err)
    if(NOT _pcap_rc EQUAL 0)
      file(REMOVE "${_pcap_implib}")
      message(FATAL_ERROR "FindPCAP: ${CMAKE_DLLTOOL} -d ${_pcap_def} failed: ${_pcap_err}")
    endif()
  endif()
  set(PCAP_LIBRARY "${_pcap_implib}")
  set(_pcap_extra_libs ws2_32)  # pcap.h includes winsock2.h
else()
  if(WIN32)
    set(_pcap_names wpcap)
    if(CMAKE_SIZEOF_VOID_P EQUAL 8)
      set(_pcap_suffixes Lib/x64 lib/x64 Lib lib)
    else()
      set(_pcap_suffixes Lib lib)
    endif()
    set(_pcap_extra_libs ws2_32 delayimp)
    set(_pcap_extra_options /DELAYLOAD:wpcap.dll)
  else()
    set(_pcap_names pcap)
    set(_pcap_suffixes lib lib64)
  endif()
  find_library(PCAP_LIBRARY NAMES ${_pcap_names}
    HINTS ${PCAP_ROOT} ${PC_PCAP_LIBRARY_DIRS} PATH_SUFFIXES ${_pcap_suffixes})
endif()

set(PCAP_VERSION ${PC_PCAP_VERSION})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(PCAP
  REQUIRED_VARS PCAP_LIBRARY PCAP_INCLUDE_DIR
  VERSION_VAR PCAP_VERSION)

if(PCAP_FOUND AND NOT TARGET PCAP::PCAP)
  add_library(PCAP::PCAP UNKNOWN IMPORTED)
  set_target_properties(PCAP::PCAP PROPERTIES
    IMPORTED_LOCATION "${PCAP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PCAP_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${_pcap_extra_libs}"
    INTERFACE_LINK_OPTIONS "${_pcap_extra_options}")
endif()
mark_as_advanced(PCAP_INCLUDE_DIR PCAP_LIBRARY)
