#!/usr/bin/env bash
# Browser test of memtrace report --html: writes the page of a recorded trace (the segment workload,
# recorded with --stacks: tests/fixtures/segment_workload.data), loads it from a file URL in
# headless Chromium (page_check.js) and checks, in the page, that it loads without a console error
# and loads nothing from elsewhere, that every chart is drawn (boxes of some size holding what the
# embedded data says: every heatmap cell, the bars adding up to the faults, the memory lines, the
# call counts, the flame graphs), and that hovering a heatmap cell names it. Screenshots stay in
# OUT_DIR.
#
#   pictures_browser_test.sh MEMTRACE TRACE OUT_DIR
#
# Without node or chromium: exit 77 (ctest's skip), or 1 when CI=true.
set -euo pipefail
memtrace=$1 trace=$2 out=$3

# shellcheck source=browser_tools.sh
source "$(dirname "$0")/browser_tools.sh"  # node, chromium, page_check

mkdir -p "$out"
page=$out/report.html
rm -f "$page"
"$memtrace" report "$trace" --html "$page" > "$out/report.txt"

# Helpers in the page: its data, a chart by class, the drawn size of an element.
setup="window.t = (() => {
  const data = JSON.parse(document.getElementById('memtrace-data').textContent);
  const chart = (name) => document.querySelector('svg.chart.' + name);
  const drawn = (e) => { const b = e.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
  const sum = (nodes) => Array.from(nodes).reduce((s, e) => s + Number(e.getAttribute('data-n')), 0);
  const cellSum = data.cells.reduce((s, c) => s + c[3], 0);
  const markers = (kind) => data.markers.counts[kind].reduce((s, n) => s + n, 0);
  return { data, chart, drawn, sum, cellSum, markers };
})(); ({ faults: t.data.faults, bands: t.data.bands.length, cells: t.data.cells.length, buckets: t.data.buckets })"

steps=(
  --eval "$setup"
  --assert "performance.getEntriesByType('resource').length === 0"
  --assert "document.querySelectorAll('svg.chart').length === 4"
  --assert "['heatmap', 'memory', 'segment-faults', 'markers'].every((c) => t.drawn(t.chart(c)))"
  --assert "t.data.faults > 1000 && t.cellSum === t.data.faults"
  --assert "t.chart('heatmap').querySelectorAll('rect.cell').length === t.data.cells.length"
  --assert "Array.from(t.chart('heatmap').querySelectorAll('rect.cell')).every(t.drawn)"
  --assert "t.sum(t.chart('heatmap').querySelectorAll('rect.cell')) === t.data.faults"
  --assert "t.chart('heatmap').querySelectorAll('g.band').length === t.data.bands.length"
  --assert "Array.from(t.chart('heatmap').querySelectorAll('text.band-label')).map((e) => e.textContent).includes('heap')"
  --assert "t.sum(t.chart('segment-faults').querySelectorAll('rect.bar')) === t.data.faults"
  --assert "t.chart('memory').querySelector('polyline.series[data-series=heap]').getAttribute('points').trim().length > 0"
  --assert "['brk', 'mmap', 'munmap'].every((k) => t.sum(t.chart('markers').querySelectorAll('rect.count[data-kind=' + k + ']')) === t.markers(k))"
  --assert "t.chart('markers').querySelectorAll('g.marker.exec').length === t.markers('exec')"
  --assert "document.querySelectorAll('svg.memtrace-flamegraph').length >= 1"
  --assert "Array.from(document.querySelectorAll('svg.memtrace-flamegraph')).every((s) => t.drawn(s) && s.querySelectorAll('g.f').length > 1)"
  --screenshot "$out/report.png"
  --click "t.chart('heatmap').querySelector('rect.cell')"
  --assert "/ faults\$/.test(document.getElementById('heatmap-hover').textContent)"
  --eval "document.getElementById('heatmap-hover').textContent"
  --screenshot "$out/report-hover.png"
)
exec "$node" "$page_check" "$page" --chromium "$chromium" --viewport 1280x900 --timeout-ms 60000 "${steps[@]}"
