#!/usr/bin/env bash
# Browser test of the flame graph SVG: writes one from a fixture with memtrace's writer
# (flamegraph_svg_cli), loads it in headless Chromium (page_check.js) and checks, in the page, that
# it loads without a console error, draws every frame of the file, keeps hostile names as text,
# fits its labels, zooms on a click (and back), shows details on hover and finds frames by regex.
#
#   flamegraph_browser_test.sh svg|html FLAMEGRAPH_SVG_CLI FOLDED OUT_DIR
#
# svg: a standalone .svg file. html: a page holding two graphs inline; a click in the second must
# leave the first alone. Screenshots stay in OUT_DIR. Without node or chromium: exit 77 (ctest's
# skip), or 1 when CI=true.
set -euo pipefail
mode=$1 cli=$2 folded=$3 out=$4

# shellcheck source=browser_tools.sh
source "$(dirname "$0")/browser_tools.sh"  # node, chromium, page_check

mkdir -p "$out"
if [[ $mode == svg ]]; then
  page=$out/flamegraph.svg
  "$cli" --title "Page faults of app" --subtitle "counts are estimates: 1 in 64 faults sampled, scaled" \
    --unit faults "$folded" "$page"
  graphs=1
  root="document.documentElement"
else
  page=$out/flamegraphs.html
  "$cli" --title "Page faults of app" --unit faults --html "$folded" "$page"
  graphs=2
  root="document.querySelector('#second svg')"
fi
# Frames the file holds (one per line), what the fixture says the malloc frames weigh.
frames=$(($(grep -c '^<g class="f"' "$page") / graphs))
malloc_share=$(awk '{ total += $NF } /;malloc [0-9]+$/ { m += $NF } END { printf "%.2f", 100 * m / total }' "$folded")
((frames >= 20)) || { echo "FAIL: only $frames frames in $page" >&2; exit 1; }

# Helpers in the page: the graph under test, its frames, one by name, widths, visible frames.
setup="window.fg = (() => {
  const svg = $root;
  const groups = () => Array.from(svg.querySelectorAll('g.f'));
  const named = (name) => groups().find((g) => g.querySelector('title').textContent.split('\n')[0] === name);
  const width = (name) => Number(named(name).querySelector('rect').getAttribute('width'));
  const visible = () => groups().filter((g) => g.style.display !== 'none').length;
  return { svg, api: svg.memtraceFlameGraph, groups, named, width, visible, start: { parse: width('parse_input'), tokenize: width('tokenize') } };
})(); fg.groups().length"
frame_named() { echo "fg.named('$1')"; }
labels_fit="fg.groups().every((g) => g.querySelector('text').getComputedTextLength() <= Number(g.querySelector('rect').getAttribute('width')))"

steps=(
  --eval "$setup"
  --assert "fg.groups().length === $frames && fg.api.frames === $frames && fg.visible() === $frames"
  --assert "document.querySelectorAll('script').length === $graphs"
  --assert "fg.named('<script>alert(1)</script>') !== undefined && fg.named(']]><svg onload=alert(2)>') !== undefined"
  --assert "fg.width('all') === 1180 && fg.api.zoomedFrame() === -1"
  --assert "$labels_fit"
  --screenshot "$out/$mode-initial.png"
  --click "$(frame_named parse_input)"
  --eval "({ visible: fg.visible(), zoomed: fg.api.zoomedFrame(), parse_input: fg.width('parse_input'), tokenize: fg.width('tokenize') })"
  --assert "fg.api.zoomedFrame() === fg.groups().indexOf(fg.named('parse_input'))"
  --assert "fg.visible() < $frames && fg.named('worker').style.display === 'none'"
  --assert "fg.width('parse_input') === 1180 && fg.width('tokenize') > fg.start.tokenize"
  --assert "fg.svg.querySelector('.reset-zoom').getAttribute('visibility') === 'visible'"
  --assert "fg.svg.querySelector('.details').textContent.startsWith('parse_input (4,750 faults, ')"
  --assert "$labels_fit"
  --screenshot "$out/$mode-zoomed.png"
  --click "fg.svg.querySelector('.reset-zoom')"
  --assert "fg.visible() === $frames && fg.width('parse_input') === fg.start.parse && fg.api.zoomedFrame() === -1"
  --assert "fg.api.search('^malloc\$').toFixed(2) === '$malloc_share'"
  --assert "fg.svg.querySelector('.matched').textContent === 'Matched: $malloc_share%'"
  --screenshot "$out/$mode-search.png"
)
if [[ $mode == html ]]; then
  # The first graph saw none of this.
  first="document.querySelector('#first svg')"
  steps+=(--assert "$first.memtraceFlameGraph.zoomedFrame() === -1 && $first.querySelector('.matched').textContent === ''")
  steps+=(--click "fg.named('build_index')" --assert "$first.memtraceFlameGraph.zoomedFrame() === -1")
  steps+=(--assert "Array.from($first.querySelectorAll('g.f')).every((g) => g.style.display !== 'none')")
fi
exec "$node" "$page_check" "$page" --chromium "$chromium" --viewport 1280x300 --timeout-ms 60000 "${steps[@]}"
