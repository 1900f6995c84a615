# Builds a BPF object with clang and its libbpf skeleton header with bpftool.
#
#   add_bpf_skeleton(<target> SOURCE <file.bpf.c> [INCLUDES dir...])
#
# creates an INTERFACE library <target> whose include directory holds <name>.skel.h, so C++
# code gets the skeleton by linking <target>. The skeleton is written to a temporary file and
# moved into place, so a failed bpftool run never leaves a half-written header behind.

find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

# clang -target bpf does not search the host's system include directories; hand them over with
# -idirafter so <linux/types.h> and friends resolve the way the host compiler resolves them.
function(_bpf_system_includes out_var)
  execute_process(COMMAND ${BPF_CLANG} -v -E -
                  INPUT_FILE /dev/null OUTPUT_QUIET ERROR_VARIABLE clang_out)
  string(REGEX MATCH "#include <...> search starts here:\n(.*)End of search list" _ "${clang_out}")
  string(REPLACE "\n" ";" dirs "${CMAKE_MATCH_1}")
  set(flags "")
  foreach(dir IN LISTS dirs)
    string(STRIP "${dir}" dir)
    if(dir)
      list(APPEND flags -idirafter ${dir})
    endif()
  endforeach()
  set(${out_var} ${flags} PARENT_SCOPE)
endfunction()

function(add_bpf_skeleton target)
  cmake_parse_arguments(ARG "" "SOURCE" "INCLUDES" ${ARGN})
  get_filename_component(src ${ARG_SOURCE} ABSOLUTE)
  get_filename_component(name ${src} NAME)
  string(REGEX REPLACE "\\.bpf\\.c$" "" name ${name})

  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${target})
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  file(MAKE_DIRECTORY ${out_dir})

  _bpf_system_includes(sys_includes)
  set(include_flags "")
  foreach(dir IN LISTS ARG_INCLUDES)
    list(APPEND include_flags -I${dir})
  endforeach()

  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set(bpf_arch x86)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
    set(bpf_arch arm64)
  else()
    set(bpf_arch ${CMAKE_SYSTEM_PROCESSOR})
  endif()

  set(bpf_headers "")
  foreach(dir IN LISTS ARG_INCLUDES)
    file(GLOB_RECURSE dir_headers ${dir}/*.h)
    list(APPEND bpf_headers ${dir_headers})
  endforeach()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -target bpf -D__TARGET_ARCH_${bpf_arch}
            ${include_flags} ${sys_includes} -c ${src} -o ${obj}
    DEPENDS ${src} ${bpf_headers}
    COMMENT "BPF object ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skel})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${out_dir})
endfunction()
