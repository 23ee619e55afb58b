// Presence in the client against a real Caddy: the list on join, users
// with several tabs, a big room's batched presence_diff, paging members.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RoomsClient, RoomsError } from '../rooms.js';
import { useCaddy } from '../testing/caddy.js';
import { Recorder, within } from '../testing/recorder.js';

// /ws: the defaults (rooms of up to 100 list their members); /big/ROOM:
// rooms turn big above 3 members and batch presence every 100 ms.
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
	route /big/* {
		rooms {
			room {path.1}
			user {query.name}
			presence_list 3
			presence_interval 100ms
		}
	}
}
`;

const byClient = (a, b) => (a.client < b.client ? -1 : 1);

describe('presence in RoomsClient', () => {
  const suite = useCaddy(caddyfile, { minDelay: 100, maxDelay: 1000, timeout: 5000 }, { before, after, RoomsClient, Recorder });
  const connect = suite.connect;

  test('joined lists everyone present, with users; the roster follows presence', async () => {
    const ann = connect('/ws?name=ann');
    await ann.rc.join('list');
    const bob = connect('/ws?name=bob');
    const j = await bob.rc.join('list');
    assert.equal(j.members, 2);
    assert.equal(j.users, 2);
    assert.deepEqual([...j.clients].sort(byClient),
      [{ client: ann.rc.client, user: 'ann' }, { client: bob.rc.client, user: 'bob' }].sort(byClient));

    const r = bob.rc.roster('list');
    assert.equal(r.complete, true);
    assert.deepEqual(r.people.map((p) => p.user).sort(), ['ann', 'bob']);

    const anon = connect('/ws');
    await anon.rc.join('list');
    const p = await bob.rec.waitFor('presence', (d) => d.client === anon.rc.client);
    assert.deepEqual(p, { room: 'list', event: 'join', client: anon.rc.client, user: undefined, members: 3 });
    assert.deepEqual(await bob.rec.waitFor('roster', (d) => d.members === 3), { room: 'list', members: 3, users: 3, complete: true });

    anon.rc.close();
    await bob.rec.waitFor('presence', (d) => d.event === 'leave' && d.client === anon.rc.client);
    assert.equal(bob.rc.roster('list').users, 2);
    assert.equal(bob.rc.roster('list').clients.length, 2);
    await bob.rc.leave('list');
    assert.equal(bob.rc.roster('list'), undefined);
  });

  test('a user with three tabs is one person', async () => {
    const tabs = [connect('/ws?name=ann'), connect('/ws?name=ann'), connect('/ws?name=ann')];
    const bob = connect('/ws?name=bob');
    await bob.rc.join('tabs');
    for (const t of tabs) await t.rc.join('tabs');
    await bob.rec.waitFor('roster', (d) => d.members === 4);
    const r = bob.rc.roster('tabs');
    assert.equal(r.users, 2);
    assert.equal(bob.rc.connectionsOf('tabs', 'ann'), 3);
    const ann = r.people.find((p) => p.user === 'ann');
    assert.deepEqual(ann.clients.sort(), tabs.map((t) => t.rc.client).sort());

    // ann closes two tabs: still there; the last one: gone
    const since = bob.rec.mark();
    tabs[0].rc.close();
    tabs[1].rc.close();
    await bob.rec.waitFor('roster', (d) => d.members === 2, { since });
    assert.equal(bob.rc.connectionsOf('tabs', 'ann'), 1);
    assert.equal(bob.rc.roster('tabs').users, 2);
    tabs[2].rc.close();
    await bob.rec.waitFor('roster', (d) => d.members === 1, { since });
    assert.equal(bob.rc.connectionsOf('tabs', 'ann'), 0);
    assert.equal(bob.rc.roster('tabs').users, 1);
  });

  test('a big room: counts only in joined, joins and leaves batched', async () => {
    const first = connect('/big/crowd?name=first');
    await first.rec.waitFor('joined');
    const others = [];
    for (let i = 0; i < 9; i++) others.push(connect(`/big/crowd?name=u${i % 3}`));
    const joins = await Promise.all(others.map((o) => o.rec.waitFor('joined')));
    const lastIn = others[joins.findIndex((j) => j.members === 10)];
    const late = lastIn.rec.of('joined')[0];
    assert.equal(late.users, 4);
    assert.equal(late.clients, undefined);
    assert.equal(lastIn.rc.roster('crowd').complete, false);

    await first.rec.waitFor('roster', (d) => d.members === 10);
    const diffs = first.rec.of('presencediff');
    assert.ok(diffs.length >= 1, 'no presence_diff');
    const batched = first.rec.of('presence').filter((p) => p.batched);
    // 2 joins while the room was small (per-event), 7 more in batches
    assert.equal(first.rec.of('presence').length, 9);
    assert.equal(batched.length, 7);
    assert.ok(diffs.length < 7, `${diffs.length} presence_diff frames for 7 joins`);
    const r = first.rc.roster('crowd');
    assert.equal(r.complete, true);
    assert.equal(r.users, 4);
    assert.equal(r.clients.length, 10);

    const since = first.rec.mark();
    for (const o of others.slice(0, 4)) o.rc.close();
    await first.rec.waitFor('roster', (d) => d.members === 6, { since });
    assert.equal(first.rc.roster('crowd').clients.length, 6);
    assert.ok(first.rec.of('presence').filter((p) => p.event === 'leave' && p.batched).length >= 3);
  });

  test('paging through the members completes the roster', async () => {
    const members = [];
    for (let i = 0; i < 7; i++) {
      const m = connect(`/big/paged?name=p${i}`);
      members.push(m);
      await m.rec.waitFor('joined');
    }
    const me = members[6].rc;
    assert.equal(me.roster('paged').complete, false);
    const seen = [];
    let page = await me.members('paged', { limit: 3 });
    seen.push(...page.clients);
    while (page.next !== undefined) {
      assert.equal(page.clients.length, 3);
      assert.equal(page.next, page.clients.at(-1).client);
      page = await me.members('paged', { after: page.next, limit: 3 });
      seen.push(...page.clients);
    }
    assert.equal(page.members, 7);
    assert.equal(page.users, 7);
    assert.deepEqual(seen.map((m) => m.client), members.map((m) => m.rc.client).sort());
    const r = me.roster('paged');
    assert.equal(r.complete, true);
    assert.equal(r.clients.length, 7);

    await assert.rejects(me.members('paged', { limit: 5000 }), (err) => err instanceof RoomsError && err.code === 'invalid_limit');
    await assert.rejects(me.members('elsewhere'), (err) => err.code === 'not_member');
    const all = await within(me.members('paged'), 5000, 'default page');
    assert.equal(all.clients.length, 7);
    assert.equal(all.next, undefined);
  });
});
