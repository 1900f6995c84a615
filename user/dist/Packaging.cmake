# cpack -G DEB (in the build directory) makes memtrace_VERSION_ARCH.deb from the install rules: the
# binary in /usr/bin, the man page, the bash completion, the systemd unit, the Prometheus examples.
# Nothing under tests/ installs anything, so no test binary gets in (tests/package checks the list).
set(MEMTRACE_PACKAGE_CONTACT "memtrace maintainers <maintainers@memtrace.invalid>" CACHE STRING
    "Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME memtrace)
set(CPACK_PACKAGE_VENDOR memtrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${MEMTRACE_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "trace page faults, brk and mmap of processes, attributed to memory segments")
set(CPACK_PACKAGE_DESCRIPTION
    "memtrace traces every page fault, brk and mmap of a process with CO-RE eBPF\n\
programs and attributes each fault to the segment it hit: .text, .rodata, .data\n\
and .bss of each mapped ELF file, the heap, the main and thread stacks,\n\
anonymous mappings, mapped files, shared memory. It shows them live in the\n\
terminal, as text, JSON or one line per event, records them to a trace file\n\
for later reports and comparisons, and explains crashes in the words of the\n\
memory layout. A systemd unit runs it as a Prometheus exporter.\n\
Tracing needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # memtrace_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS bash-completion)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, linux-perf, bpftrace")
# Depends: from the libraries the binary links, by dpkg-shlibdeps (package dpkg-dev).
find_program(DPKG_SHLIBDEPS_EXECUTABLE dpkg-shlibdeps)
if(DPKG_SHLIBDEPS_EXECUTABLE)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(WARNING "dpkg-shlibdeps (package dpkg-dev) not found: cpack -G DEB would make a package without Depends")
endif()
# systemctl daemon-reload on install and removal, stop on removal (never enabled by installing).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
