// examples/chat in headless Chromium on a real Caddy: a late joiner sees
// everyone present on entry, one entry per person however many tabs; in a
// room of thousands the page shows the count and a partial list, and
// follows joins and leaves.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { RoomsClient } from '../../client/rooms.js';
import { Caddy, repoRoot } from '../../client/testing/caddy.js';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const STEP = 15000; // bound on every wait in the page
const CROWD = 2000;

const example = readFileSync(path.join(repoRoot, 'examples/chat/Caddyfile'), 'utf8');
function caddyfile({ port, adminPort }) {
  return example
    .replace('admin localhost:2019', `admin 127.0.0.1:${adminPort}\n\tpersist_config off`)
    .replace('http://localhost:8080 {', `http://localhost:${port} {`);
}

let caddy;
let browser;
const clients = [];
const pageErrors = [];

before(async () => {
  if (typeof globalThis.WebSocket !== 'function') {
    throw new Error('the crowd needs a global WebSocket: run node with --experimental-websocket (Node 20)');
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_BIN`);
  }
  const { chromium } = await import('playwright-core');
  caddy = await new Caddy(caddyfile).start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
    timeout: 30000,
  });
});

after(async () => {
  for (const rc of clients) rc.close();
  await browser?.close();
  await caddy?.dispose();
});

// people joins n clients (names from name(i)) to room, 200 at a time.
async function people(room, n, name) {
  const made = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) {
      const url = `ws://localhost:${caddy.port}/ws?name=${encodeURIComponent(name(j))}`;
      const rc = new RoomsClient(url, { reconnect: false, timeout: STEP });
      clients.push(rc);
      made.push(rc);
      batch.push(rc.join(room));
    }
    await Promise.all(batch);
  }
  return made;
}

async function openChat(name, room) {
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  await page.goto(`http://localhost:${caddy.port}/`);
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join-form button[type=submit]');
  await page.waitForSelector('#status[data-state="connected"]');
  return page;
}

const listed = (page) => page.$$eval('#members li', (lis) => lis.map((li) => li.textContent));
const count = (page, n) => page.waitForFunction((want) => document.querySelector('#count').textContent === String(want), n);

test('a late joiner sees everyone on entry, a person with three tabs once', { timeout: 60000 }, async () => {
  await people('small', 3, () => 'ann'); // three tabs
  await people('small', 2, (i) => ['bob', 'cy'][i]);
  const dee = await openChat('dee', 'small');
  await count(dee, 4); // people, not connections
  assert.deepEqual(await listed(dee), ['dee (you)', 'ann 3 tabs', 'bob', 'cy']);
  assert.equal(await dee.isHidden('#others'), true);
  assert.deepEqual(pageErrors, []);
});

test('a room of thousands: the count and a partial list, kept up to date', { timeout: 120000 }, async () => {
  const crowd = await people('stadium', CROWD, (i) => `fan${i}`);
  const page = await openChat('zed', 'stadium');
  await count(page, CROWD + 1);
  const shown = await listed(page);
  assert.equal(shown.length, 50);
  assert.equal(shown[0], 'zed (you)');
  assert.equal(await page.textContent('#others'), `and ${(CROWD + 1 - 50).toLocaleString('en-US')} others`);

  // more arrive, many leave: the count follows, batched
  await people('stadium', 20, (i) => `late${i}`);
  await count(page, CROWD + 21);
  for (const rc of crowd.slice(0, CROWD / 2)) rc.close();
  await count(page, CROWD / 2 + 21);
  const notes = await page.$$eval('#messages li.note', (lis) => lis.length);
  assert.ok(notes < 10, `${notes} join and leave lines for a crowd`);
  assert.deepEqual(pageErrors, []);
});
