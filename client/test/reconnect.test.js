// The client across Caddy restarts: pending requests are rejected, it
// reconnects with growing delays, rejoins its rooms and carries on.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RoomsClient } from '../rooms.js';
import { useCaddy } from '../testing/caddy.js';
import { Recorder, until, within } from '../testing/recorder.js';

const caddyfile = ({ port, adminPort }) => `{
	admin 127.0.0.1:${adminPort}
	persist_config off
}
http://127.0.0.1:${port} {
	route /ws {
		rooms {
			user {query.name}
		}
	}
	route /fixed/* {
		rooms {
			room {path.1}
		}
	}
}
`;

describe('RoomsClient reconnects after Caddy restarts', () => {
  const suite = useCaddy(caddyfile, { minDelay: 100, maxDelay: 400, timeout: 5000 }, { before, after, RoomsClient, Recorder });
  const connect = suite.connect;

  test('a request in flight when the connection drops is rejected', async () => {
    const { rc } = connect('/ws?name=alice');
    await rc.join('inflight');
    await suite.caddy().pause(); // the server holds the frame and answers nothing
    const rejected = assert.rejects(within(rc.publish('inflight', 'lost'), 5000, 'publish'), { code: 'disconnected' });
    // the publish is on the wire (sent, waiting for its reply) before Caddy goes
    await until(() => rc._pending.size === 1 && rc._ws.bufferedAmount === 0, 5000, 'publish sent');
    await suite.caddy().stop();
    await rejected;
    await suite.caddy().restart();
    await within(rc.ready(), 10000, 'ready after restart');
  });

  test('after a restart it rejoins its rooms, but not the route\'s room, and messages flow again', async () => {
    const a = connect('/ws?name=alice');
    const b = connect('/ws?name=bob');
    const f = connect('/fixed/hall');
    await a.rc.join('r1');
    await a.rc.join('r2');
    await b.rc.join('r1');
    await within(f.rc.connected, 5000, 'connected');
    await f.rec.waitFor('joined', (d) => d.room === 'hall' && d.byPath);
    const oldA = a.rc.client;
    const sinceA = a.rec.mark();
    const sinceF = f.rec.mark();
    const sinceB0 = b.rec.mark();

    await suite.caddy().stop();
    await a.rec.waitFor('close', () => true, { since: sinceA });
    const r1 = await a.rec.waitFor('reconnecting', () => true, { since: sinceA });
    assert.equal(r1.attempt, 1);
    assert.ok(r1.delay >= 50 && r1.delay <= 100, `first delay ${r1.delay}`);
    // While Caddy is down, the attempts go on with growing, capped delays.
    const r3 = await a.rec.waitFor('reconnecting', (d) => d.attempt === 3, { since: sinceA, ms: 5000 });
    assert.ok(r3.delay >= 200 && r3.delay <= 400, `third delay ${r3.delay}`);
    assert.equal(a.rc.state === 'reconnecting' || a.rc.state === 'connecting', true);
    // A request made while disconnected waits for the next connection.
    const queued = a.rc.publish('r2', { text: 'sent while down' });

    await suite.caddy().restart();
    const w = await a.rec.waitFor('welcome', () => true, { since: sinceA, ms: 10000 });
    assert.equal(w.reconnected, true);
    assert.notEqual(w.client, oldA);
    assert.equal(a.rc.attempt, 0);
    // Rejoined both rooms by message.
    await a.rec.waitFor('joined', (d) => d.room === 'r1' && !d.byPath, { since: sinceA });
    await a.rec.waitFor('joined', (d) => d.room === 'r2' && !d.byPath, { since: sinceA });
    assert.deepEqual([...a.rc.rooms].sort(), ['r1', 'r2']);
    // The queued publish went out after the rejoin.
    assert.equal((await within(queued, 5000, 'queued publish')).seq, 1);

    // The route's room came back from the server, with no join sent for it.
    await f.rec.waitFor('joined', (d) => d.room === 'hall' && d.byPath, { since: sinceF, ms: 10000 });
    assert.equal(f.rec.of('joined').filter((d) => !d.byPath).length, 0);
    assert.equal(f.rec.of('error').length, 0);

    await b.rc.ready(10000);
    await b.rec.waitFor('joined', (d) => d.room === 'r1', { since: sinceB0 });
    const sinceB = b.rec.mark();
    const ack = await a.rc.publish('r1', { text: 'after restart' });
    const m = await b.rec.waitFor('message', (d) => d.room === 'r1', { since: sinceB });
    assert.deepEqual(m, { room: 'r1', from: a.rc.client, data: { text: 'after restart' }, seq: ack.seq });
  });

  test('without reconnect, a dropped connection closes the client', async () => {
    const { rc, rec } = connect('/ws', { reconnect: false });
    await within(rc.connected, 5000, 'connected');
    await rc.join('once');
    await suite.caddy().restart();
    const c = await rec.waitFor('close');
    assert.equal(c.willReconnect, false);
    assert.equal(rc.state, 'closed');
    assert.equal(rec.of('reconnecting').length, 0);
    await assert.rejects(rc.publish('once', 1), { code: 'closed' });
  });

  test('without reconnect, a failed first connection rejects connected', async () => {
    const rc = new RoomsClient(`ws://127.0.0.1:${suite.caddy().port}/not-a-rooms-route`, { reconnect: false, timeout: 5000 });
    suite.track(rc);
    await assert.rejects(within(rc.connected, 5000, 'connected'), { code: 'disconnected' });
  });
});
