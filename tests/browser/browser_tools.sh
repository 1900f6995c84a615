# Sourced by the browser tests: finds node and chromium (the paths CMake found, or on PATH) and
# page_check.js, or ends the test: exit 77 (ctest's skip), or 1 when CI=true.
unavailable() {
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: $1 (CI=true: the browser tests must run)" >&2
    exit 1
  fi
  echo "SKIP: $1" >&2
  exit 77
}
find_tool() {  # $1: path CMake found (may be *-NOTFOUND or empty), $2: name on PATH
  if [[ -n $1 && -x $1 ]]; then echo "$1"; else command -v "$2" || true; fi
}
node=$(find_tool "${NODE:-}" node)
chromium=$(find_tool "${CHROMIUM:-}" chromium)
[[ -n $node ]] || unavailable "node is not installed (apt-get install nodejs)"
[[ -n $chromium ]] || unavailable "chromium is not installed (apt-get install chromium)"
page_check=${PAGE_CHECK:-$(dirname "$0")/page_check.js}
