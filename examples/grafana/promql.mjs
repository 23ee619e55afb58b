// promql.mjs: the part of PromQL the dashboard's queries use, evaluated over
// scrapes of Caddy's /metrics, for render.mjs. It knows sum, sum by,
// rate, histogram_quantile, label matchers and numbers; any other query is
// an error, never a guess. rate() is (last - first) / elapsed over the
// window, with counter resets handled, without Prometheus's extrapolation.

/** Parses Prometheus's text format into [{name, labels, value}]. */
export function parseExposition(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) throw new Error(`metrics line not understood: ${line}`);
    const labels = {};
    for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

function tokenize(src) {
  const re = /\s*(?:(\d+(?:\.\d+)?(?:[smh]\b)?)|([a-zA-Z_:][\w:]*)|("(?:[^"\\]|\\.)*")|(=~|!~|!=|[=(){}\[\],]))/y;
  const toks = [];
  let m;
  while (re.lastIndex < src.length && (m = re.exec(src))) {
    if (m[1]) toks.push({ t: /[smh]$/.test(m[1]) ? 'dur' : 'num', v: m[1] });
    else if (m[2]) toks.push({ t: 'id', v: m[2] });
    else if (m[3]) toks.push({ t: 'str', v: JSON.parse(m[3]) });
    else toks.push({ t: m[4], v: m[4] });
  }
  if (re.lastIndex < src.trimEnd().length) throw new Error(`query not understood at ${src.slice(re.lastIndex)}`);
  return toks;
}

/** Parses a query into a tree. */
export function parse(src) {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const take = (t) => {
    const k = toks[i++];
    if (!k || (t && k.t !== t)) throw new Error(`${src}: expected ${t} at token ${i}`);
    return k;
  };
  const labelList = () => {
    take('(');
    const ls = [];
    while (peek().t !== ')') { ls.push(take('id').v); if (peek().t === ',') take(','); }
    take(')');
    return ls;
  };
  function expr() {
    const k = take();
    if (k.t === 'num') return { op: 'num', value: Number(k.v) };
    if (k.t !== 'id') throw new Error(`${src}: unexpected ${k.v}`);
    if (['sum', 'rate', 'histogram_quantile'].includes(k.v)) {
      let by = null;
      if (peek().t === 'id' && peek().v === 'by') { take(); by = labelList(); }
      take('(');
      const args = [expr()];
      while (peek().t === ',') { take(','); args.push(expr()); }
      take(')');
      return { op: k.v, by, args };
    }
    const sel = { op: 'sel', name: k.v, matchers: [], range: 0 };
    if (peek()?.t === '{') {
      take('{');
      while (peek().t !== '}') {
        const label = take('id').v;
        const op = take().v;
        sel.matchers.push({ label, op, value: take('str').v });
        if (peek().t === ',') take(',');
      }
      take('}');
    }
    if (peek()?.t === '[') {
      take('[');
      const d = take('dur').v;
      sel.range = Number(d.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[d.at(-1)] * 1000;
      take(']');
    }
    return sel;
  }
  const tree = expr();
  if (i !== toks.length) throw new Error(`${src}: trailing tokens`);
  return tree;
}

function matches(labels, matchers) {
  return matchers.every(({ label, op, value }) => {
    const v = labels[label] ?? '';
    if (op === '=') return v === value;
    if (op === '!=') return v !== value;
    const re = new RegExp(`^(?:${value})$`);
    return op === '=~' ? re.test(v) : !re.test(v);
  });
}

const key = (labels) => JSON.stringify(Object.entries(labels).sort());

/**
 * Evaluates tree at time t (ms) over scrapes [{t, samples}], returning an
 * instant vector [{labels, value}] (a number for a scalar).
 */
export function evaluate(tree, scrapes, t) {
  switch (tree.op) {
    case 'num': return tree.value;
    case 'sel': return select(tree, scrapes, t);
    case 'rate': return rate(tree.args[0], scrapes, t);
    case 'sum': return sum(evaluate(tree.args[0], scrapes, t), tree.by || []);
    case 'histogram_quantile': return quantile(evaluate(tree.args[0], scrapes, t), evaluate(tree.args[1], scrapes, t));
    default: throw new Error(`unknown ${tree.op}`);
  }
}

function select(sel, scrapes, t) {
  if (sel.range) throw new Error(`${sel.name}: a range vector outside rate()`);
  const last = scrapes.filter((s) => s.t <= t).at(-1);
  if (!last) return [];
  return last.samples.filter((x) => x.name === sel.name && matches(x.labels, sel.matchers))
    .map((x) => ({ labels: { ...x.labels, __name__: undefined }, value: x.value }));
}

function rate(sel, scrapes, t) {
  if (sel.op !== 'sel' || !sel.range) throw new Error('rate() wants a range selector');
  const series = new Map();
  for (const s of scrapes) {
    if (s.t <= t - sel.range || s.t > t) continue;
    for (const x of s.samples) {
      if (x.name !== sel.name || !matches(x.labels, sel.matchers)) continue;
      const k = key(x.labels);
      if (!series.has(k)) series.set(k, { labels: x.labels, points: [] });
      series.get(k).points.push([s.t, x.value]);
    }
  }
  const out = [];
  for (const { labels, points } of series.values()) {
    if (points.length < 2) continue;
    let increase = 0;
    for (let i = 1; i < points.length; i++) {
      const d = points[i][1] - points[i - 1][1];
      increase += d >= 0 ? d : points[i][1]; // a reset starts again from 0
    }
    out.push({ labels, value: increase / ((points.at(-1)[0] - points[0][0]) / 1000) });
  }
  return out;
}

function sum(vec, by) {
  const groups = new Map();
  for (const { labels, value } of vec) {
    const kept = Object.fromEntries(by.map((l) => [l, labels[l] ?? '']));
    const k = key(kept);
    if (!groups.has(k)) groups.set(k, { labels: kept, value: 0 });
    groups.get(k).value += value;
  }
  return [...groups.values()];
}

// Prometheus's histogram_quantile: linear within the bucket the rank falls
// in; the upper bound of the last finite bucket when it is in +Inf.
function quantile(q, vec) {
  const groups = new Map();
  for (const { labels, value } of vec) {
    const { le, ...rest } = labels;
    const k = key(rest);
    if (!groups.has(k)) groups.set(k, { labels: rest, buckets: [] });
    groups.get(k).buckets.push([le === '+Inf' ? Infinity : Number(le), value]);
  }
  const out = [];
  for (const { labels, buckets } of groups.values()) {
    buckets.sort((a, b) => a[0] - b[0]);
    const total = buckets.at(-1)?.[1] ?? 0;
    if (!(total > 0) || buckets.at(-1)[0] !== Infinity) continue;
    const rank = q * total;
    let i = buckets.findIndex(([, c]) => c >= rank);
    if (buckets[i][0] === Infinity) { out.push({ labels, value: buckets[i - 1]?.[0] ?? 0 }); continue; }
    const [lo, cLo] = i > 0 ? buckets[i - 1] : [0, 0];
    const [hi, cHi] = buckets[i];
    out.push({ labels, value: lo + (hi - lo) * ((rank - cLo) / Math.max(cHi - cLo, 1e-12)) });
  }
  return out;
}
