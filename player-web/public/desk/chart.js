// The reports' charts as plain inline SVG (no library): an event's timeline (viewers as a line, the
// intermissions as hatched bands, the studio's reconnects as triangles with a line, and the comments and
// questions per minute as bars on the same time axis) and the season's horizontal bars. Each chart is drawn
// in the CSS pixels of the box it sits in (measured), its labels four fifths of the page's text, at 360 px and
// at 1280 px; drawInto() draws again when the box's width or text size changes. Shapes and patterns, not only
// colours, tell the marks apart; the legend is HTML beside the chart, and every chart's numbers are also a
// table on the page (the chart is one role="img" with a short label).
import { el } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';
// The labels' size in px: four fifths of the page's text (so "larger text" makes them larger), whatever the width.
const labelSize = (o) => Math.min(28, Math.max(14, Math.round((o.font || 20) * 0.8)));

function s(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

/** A round top for an axis: 1, 2 or 5 times a power of ten, at least `v` (and at least 1). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
}

// The hatching and the other patterns every chart may use (ids made unique per svg).
function defs(id) {
  return s('defs', {},
    s('pattern', { id: `${id}-hatch`, width: 8, height: 8, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 8, height: 8, class: 'band-bg' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: 8, class: 'band-line' })),
    s('pattern', { id: `${id}-dots`, width: 6, height: 6, patternUnits: 'userSpaceOnUse' },
      s('rect', { width: 6, height: 6, class: 'bar-alt-bg' }),
      s('circle', { cx: 3, cy: 3, r: 1.6, class: 'bar-alt-dot' })));
}

let serial = 0;
function svgFor(width, height, label, f) {
  const id = `chart${++serial}`;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': label,
    class: 'chart', 'font-size': f });
  svg.append(defs(id));
  return { svg, id };
}

// Lines at 0, half and the top (no half line when it is not a whole number: viewers come whole).
function yAxis(g, { left, top, height, right, max, format, whole, f }) {
  for (const v of [0, max / 2, max].filter((x) => !whole || Number.isInteger(x))) {
    const y = top + height - (v / max) * height;
    g.append(s('line', { x1: left, x2: right, y1: y, y2: y, class: v ? 'grid' : 'axis' }),
      s('text', { x: left - 6, y: y + f * 0.35, 'text-anchor': 'end' }, format(v)));
  }
}

/**
 * An event's timeline. `samples`: [{at (ms), viewers, comments, questions, intermission, reconnect}] in time
 * order; `o`: {width, font, label (the svg's), time(ms) → text, number(v) → text, words: {viewers, perMinute,
 * intermission, reconnect}}. Marks carry classes for tests and a <title> each.
 */
export function timelineChart(samples, o) {
  const width = Math.max(280, Math.round(o.width));
  const f = labelSize(o);
  const left = Math.round(f * 3.3), right = width - 12;
  const top1 = Math.round(f * 1.8), h1 = 170, top2 = top1 + h1 + Math.round(f * 2.8), h2 = 80;
  const height = top2 + h2 + Math.round(f * 1.9);
  const { svg, id } = svgFor(width, height, o.label, f);
  const gaps = samples.slice(1).map((x, i) => x.at - samples[i].at).sort((a, b) => a - b);
  const step = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 10000;
  const t0 = samples.length ? samples[0].at - step : 0;
  const t1 = samples.length ? samples[samples.length - 1].at : 1;
  const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (right - left);
  const g = s('g', {});
  svg.append(g);

  // The intermissions: a hatched band over both charts for each run of samples without the studio.
  for (let i = 0; i < samples.length; i++) {
    if (!samples[i].intermission) continue;
    let j = i;
    while (j + 1 < samples.length && samples[j + 1].intermission) j++;
    const from = i ? samples[i - 1].at : t0;
    const w = Math.max(4, x(samples[j].at) - x(from));
    g.append(s('rect', { x: x(from), y: top1, width: w, height: top2 + h2 - top1, fill: `url(#${id}-hatch)`,
      class: 'mark-intermission' }, s('title', {}, `${o.words.intermission}: ${o.time(from)}–${o.time(samples[j].at)}`)));
    i = j;
  }

  // Viewers: the axis, then a step line (each sample holds its value since the one before).
  const vmax = niceMax(Math.max(0, ...samples.map((p) => p.viewers)));
  yAxis(g, { left, top: top1, height: h1, right, max: vmax, format: (v) => o.number(v), whole: true, f });
  g.append(s('text', { x: left, y: top1 - 10, class: 'chart-title' }, o.words.viewers));
  const vy = (v) => top1 + h1 - (v / vmax) * h1;
  if (samples.length) {
    let d = `M${x(t0)},${vy(samples[0].viewers)}`;
    for (const p of samples) d += ` H${x(p.at)} V${vy(p.viewers)}`;
    g.append(s('path', { d, class: 'line-viewers' }));
  }

  // Reconnects: a dashed line through both charts and a triangle above, labelled by its <title>.
  for (const p of samples.filter((q) => q.reconnect)) {
    const cx = x(p.at);
    g.append(s('g', { class: 'mark-reconnect' },
      s('title', {}, `${o.words.reconnect}: ${o.time(p.at)}`),
      s('line', { x1: cx, x2: cx, y1: top1, y2: top2 + h2, class: 'reconnect-line' }),
      s('path', { d: `M${cx - 8},${top1 - 2} L${cx + 8},${top1 - 2} L${cx},${top1 + 12} Z`, class: 'reconnect-mark' })));
  }

  // Comments and questions per minute: a bar per sample, the questions part dotted at its foot.
  const rate = (n, i) => n * 60000 / (i ? samples[i].at - samples[i - 1].at : step || 1);
  const cmax = niceMax(Math.max(0, ...samples.map((p, i) => rate(p.comments, i))));
  yAxis(g, { left, top: top2, height: h2, right, max: cmax, format: (v) => o.number(v), f });
  g.append(s('text', { x: left, y: top2 - 10, class: 'chart-title' }, o.words.perMinute));
  const bw = Math.max(2, Math.min(24, ((right - left) / Math.max(1, samples.length)) * 0.7));
  samples.forEach((p, i) => {
    if (!p.comments) return;
    const c = rate(p.comments, i), q = rate(p.questions, i);
    const cy = top2 + h2 - (c / cmax) * h2, qh = (q / cmax) * h2;
    g.append(s('rect', { x: x(p.at) - bw / 2, y: cy, width: bw, height: top2 + h2 - cy, class: 'bar-comments' }));
    if (q) g.append(s('rect', { x: x(p.at) - bw / 2, y: top2 + h2 - qh, width: bw, height: qh, fill: `url(#${id}-dots)`,
      class: 'bar-questions' }));
  });

  // The time axis under both charts: as many labels as fit.
  const n = Math.max(2, Math.min(6, Math.floor((right - left) / (f * 6))));
  for (let k = 0; k < n; k++) {
    const t = t0 + ((t1 - t0) * k) / (n - 1);
    const anchor = k === 0 ? 'start' : k === n - 1 ? 'end' : 'middle';
    g.append(s('text', { x: x(t), y: height - 8, 'text-anchor': anchor }, o.time(t)));
  }
  return svg;
}

/**
 * Horizontal bars for the season: `rows` [{label, a, b}] (two figures per row: `a` solid, `b` dotted, either
 * stacked or side by side); `o`: {width, font, label, number, stacked}.
 */
export function barChart(rows, o) {
  const width = Math.max(280, Math.round(o.width));
  const f = labelSize(o);
  const left = 8, right = width - 8, band = o.stacked ? 24 : 40, rowH = f + 10 + band + 12;
  const height = rows.length * rowH + 8;
  const { svg, id } = svgFor(width, height, o.label, f);
  const max = niceMax(Math.max(0, ...rows.map((r) => (o.stacked ? r.a + r.b : Math.max(r.a, r.b)))));
  const room = right - left - f * 4.5;  // the figure's text after the bar
  const w = (v) => (v / max) * room;
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const g = s('g', { class: 'bar-row' });
    g.append(s('text', { x: left, y: y + f }, r.label));
    const by = y + f + 8;
    if (o.stacked) {
      g.append(s('rect', { x: left, y: by, width: w(r.a), height: band, class: 'bar-a' }),
        s('rect', { x: left + w(r.a), y: by, width: w(r.b), height: band, fill: `url(#${id}-dots)`, class: 'bar-b' }),
        s('text', { x: left + w(r.a + r.b) + 6, y: by + band / 2 + f * 0.35 }, o.number(r.a + r.b)));
    } else {
      const h = band / 2 - 1;
      g.append(s('rect', { x: left, y: by, width: w(r.a), height: h, class: 'bar-a' }),
        s('text', { x: left + w(r.a) + 6, y: by + h / 2 + f * 0.35 }, o.number(r.a)),
        s('rect', { x: left, y: by + h + 2, width: w(r.b), height: h, fill: `url(#${id}-dots)`, class: 'bar-b' }),
        s('text', { x: left + w(r.b) + 6, y: by + h + 2 + h / 2 + f * 0.35 }, o.number(r.b)));
    }
    svg.append(g);
  });
  return svg;
}

