// render.mjs: draws docs/grafana.png, the README's picture of the dashboard
// in caddyrooms.json, from real numbers. It starts a Caddy with this module
// ($CADDY_BIN, default bin/caddy), puts it under a minute of load, scrapes
// the admin endpoint's /metrics every second, evaluates each panel's query
// over those scrapes (promql.mjs; $job is every job, $__rate_interval 10s),
// draws the panels in the dashboard's layout (draw.mjs) and screenshots
// the page with headless Chromium (playwright-core from e2e/browser).
//
//   node --experimental-websocket examples/grafana/render.mjs [out.png]

import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { Caddy, repoRoot, sleep } from '../../client/testing/caddy.js';
import { page } from './draw.mjs';
import { evaluate, parse, parseExposition } from './promql.mjs';

const OUT = process.argv[2] || path.join(repoRoot, 'docs', 'grafana.png');
const DURATION = 60000;
const RATE_INTERVAL = '10s';
const dashboard = JSON.parse(readFileSync(new URL('./caddyrooms.json', import.meta.url), 'utf8'));

const caddyfile = ({ port, adminPort }) => `{
	admin 127.0.0.1:${adminPort}
	persist_config off
}
http://127.0.0.1:${port} {
	route /ws/* {
		rooms {
			room {path.1}
			rate_limit 50 50
			max_errors -1
		}
	}
	route /slow/* {
		rooms {
			room {path.1}
			send_queue 32
			slow_client disconnect
		}
	}
	route /drop/* {
		rooms {
			room {path.1}
			send_queue 32
			slow_client drop_oldest
		}
	}
}
`;

const sockets = [];
const timers = [];

function ws(url) {
  const s = new WebSocket(url);
  s.onerror = () => {};
  sockets.push(s);
  return new Promise((resolve) => { s.onopen = () => resolve(s); });
}

// A WebSocket client that never reads: its server-side send queue fills.
function stuck(port, urlPath) {
  const s = net.connect(port, '127.0.0.1');
  s.pause();
  s.on('error', () => {});
  s.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  sockets.push(s);
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

function at(ms, fn) {
  timers.push(setTimeout(fn, ms));
}

const publish = (s, room, data) => s.readyState === 1 && s.send(JSON.stringify({ type: 'publish', room, data }));

// The load, over DURATION: members arrive in 20 rooms, publishers speed up
// after 30 s and some members leave at 40 s; a client sends bad frames,
// another floods past rate_limit, and clients that never read come and go.
async function load(caddy) {
  const base = caddy.wsBase;
  const rooms = Array.from({ length: 20 }, (_, i) => `room-${i}`);
  let rate = 10;
  const members = [];
  for (let i = 0; i < 200; i++) at(i * 100, async () => members.push(await ws(`${base}/ws/${rooms[i % 20]}`)));
  const pubs = await Promise.all(rooms.map((r) => ws(`${base}/ws/${r}`)));
  const tick = () => pubs.forEach((p, i) => publish(p, rooms[i], { text: 'x'.repeat(100), t: Date.now() }));
  let pubTimer = setInterval(tick, 1000 / rate);
  at(30000, () => { clearInterval(pubTimer); rate = 25; pubTimer = setInterval(tick, 1000 / rate); timers.push(pubTimer); });
  at(40000, () => members.slice(0, 80).forEach((s) => s.close()));

  const noisy = await ws(`${base}/ws/noise`);
  at(10000, () => every(250, () => noisy.send('not json')));
  at(15000, () => every(500, () => publish(noisy, 'not-joined', 1)));
  const flooder = await ws(`${base}/ws/room-0`);
  at(25000, () => every(10, () => Date.now() - start < 45000 && publish(flooder, 'room-0', 'flood')));

  const fire = await ws(`${base}/ws/firehose`);
  every(25, () => publish(fire, 'firehose', 'y'.repeat(48 << 10)));
  for (let t = 5000; t < DURATION - 5000; t += 4000) at(t, () => stuck(caddy.port, '/slow/firehose'));
  at(20000, () => stuck(caddy.port, '/drop/firehose'));
  timers.push(pubTimer);
}

function scrape(caddy) {
  return new Promise((resolve, reject) => {
    http.get(`${caddy.adminBase}/metrics`, { timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ t: Date.now(), samples: parseExposition(text) }));
    }).on('error', reject);
  });
}

// Each panel's series: every target's query at every scrape time.
function series(scrapes) {
  return dashboard.panels.map((p) => {
    const out = new Map();
    for (const target of p.targets) {
      const tree = parse(target.expr.replaceAll('$job', '.*').replaceAll('$__rate_interval', RATE_INTERVAL));
      for (const { t } of scrapes) {
        for (const { labels, value } of evaluate(tree, scrapes, t)) {
          const legend = target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, l) => labels[l] ?? '');
          if (!out.has(legend)) out.set(legend, { legend, points: [] });
          out.get(legend).points.push([t, value]);
        }
      }
    }
    return { series: [...out.values()] };
  });
}

const start = Date.now();
const caddy = await new Caddy(caddyfile).start();
const scrapes = [];
try {
  await load(caddy);
  while (Date.now() - start < DURATION) {
    scrapes.push(await scrape(caddy));
    await sleep(1000);
  }
} finally {
  timers.forEach((t) => { clearInterval(t); clearTimeout(t); });
  sockets.forEach((s) => (s.destroy ? s.destroy() : s.close()));
  await caddy.dispose();
}

const panels = series(scrapes);
for (const [i, p] of dashboard.panels.entries()) {
  const peaks = panels[i].series.map((s) => `${s.legend} max ${Math.max(...s.points.map((x) => x[1])).toPrecision(3)}`);
  console.log(`${p.title}: ${peaks.join(', ') || 'no data'}`);
}
const note = `${scrapes.length} scrapes of a real Caddy under load, ${new Date(start).toISOString().slice(0, 16)}Z; drawn by examples/grafana/render.mjs, not by Grafana`;
const html = path.join(os.tmpdir(), 'caddyrooms-dashboard.html');
writeFileSync(html, page(dashboard, panels, scrapes[0].t, scrapes.at(-1).t, note));

const require = createRequire(path.join(repoRoot, 'e2e', 'browser', 'package.json'));
const { chromium } = require('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
  timeout: 30000,
});
try {
  const tab = await browser.newPage({ viewport: { width: 1232, height: 540 } });
  await tab.goto(`file://${html}`);
  await tab.screenshot({ path: OUT, fullPage: true });
} finally {
  await browser.close();
}
console.log(`wrote ${OUT}`);
