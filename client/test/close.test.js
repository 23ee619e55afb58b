// Close codes: after the server's 4xxx codes the client does not reconnect;
// after the others it does. Every end of a connection is a `disconnected`
// event {code, reason, willRetry}.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RoomsClient, isFinalCloseCode } from '../rooms.js';
import { useCaddy, sleep } from '../testing/caddy.js';
import { Recorder, within } from '../testing/recorder.js';

const caddyfile = ({ port, adminPort }) => `{
	admin 127.0.0.1:${adminPort}
	persist_config off
}
http://127.0.0.1:${port} {
	route /ws {
		rooms {
			max_errors 2
		}
	}
	route /fixed/* {
		rooms {
			room {path.1}
			allow_join open-*
		}
	}
}
`;

// Records the client's `disconnected` events and waits (bounded) for the next.
function disconnects(rc) {
  const seen = [];
  let wake = () => {};
  rc.on('disconnected', (d) => { seen.push(d); wake(); });
  return {
    seen,
    next(ms = 5000) {
      const n = seen.length;
      return within(new Promise((resolve) => {
        wake = () => { if (seen.length > n) resolve(seen[n]); };
      }), ms, 'disconnected event');
    },
  };
}

test('isFinalCloseCode: the 4xxx codes and no others', () => {
  for (const [code, final] of [
    [1000, false], [1001, false], [1006, false], [1008, false], [1009, false], [1011, false],
    [3000, false], [4000, true], [4003, true], [4008, true], [4999, true], [5000, false],
  ]) {
    assert.equal(isFinalCloseCode(code), final, `code ${code}`);
  }
});

describe('the client follows the server close codes', () => {
  const suite = useCaddy(caddyfile, { minDelay: 100, maxDelay: 400, timeout: 5000 }, { before, after, RoomsClient, Recorder });
  const kick = (room, client, query = '') =>
    suite.caddy().admin('DELETE', `/rooms/${room}/clients/${client}${query}`);

  test('an operator kick (4000) ends the client: no reconnect', async () => {
    const { rc, rec } = suite.connect('/ws');
    const d = disconnects(rc);
    const { client } = await rc.connected;
    await rc.join('kick-me');
    const next = d.next();
    assert.equal((await kick('kick-me', client)).status, 204);
    assert.deepEqual(await next, { code: 4000, reason: 'disconnected by the operator', willRetry: false });
    assert.equal(rc.state, 'closed');
    await sleep(600); // longer than maxDelay: a reconnect would have started
    assert.deepEqual(rec.of('reconnecting'), []);
    assert.equal(rec.of('welcome').length, 1);
    await assert.rejects(rc.publish('kick-me', 1), { code: 'closed' });
  });

  test('kick ?reconnect=true (1008) is a plain disconnect: the client comes back', async () => {
    const { rc, rec } = suite.connect('/ws');
    const d = disconnects(rc);
    const { client } = await rc.connected;
    await rc.join('come-back');
    const next = d.next();
    const mark = rec.mark();
    assert.equal((await kick('come-back', client, '?reconnect=true')).status, 204);
    assert.deepEqual(await next, { code: 1008, reason: 'disconnected by the operator', willRetry: true });
    const w = await rec.waitFor('welcome', (x) => x.reconnected);
    assert.notEqual(w.client, client);
    await rec.waitFor('joined', (j) => j.room === 'come-back' && j.id !== undefined, { since: mark }); // the rejoin
  });

  test('a route room refused for good (4003) is not retried', async () => {
    const { rc, rec } = suite.connect('/fixed/closed-room');
    const d = disconnects(rc);
    const got = await d.next();
    assert.deepEqual(got, { code: 4003, reason: 'cannot join closed-room', willRetry: false });
    assert.equal((await rec.waitFor('error')).code, 'forbidden');
    assert.equal(rc.state, 'closed'); // welcomed first, then refused the room
    await assert.rejects(rc.ready(500), { code: 'closed' });
    await sleep(600);
    assert.deepEqual(rec.of('reconnecting'), []);
  });

  test('too many errors (4008) is not retried', async () => {
    const { rc, rec } = suite.connect('/ws');
    const d = disconnects(rc);
    await rc.connected;
    const next = d.next();
    await assert.rejects(rc.publish('not-joined', 1), { code: 'not_member' });
    await assert.rejects(rc.publish('not-joined', 2), { code: 'not_member' });
    assert.deepEqual(await next, { code: 4008, reason: 'too many errors', willRetry: false });
    await sleep(600);
    assert.deepEqual(rec.of('reconnecting'), []);
  });

  test('close() is a disconnect without retry', async () => {
    const { rc } = suite.connect('/ws');
    const d = disconnects(rc);
    await rc.connected;
    rc.close();
    assert.deepEqual(d.seen, [{ code: 1000, reason: '', willRetry: false }]);
  });

  test('server stopping (1001) is retried', async () => {
    const { rc, rec } = suite.connect('/fixed/open-stop');
    const d = disconnects(rc);
    await rc.connected;
    const next = d.next(10000);
    await suite.caddy().stop('SIGTERM');
    assert.deepEqual(await next, { code: 1001, reason: 'server stopping', willRetry: true });
    await rec.waitFor('reconnecting');
  });
});
