// The server tests run against a real Caddy: its absence is a failure.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import { caddyBin } from '../testing/caddy.js';

test('the Caddy binary under test exists ($CADDY_BIN or bin/caddy)', () => {
  assert.ok(existsSync(caddyBin()));
});
