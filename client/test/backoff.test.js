// The reconnect delay: exponential from minDelay, capped, with jitter.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backoffDelay } from '../rooms.js';

test('backoffDelay doubles from minDelay up to maxDelay, jittered into [d/2, d]', () => {
  const cases = [
    // attempt, min, max, random, want
    [1, 500, 10000, 0, 250],
    [1, 500, 10000, 1, 500],
    [2, 500, 10000, 1, 1000],
    [3, 500, 10000, 0.5, 1500],
    [5, 500, 10000, 1, 8000],
    [6, 500, 10000, 1, 10000],
    [6, 500, 10000, 0, 5000],
    [1000, 500, 10000, 1, 10000],
  ];
  for (const [attempt, min, max, r, want] of cases) {
    assert.equal(backoffDelay(attempt, min, max, () => r), want, `attempt ${attempt} random ${r}`);
  }
});

test('backoffDelay stays within bounds with Math.random', () => {
  for (let attempt = 1; attempt < 40; attempt++) {
    const d = backoffDelay(attempt, 100, 2000);
    const full = Math.min(2000, 100 * 2 ** (attempt - 1));
    assert.ok(d >= full / 2 && d <= full, `attempt ${attempt}: ${d}`);
  }
});
