#include "flamegraph_script.h"

namespace memtrace {

std::string_view flamegraph_style()
{
    return R"css(
svg.memtrace-flamegraph .title { font-size: 17px; }
svg.memtrace-flamegraph .subtitle { fill: #555; }
svg.memtrace-flamegraph .button { cursor: pointer; fill: #1a3d8f; }
svg.memtrace-flamegraph .button:hover { text-decoration: underline; }
svg.memtrace-flamegraph .f { cursor: pointer; }
svg.memtrace-flamegraph .f rect { stroke: #fff; stroke-width: 0.5px; }
svg.memtrace-flamegraph .f:hover rect { stroke: #000; stroke-width: 1px; }
svg.memtrace-flamegraph .f text { pointer-events: none; fill: #000; }
svg.memtrace-flamegraph .f.ancestor { opacity: 0.55; }
)css";
}

// Reads what flamegraph_svg.cpp writes: on the <svg> data-pad, data-char-width, data-label-pad,
// data-total; per frame a <g class="f" data-d=DEPTH data-c=COUNT> in pre-order holding
// <title>NAME\nDETAILS</title> (names hold no newline), a <rect> and a <text> label.
std::string_view flamegraph_script()
{
    return R"js(
(function () {
  'use strict';
  var svg = ownSvg();
  if (!svg) return;
  var pad = Number(svg.getAttribute('data-pad'));
  var area = Number(svg.getAttribute('width')) - 2 * pad;
  var charWidth = Number(svg.getAttribute('data-char-width'));
  var labelPad = Number(svg.getAttribute('data-label-pad'));
  var total = Number(svg.getAttribute('data-total'));
  var resetZoomButton = svg.querySelector('.reset-zoom');
  var searchButton = svg.querySelector('.search');
  var details = svg.querySelector('.details');
  var matched = svg.querySelector('.matched');
  var frameOf = new Map();
  var frames = readFrames();
  var zoomed = null;
  var lastSearch = '';
  var searching = false;

  // The <svg> this script belongs to. Without document.currentScript, the graph being parsed is
  // the last one in the document so far.
  function ownSvg() {
    var script = document.currentScript;
    var parent = script && script.parentNode;
    if (parent && parent.classList && parent.classList.contains('memtrace-flamegraph')) return parent;
    var all = document.querySelectorAll('svg.memtrace-flamegraph');
    return all.length ? all[all.length - 1] : null;
  }

  // The frames in document order (pre-order). Each knows its parent and the index just past its
  // subtree, so "is a callee of" and "is a caller of" are index comparisons.
  function readFrames() {
    var list = [], path = [];
    var groups = svg.querySelectorAll('g.f');
    for (var i = 0; i < groups.length; ++i) {
      var g = groups[i], rect = g.querySelector('rect');
      var title = g.querySelector('title').textContent, cut = title.lastIndexOf('\n');
      var f = {
        g: g, rect: rect, label: g.querySelector('text'), index: i, end: i + 1,
        name: title.slice(0, cut), details: title.slice(cut + 1),
        depth: Number(g.getAttribute('data-d')), count: Number(g.getAttribute('data-c')),
        x: Number(rect.getAttribute('x')), w: Number(rect.getAttribute('width')), fill: rect.getAttribute('fill')
      };
      while (path.length && path[path.length - 1].depth >= f.depth) path.pop();
      f.parent = path.length ? path[path.length - 1] : null;
      path.push(f);
      list.push(f);
      frameOf.set(g, f);
    }
    for (var j = list.length - 1; j > 0; --j) {
      var parent = list[j].parent;
      if (parent && parent.end < list[j].end) parent.end = list[j].end;
    }
    return list;
  }

  // The same rule as fit_label() in flamegraph_svg.cpp, so a reset zoom looks as first drawn.
  function fitLabel(name, width) {
    var chars = Math.floor((width - 2 * labelPad) / charWidth);
    if (chars < 3) return '';
    var points = Array.from(name);
    return points.length <= chars ? name : points.slice(0, chars - 2).join('') + '..';
  }

  function place(f, x, width, isCaller) {
    f.g.style.display = '';
    f.g.classList.toggle('ancestor', isCaller);
    f.rect.setAttribute('x', x.toFixed(2));
    f.rect.setAttribute('width', width.toFixed(2));
    f.label.setAttribute('x', (x + labelPad).toFixed(2));
    f.label.textContent = fitLabel(f.name, width);
  }

  // The target spans the whole width, its callees scale with it, its callers span the width
  // dimmed, every other frame is hidden.
  function zoom(target) {
    if (!target || !(target.w > 0)) return;
    zoomed = target;
    var scale = area / target.w;
    frames.forEach(function (f) {
      if (f.index >= target.index && f.index < target.end) place(f, pad + (f.x - target.x) * scale, f.w * scale, false);
      else if (f.index < target.index && target.index < f.end) place(f, pad, area, true);
      else f.g.style.display = 'none';
    });
    resetZoomButton.setAttribute('visibility', 'visible');
  }

  function resetZoom() {
    zoomed = null;
    frames.forEach(function (f) { place(f, f.x, f.w, false); });
    resetZoomButton.setAttribute('visibility', 'hidden');
  }

  // Highlights the frames whose name matches; their share counts a frame once even when a caller
  // matched too. Returns the share in percent, or null for an invalid expression.
  function search(pattern) {
    var re;
    try {
      re = new RegExp(pattern);
    } catch (e) {
      matched.textContent = 'invalid regular expression';
      return null;
    }
    var count = 0, skipUntil = 0;
    frames.forEach(function (f) {
      var hit = re.test(f.name);
      f.rect.setAttribute('fill', hit ? 'rgb(224,64,224)' : f.fill);
      if (hit && f.index >= skipUntil) {
        count += f.count;
        skipUntil = f.end;
      }
    });
    var share = total > 0 ? 100 * count / total : 0;
    matched.textContent = 'Matched: ' + share.toFixed(2) + '%';
    searchButton.textContent = 'Reset Search';
    lastSearch = pattern;
    searching = true;
    return share;
  }

  function resetSearch() {
    frames.forEach(function (f) { f.rect.setAttribute('fill', f.fill); });
    matched.textContent = '';
    searchButton.textContent = 'Search';
    searching = false;
  }

  function frameAt(event) {
    var g = event.target.closest ? event.target.closest('g.f') : null;
    return g ? frameOf.get(g) : null;
  }

  svg.addEventListener('click', function (event) {
    var f = frameAt(event);
    if (f) {
      if (f.parent) zoom(f); else resetZoom();
    } else if (event.target === resetZoomButton) {
      resetZoom();
    } else if (event.target === searchButton) {
      if (searching) return resetSearch();
      var pattern = window.prompt('Search frames by regular expression', lastSearch);
      if (pattern) search(pattern);
    }
  });
  svg.addEventListener('mouseover', function (event) {
    var f = frameAt(event);
    if (f) details.textContent = fitLabel(f.name + ' (' + f.details + ')', area + 2 * labelPad);
  });
  svg.addEventListener('mouseout', function (event) {
    if (frameAt(event)) details.textContent = '';
  });

  // For scripts and tests: the same actions as the mouse, by frame index (document order).
  svg.memtraceFlameGraph = {
    frames: frames.length,
    zoom: function (index) { zoom(frames[index]); },
    zoomedFrame: function () { return zoomed ? zoomed.index : -1; },
    resetZoom: resetZoom,
    search: search,
    resetSearch: resetSearch
  };
})();
)js";
}

}  // namespace memtrace
