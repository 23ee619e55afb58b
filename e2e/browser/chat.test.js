// Two people chat in headless Chromium through examples/chat on a real
// Caddy, which then restarts under them; both pages reconnect and carry on.
// A third is kicked by the operator and stays out. Saves a screenshot to
// $SCREENSHOT_DIR (default: a folder in the system's temporary directory);
// docs/chat.png is a copy of one, updated by hand.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Caddy, repoRoot } from '../../client/testing/caddy.js';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const STEP = 10000; // bound on every wait in the page

// examples/chat/Caddyfile with its two ports replaced by free ones.
const example = readFileSync(path.join(repoRoot, 'examples/chat/Caddyfile'), 'utf8');
function caddyfile({ port, adminPort }) {
  assert.match(example, /admin localhost:2019/);
  assert.match(example, /http:\/\/localhost:8080 \{/);
  return example
    .replace('admin localhost:2019', `admin 127.0.0.1:${adminPort}\n\tpersist_config off`)
    .replace('http://localhost:8080 {', `http://localhost:${port} {`);
}

let caddy;
let browser;
const pageErrors = [];
const failedRequests = []; // responses of 400 and over (a missing favicon, ...)
const screenshotDir = process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), 'caddyrooms-screenshots');

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_BIN`);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (err) {
    throw new Error(`playwright-core is not installed: run \`npm ci\` in e2e/browser (${err.message})`);
  }
  caddy = await new Caddy(caddyfile).start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    timeout: 30000,
  });
});

after(async () => {
  await browser?.close();
  await caddy?.dispose();
});

async function openChat(name, room) {
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) failedRequests.push(`${name}: ${res.status()} ${res.url()}`);
  });
  // Record every status the page shows, so that a short one is not missed.
  await page.addInitScript(() => {
    window.__states = [];
    new MutationObserver(() => {
      const s = document.querySelector('#status');
      if (s && window.__states.at(-1) !== s.dataset.state) window.__states.push(s.dataset.state);
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  await page.goto(`http://localhost:${caddy.port}/`);
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join-form button[type=submit]');
  await page.waitForSelector('#status[data-state="connected"]');
  await page.waitForFunction(() => document.querySelector('#count').textContent !== '0');
  return page;
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

async function shows(page, selector, text) {
  await page.waitForFunction(
    ([sel, t]) => [...document.querySelectorAll(sel)].some((el) => el.textContent.includes(t)),
    [selector, text],
  );
}

async function memberNames(page) {
  return page.$$eval('#members li', (lis) => lis.map((li) => li.textContent.replace(' (you)', '')).sort());
}

test('two people chat, Caddy restarts, both reconnect and chat on', { timeout: 120000 }, async () => {
  const ada = await openChat('ada', 'lobby');
  const bob = await openChat('bob', 'lobby');

  // Ada sees Bob arrive (presence); both count two members.
  await shows(ada, '#members li', 'bob');
  await ada.waitForFunction(() => document.querySelector('#count').textContent === '2');
  await bob.waitForFunction(() => document.querySelector('#count').textContent === '2');

  await say(ada, 'Hello Bob!');
  await shows(bob, '#messages li.theirs', 'Hello Bob!');
  await shows(ada, '#messages li.mine', 'Hello Bob!');
  // Bob joined after Ada: he learns her name from her message.
  await shows(bob, '#members li', 'ada');
  assert.deepEqual(await memberNames(bob), ['ada', 'bob']);
  assert.deepEqual(await memberNames(ada), ['ada', 'bob']);

  await say(bob, 'Hi Ada.');
  await shows(ada, '#messages li.theirs', 'Hi Ada.');

  // Caddy goes away: both pages say they are reconnecting.
  await caddy.stop();
  for (const page of [ada, bob]) {
    await page.waitForSelector('#status[data-state="reconnecting"]');
    assert.match(await page.textContent('#status'), /reconnecting/i);
    assert.equal(await page.isDisabled('#send'), true);
  }

  // Caddy is back: both recover and the chat goes on.
  await caddy.start();
  for (const page of [ada, bob]) {
    await page.waitForSelector('#status[data-state="connected"]', { timeout: 20000 });
    await shows(page, '#messages li.note', 'Reconnected.');
  }
  await ada.waitForFunction(() => document.querySelector('#count').textContent === '2');
  await bob.waitForFunction(() => document.querySelector('#count').textContent === '2');

  await say(bob, 'Back after the restart.');
  await shows(ada, '#messages li.theirs', 'Back after the restart.');
  await say(ada, 'Welcome back.');
  await shows(bob, '#messages li.theirs', 'Welcome back.');
  await shows(bob, '#members li', 'ada');
  await shows(ada, '#members li', 'bob');

  for (const page of [ada, bob]) {
    const states = await page.evaluate(() => window.__states);
    assert.ok(states.includes('reconnecting'), `states: ${states}`);
    assert.equal(states.at(-1), 'connected', `states: ${states}`);
  }
  // A message from the server (admin API) has no sender: shown apart.
  const res = await caddy.admin('POST', '/rooms/lobby/messages', { text: 'Maintenance at 18:00.' });
  assert.equal(res.status, 200);
  for (const page of [ada, bob]) {
    await shows(page, '#messages li.server', 'Maintenance at 18:00.');
    assert.equal(await page.textContent('#messages li.server b'), 'Server');
  }
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failedRequests, []);

  mkdirSync(screenshotDir, { recursive: true });
  const shot = path.join(screenshotDir, 'chat.png');
  await bob.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
});

test('a client kicked by the operator is told so and does not come back', { timeout: 60000 }, async () => {
  const dee = await openChat('dee', 'kickroom');
  const carol = await openChat('carol', 'kickroom');
  await shows(dee, '#messages li.note', 'carol joined');

  const room = await caddy.admin('GET', '/rooms/kickroom');
  const target = room.body.clients.find((c) => c.user === 'carol');
  assert.ok(target, `carol in ${JSON.stringify(room.body)}`);
  const kicked = await caddy.admin('DELETE', `/rooms/kickroom/clients/${target.id}`);
  assert.equal(kicked.status, 204);

  await carol.waitForSelector('#status[data-state="closed"]');
  assert.match(await carol.textContent('#status'), /disconnected by the operator/);
  await shows(carol, '#messages li.error', 'you were disconnected by the operator');
  await shows(dee, '#messages li.note', 'carol left');
  // Longer than the client's first reconnect delays: carol stays out.
  await carol.waitForTimeout(2500);
  const states = await carol.evaluate(() => window.__states);
  assert.deepEqual(states.slice(-2), ['connected', 'closed'], `states: ${states}`);
  assert.ok(!states.includes('reconnecting'), `states: ${states}`);
  assert.equal(await carol.isDisabled('#send'), true);
  const notes = await dee.$$eval('#messages li.note', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(notes.filter((n) => n.startsWith('carol')), ['carol joined', 'carol left']);
  const after = await caddy.admin('GET', '/rooms/kickroom');
  assert.deepEqual(after.body.clients.map((c) => c.user), ['dee']);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failedRequests, []);
});
