// Resume: the client's socket dies mid-stream (TCP closed, no close
// frame) while messages keep coming; after the reconnect it resumes every
// room, and the application sees every message once, in order. Its own
// publishes caught by the drop are sent again with their key and take
// effect once.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { RoomsClient } from '../rooms.js';
import { useCaddy, sleep } from '../testing/caddy.js';
import { Recorder, within } from '../testing/recorder.js';

const caddyfile = ({ port, adminPort }) => `{
	admin 127.0.0.1:${adminPort}
	persist_config off
}
http://127.0.0.1:${port} {
	route /ws {
		rooms {
			send_queue 16MiB
		}
	}
	route /fixed/* {
		rooms {
			room {path.1}
			send_queue 16MiB
		}
	}
}
`;

/** A TCP proxy to port whose connections can all be cut at once, as a
 * network drop does: no close frame, just the end of the stream. */
function dropProxy(port) {
  const sockets = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      drop() { for (const s of sockets) s.destroy(); },
      close() { this.drop(); server.close(); },
    }));
  });
}

/** The seqs of the `message` events of room, in the order the application got them. */
function seqs(rec, room) {
  return rec.of('message').filter((m) => m.room === room).map((m) => m.seq);
}

function oneToN(n) {
  return Array.from({ length: n }, (_, i) => i + 1);
}

describe('RoomsClient resumes after its socket dies', () => {
  const suite = useCaddy(caddyfile, { minDelay: 50, maxDelay: 200, timeout: 10000 }, { before, after, RoomsClient, Recorder });
  let proxy;
  before(async () => { proxy = await dropProxy(suite.caddy().port); });
  after(() => proxy.close());

  const viaProxy = (path) => {
    const rc = suite.track(new RoomsClient(`ws://127.0.0.1:${proxy.port}${path}`, { minDelay: 50, maxDelay: 200, timeout: 10000 }));
    return { rc, rec: new Recorder(rc) };
  };

  test('every message once, in order, across a drop mid-stream, with publishes retried once', async () => {
    const total = 300;
    const sub = viaProxy('/ws');
    const route = viaProxy('/fixed/stream');
    await sub.rc.join('stream');
    await route.rec.waitFor('joined', (d) => d.room === 'stream' && d.byPath);
    const pub = suite.connect('/fixed/stream');
    await pub.rc.connected;

    const own = [];
    const stream = (async () => {
      for (let i = 1; i <= total; i++) {
        await pub.rc.publish('stream', { n: i });
        if (i % 10 === 0) own.push(sub.rc.publish('stream', { own: i })); // through the drop, too
        if (i % 20 === 0) await sleep(5);
      }
    })();
    await sub.rec.waitFor('message', (m) => m.seq >= 60, { ms: 10000 });
    proxy.drop();
    await within(stream, 30000, 'the publisher');
    const acks = await within(Promise.all(own), 15000, 'the retried publishes');
    const expected = total + own.length;

    for (const c of [sub, route]) {
      await c.rec.waitFor('message', (m) => m.room === 'stream' && m.seq === expected, { ms: 15000 });
      assert.deepEqual(seqs(c.rec, 'stream'), oneToN(expected));
      await c.rec.waitFor('recovered', (d) => d.room === 'stream');
      assert.equal(c.rec.of('gap').length, 0);
      assert.ok(c.rec.of('welcome').some((w) => w.reconnected), 'it reconnected');
    }
    // each own publish was delivered once, with the seq its ack says
    const ownSeen = sub.rec.of('message').filter((m) => m.data.own !== undefined);
    assert.equal(ownSeen.length, own.length);
    assert.deepEqual(ownSeen.map((m) => m.seq), acks.map((a) => a.seq));
    assert.deepEqual(sub.rc.positions.get('stream').seq, expected);
  });

  test('a room whose epoch changed reports a gap, and messages go on', async () => {
    const { rc, rec } = viaProxy('/ws');
    await rc.join('epochs');
    rc.positions.set('epochs', { epoch: 'not-this-one', seq: 0 });
    const mark = rec.mark();
    proxy.drop();
    const gap = await rec.waitFor('gap', (d) => d.room === 'epochs', { since: mark, ms: 10000 });
    assert.equal(gap.reason, 'epoch_changed');
    const { seq } = await rc.publish('epochs', 'after');
    const m = await rec.waitFor('message', (d) => d.room === 'epochs', { since: mark });
    assert.equal(m.seq, seq);
  });

  test('a late joiner asks for recent messages', async () => {
    const { rc } = suite.connect('/ws');
    await rc.join('recent');
    for (let i = 1; i <= 5; i++) await rc.publish('recent', i);
    const late = suite.connect('/ws');
    await late.rc.join('recent', { last: 3 });
    await late.rec.waitFor('message', (m) => m.seq === 5);
    assert.deepEqual(late.rec.of('message').map((m) => m.data), [3, 4, 5]);
  });
});
