# FindPCAP: locate libpcap (or Npcap's SDK on Windows) and provide the imported target PCAP::PCAP.
#   PCAP_ROOT may point at an SDK folder (Npcap: the folder holding Include/ and Lib/).
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_PCAP QUIET libpcap)
endif()

find_path(PCAP_INCLUDE_DIR NAMES pcap/pcap.h pcap.h
  HINTS ${PCAP_ROOT} ${PC_PCAP_INCLUDE_DIRS} PATH_SUFFIXES include Include)
if(WIN32)
  set(_pcap_names wpcap)
  if(CMAKE_SIZEOF_VOID_P EQUAL 8)
    set(_pcap_suffixes Lib/x64 lib/x64 Lib lib)
  else()
    set(_pcap_suffixes Lib lib)
  endif()
else()
  set(_pcap_names pcap)
  set(_pcap_suffixes lib lib64)
endif()
find_library(PCAP_LIBRARY NAMES ${_pcap_names}
  HINTS ${PCAP_ROOT} ${PC_PCAP_LIBRARY_DIRS} PATH_SUFFIXES ${_pcap_suffixes})

set(PCAP_VERSION ${PC_PCAP_VERSION})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(PCAP
  REQUIRED_VARS PCAP_LIBRARY PCAP_INCLUDE_DIR
  VERSION_VAR PCAP_VERSION)

if(PCAP_FOUND AND NOT TARGET PCAP::PCAP)
  add_library(PCAP::PCAP UNKNOWN IMPORTED)
  set_target_properties(PCAP::PCAP PROPERTIES
    IMPORTED_LOCATION "${PCAP_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PCAP_INCLUDE_DIR}")
endif()
mark_as_advanced(PCAP_INCLUDE_DIR PCAP_LIBRARY)