/** A legend in HTML: [{kind, text}], kind one of line, band, reconnect, bar, dots (the same look as the marks). */
export function legend(items) {
  return el('ul', { class: 'chart-legend' }, ...items.map(({ kind, text }) => {
    const id = `swatch${++serial}`;
    const fill = kind === 'band' ? `url(#${id}-hatch)` : kind === 'dots' ? `url(#${id}-dots)` : undefined;
    const mark = kind === 'line' ? s('path', { d: 'M2,12 H12 V4 H26', class: 'line-viewers' })
      : kind === 'reconnect' ? s('path', { d: 'M6,2 L22,2 L14,14 Z', class: 'reconnect-mark' })
        : s('rect', { x: 1, y: 1, width: 26, height: 14, fill, class: `swatch-${kind}` });
    return el('li', {}, s('svg', { width: 28, height: 16, viewBox: '0 0 28 16', 'aria-hidden': 'true', class: 'swatch' },
      defs(id), mark), ' ', text);
  }));
}

/** Draws `draw(width, font)` into `host` now, and again whenever the host's width or text size changes (a
 *  narrower window, "larger text"); `font`: the host's text size in px. */
export function drawInto(host, draw) {
  const measure = () => `${host.clientWidth} ${getComputedStyle(host).fontSize}`;
  let last = measure();
  const paint = () => host.replaceChildren(draw(host.clientWidth || 320, parseFloat(getComputedStyle(host).fontSize) || 20));
  if (host.observer) host.observer.disconnect();
  host.observer = new ResizeObserver(() => {
    if (measure() !== last) {
      last = measure();
      paint();
    }
  });
  paint();
  // The figure around the host grows with its caption's text: that is how a change of text size shows.
  host.observer.observe(host);
  if (host.parentElement) host.observer.observe(host.parentElement);
}
