// draw.mjs: an HTML page that draws a Grafana dashboard's time-series panels
// from series already evaluated (render.mjs), in the dashboard's layout
// (gridPos: 24 columns, 30 px rows), with Grafana's dark colours.

const COLORS = ['#73bf69', '#f2cc0c', '#5794f2', '#ff780a', '#f2495c', '#b877d9', '#8ab8ff', '#ffb357'];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** Formats v for an axis in the panel's unit. */
export function formatValue(v, unit) {
  if (unit === 's') {
    if (v === 0) return '0';
    if (v < 1e-3) return `${+(v * 1e6).toPrecision(3)} µs`;
    if (v < 1) return `${+(v * 1e3).toPrecision(3)} ms`;
    return `${+v.toPrecision(3)} s`;
  }
  const suffix = unit === 'ops' ? ' ops/s' : '';
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toPrecision(3)} M${suffix}`;
  if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toPrecision(3)} K${suffix}`;
  return `${+v.toPrecision(3)}${suffix}`;
}

function clock(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}

// One panel's chart: lines over [t0, t1], y from 0 to the largest value.
function chart(series, unit, t0, t1, w, h) {
  const pad = { l: 64, r: 28, t: 8, b: 20 };
  const max = Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const x = (t) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
  let svg = '';
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg += `<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`;
    svg += `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${esc(formatValue(v, unit))}</text>`;
  }
  for (let i = 0; i <= 3; i++) {
    const t = t0 + ((t1 - t0) * i) / 3;
    svg += `<text x="${x(t)}" y="${h - 4}" text-anchor="middle">${clock(t)}</text>`;
  }
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    if (s.points.length > 1) {
      const area = `${x(s.points[0][0])},${y(0)} ${pts} ${x(s.points.at(-1)[0])},${y(0)}`;
      svg += `<polygon points="${area}" fill="${c}" opacity="0.1"/>`;
    }
    svg += `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`;
  });
  return `<svg width="${w}" height="${h}">${svg}</svg>`;
}

/**
 * The page: dashboard is the dashboard JSON; panels[i].series holds
 * [{legend, points: [[t, v]]}] for dashboard.panels[i]; note is a caption.
 */
export function page(dashboard, panels, t0, t1, note) {
  const colW = 1200 / 24;
  const rowH = 30;
  let body = '';
  dashboard.panels.forEach((p, i) => {
    const { x, y, w, h } = p.gridPos;
    const pw = w * colW - 8;
    const ph = h * rowH - 8;
    const series = panels[i].series;
    const legend = series.map((s, j) => `<span><i style="background:${COLORS[j % COLORS.length]}"></i>${esc(s.legend)}</span>`).join('');
    body += `<div class="panel" style="left:${x * colW}px;top:${y * rowH}px;width:${pw}px;height:${ph}px">
      <h3>${esc(p.title)}</h3>${chart(series, p.fieldConfig.defaults.unit, t0, t1, pw - 16, ph - 64)}
      <div class="legend">${legend || '<span>no data</span>'}</div></div>`;
  });
  const height = Math.max(...dashboard.panels.map((p) => (p.gridPos.y + p.gridPos.h) * rowH));
  return `<!doctype html><html><head><meta charset="utf-8"><style>
    body { margin: 0; background: #111217; color: #ccccdc; font: 12px Inter, "Helvetica Neue", Arial, sans-serif; }
    header { padding: 12px 16px 4px; font-size: 16px; color: #fff; }
    header small { color: #8e8e9e; font-size: 12px; margin-left: 12px; }
    main { position: relative; margin: 8px 16px 16px; height: ${height}px; width: 1200px; }
    .panel { position: absolute; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; padding: 8px; box-sizing: border-box; }
    h3 { margin: 0 0 4px; font-size: 13px; font-weight: 500; color: #d8d9da; }
    svg text { fill: #8e8e9e; font-size: 10px; } .grid { stroke: #2c3235; }
    .legend span { margin-right: 12px; white-space: nowrap; } .legend i { display: inline-block; width: 12px; height: 3px; margin: 0 4px 3px 0; }
  </style></head><body><header>${esc(dashboard.title)}<small>${esc(note)}</small></header><main>${body}</main></body></html>`;
}
