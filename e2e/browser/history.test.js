// A late joiner sees the recent messages: in headless Chromium, through
// examples/chat on a real Caddy, Ada talks alone in a room, then Bob
// enters and sees what she said before he came, then the live chat.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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

async function lines(page, selector) {
  return page.$$eval(selector, (lis) => lis.map((li) => li.textContent));
}

test('a late joiner sees the recent messages, then the live ones', { timeout: 60000 }, async () => {
  const ada = await openChat('ada', 'history');
  for (const text of ['First, before anyone came.', 'Second.', 'Third, still alone.']) {
    await say(ada, text);
    await shows(ada, '#messages li.mine', text);
  }

  const bob = await openChat('bob', 'history');
  await shows(bob, '#messages li.recent', 'Third, still alone.');
  assert.deepEqual(await lines(bob, '#messages li.recent'), [
    'ada First, before anyone came.', 'ada Second.', 'ada Third, still alone.',
  ]);
  // Ada is no member in Bob's list because of her old messages alone: she
  // is one because she is in the room, as presence and her live messages say.
  await say(ada, 'Hello Bob, live now.');
  await shows(bob, '#messages li.theirs', 'Hello Bob, live now.');
  assert.equal((await lines(bob, '#messages li.theirs')).length, 1);
  // Ada saw Bob arrive, and her own recent lines stay hers.
  await shows(ada, '#messages li.note', 'bob joined');
  assert.equal((await lines(ada, '#messages li.recent')).length, 0);
  assert.deepEqual(pageErrors, []);
});
