// The client against a real Caddy: welcome, join/leave/publish, errors,
// messages and presence between two clients, a route with a fixed room.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RoomsClient, RoomsError } from '../rooms.js';
import { useCaddy } from '../testing/caddy.js';
import { Recorder, within } from '../testing/recorder.js';

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
			user {query.name}
		}
	}
}
`;

describe('RoomsClient against Caddy', () => {
  const suite = useCaddy(caddyfile, { minDelay: 100, maxDelay: 1000, timeout: 5000 }, { before, after, RoomsClient, Recorder });
  const connect = suite.connect;

  test('welcome gives the connection id and the user', async () => {
    const { rc, rec } = connect('/ws?name=alice');
    const w = await within(rc.connected, 5000, 'connected');
    assert.equal(typeof w.client, 'string');
    assert.ok(w.client.length > 0);
    assert.equal(w.user, 'alice');
    assert.equal(w.reconnected, false);
    assert.equal(rc.client, w.client);
    assert.equal(rc.state, 'open');
    assert.deepEqual(await rc.ready(), { client: w.client, user: 'alice', reconnected: false });
    assert.equal(rec.of('welcome').length, 1);
    assert.equal(rec.of('open').length, 1);
  });

  test('a connection without an identity gets a welcome without user', async () => {
    const { rc } = connect('/ws');
    const w = await within(rc.connected, 5000, 'connected');
    assert.equal(w.user, undefined);
  });

  test('join, publish and leave settle with the server replies', async () => {
    const { rc } = connect('/ws?name=alice');
    // Called before the welcome: queued, sent after it.
    const joined = await rc.join('jpl');
    assert.deepEqual(joined, { room: 'jpl', members: 1, users: 1, clients: [{ client: rc.client, user: 'alice' }] });
    assert.ok(rc.rooms.has('jpl'));

    const a1 = await rc.publish('jpl', { text: 'one' });
    const a2 = await rc.publish('jpl', 'two');
    assert.equal(a1.seq, 1);
    assert.equal(a2.seq, 2);

    const { rc: rc2 } = connect('/ws?name=bob');
    assert.deepEqual((await rc2.join('jpl')).members, 2);

    assert.deepEqual(await rc.leave('jpl'), { room: 'jpl' });
    assert.ok(!rc.rooms.has('jpl'));
  });

  test('an error frame rejects the request with its code', async () => {
    const { rc } = connect('/ws?name=alice');
    await within(rc.connected, 5000, 'connected');
    await assert.rejects(rc.publish('nowhere', { text: 'hi' }), (err) => {
      assert.ok(err instanceof RoomsError);
      assert.equal(err.code, 'not_member');
      assert.equal(typeof err.message, 'string');
      return true;
    });
    // The connection stays usable.
    assert.deepEqual((await rc.join('after-error')).members, 1);
    assert.equal((await rc.publish('after-error', 1)).seq, 1);
  });

  test('an error frame with no id is an error event, and the connection stays open', async () => {
    const { rc, rec } = connect('/ws?name=alice');
    await within(rc.connected, 5000, 'connected');
    rc._ws.send('this is not JSON');
    const e = await rec.waitFor('error');
    assert.equal(typeof e.code, 'string');
    assert.ok(e.code.length > 0);
    assert.equal(e.id, undefined);
    assert.equal(rc.state, 'open');
    assert.deepEqual((await rc.join('still-open')).members, 1);
  });

  test('messages and presence flow between two clients', async () => {
    const a = connect('/ws?name=alice');
    const b = connect('/ws?name=bob');
    await within(Promise.all([a.rc.connected, b.rc.connected]), 5000, 'connected');
    await a.rc.join('chat');
    await b.rc.join('chat');

    const pj = await a.rec.waitFor('presence', (p) => p.room === 'chat' && p.event === 'join');
    assert.deepEqual(pj, { room: 'chat', event: 'join', client: b.rc.client, user: 'bob', members: 2 });
    // Nobody gets presence about itself.
    assert.equal(b.rec.of('presence').filter((p) => p.client === b.rc.client).length, 0);

    const ack = await b.rc.publish('chat', { text: 'hello', name: 'bob' });
    const expect = { room: 'chat', from: b.rc.client, data: { text: 'hello', name: 'bob' }, seq: ack.seq };
    assert.deepEqual(await a.rec.waitFor('message', (m) => m.room === 'chat'), expect);
    // The sender gets its own message too.
    assert.deepEqual(await b.rec.waitFor('message', (m) => m.room === 'chat'), expect);

    await b.rc.leave('chat');
    const pl = await a.rec.waitFor('presence', (p) => p.room === 'chat' && p.event === 'leave');
    assert.deepEqual(pl, { room: 'chat', event: 'leave', client: b.rc.client, user: 'bob', members: 1 });

    // A disconnect is a leave too.
    await b.rc.join('chat');
    const since = a.rec.mark();
    b.rc.close();
    const pd = await a.rec.waitFor('presence', (p) => p.event === 'leave', { since });
    assert.equal(pd.client, b.rc.client);
    assert.equal(pd.members, 1);
  });

  test('every member sees the same message order', async () => {
    const a = connect('/ws?name=alice');
    const b = connect('/ws?name=bob');
    await a.rc.join('order');
    await b.rc.join('order');
    const sent = [];
    for (let i = 0; i < 10; i++) {
      sent.push((i % 2 ? a : b).rc.publish('order', i));
    }
    const acks = await Promise.all(sent);
    await a.rec.waitFor('message', (m) => m.room === 'order' && m.seq === 10);
    await b.rec.waitFor('message', (m) => m.room === 'order' && m.seq === 10);
    const seen = (r) => r.of('message').filter((m) => m.room === 'order').map((m) => [m.seq, m.data]);
    assert.deepEqual(seen(a.rec), seen(b.rec));
    assert.deepEqual(seen(a.rec).map(([s]) => s), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(acks.map((x) => x.seq).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('a route with a fixed room joins it before welcome and announces it after', async () => {
    const { rc, rec } = connect('/fixed/lobby?name=carol');
    await within(rc.connected, 5000, 'connected');
    const j = await rec.waitFor('joined', (d) => d.room === 'lobby');
    assert.equal(j.byPath, true);
    assert.equal(j.members, 1);
    assert.ok(rc.pathRooms.has('lobby'));
    assert.ok(!rc.rooms.has('lobby'), 'a path room is not one to rejoin by message');
    // welcome came first
    const types = rec.events.map((e) => e.type).filter((t) => t === 'welcome' || t === 'joined');
    assert.deepEqual(types.slice(0, 2), ['welcome', 'joined']);
    assert.equal((await rc.publish('lobby', { text: 'hi' })).seq, 1);

    // A client on /ws that joins "lobby" by message is in the same room.
    const other = connect('/ws?name=dave');
    assert.deepEqual((await other.rc.join('lobby')).members, 2);
    const p = await rec.waitFor('presence', (d) => d.event === 'join');
    assert.equal(p.user, 'dave');
  });

  test('admin API: a message has no from, and removing the room sends left', async () => {
    const { rc, rec } = connect('/ws?name=alice');
    await rc.join('admin-room');
    const res = await suite.caddy().admin('POST', '/rooms/admin-room/messages', { text: 'notice' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { seq: 1, delivered: 1 });
    const m = await rec.waitFor('message', (d) => d.room === 'admin-room');
    assert.deepEqual(m, { room: 'admin-room', from: undefined, data: { text: 'notice' }, seq: 1 });

    const del = await suite.caddy().admin('DELETE', '/rooms/admin-room');
    assert.equal(del.status, 204);
    const left = await rec.waitFor('left', (d) => d.room === 'admin-room');
    assert.equal(left.id, undefined);
    assert.ok(!rc.rooms.has('admin-room'), 'a room the server removed us from is not rejoined');
    assert.equal(rc.state, 'open');
    await assert.rejects(rc.publish('admin-room', 1), { code: 'not_member' });
  });

  test('close() rejects what is pending and does not reconnect', async () => {
    const { rc, rec } = connect('/ws?name=alice');
    await within(rc.connected, 5000, 'connected');
    const ws = rc._ws;
    // registered after the client's own handler: runs once it has seen the close
    const socketClosed = new Promise((r) => ws.addEventListener('close', r));
    rc.close();
    assert.equal(rc.state, 'closed');
    await assert.rejects(rc.join('x'), { code: 'closed' });
    await assert.rejects(rc.ready(), { code: 'closed' });
    await within(socketClosed, 5000, 'the socket closing');
    assert.equal(rec.of('reconnecting').length, 0);
    assert.equal(rc._timer, null, 'no reconnect scheduled');
    assert.equal(rc.state, 'closed');
  });
});
