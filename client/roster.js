// roster.js: who is in a room, as a RoomsClient learns it from `joined`,
// `presence`, `presence_diff` and `members` frames. See README.md.

/** The key a member counts under as a person: its user, or, without one,
 * its connection. */
const personKey = (client, user) => (user === undefined ? `c:${client}` : `u:${user}`);

export class Roster {
  constructor(room) {
    this.room = room;
    /** Connections in the room (the server's count). */
    this.members = 0;
    /** Distinct users in the room; a connection without a user counts as one. */
    this.users = 0;
    /** True while `clients` holds every member. */
    this.complete = false;
    /** Members known: connection id -> user (undefined when none). */
    this.clients = new Map();
    this._people = new Map(); // personKey -> Set of connection ids
    this._sweep = null;       // paging from the start: {next, clean, seen}
  }

  _add(client, user) {
    this._sweep?.seen.add(client);
    if (this.clients.has(client)) return;
    this.clients.set(client, user);
    const key = personKey(client, user);
    if (!this._people.has(key)) this._people.set(key, new Set());
    this._people.get(key).add(client);
  }

  _remove(client) {
    if (!this.clients.has(client)) return;
    const key = personKey(client, this.clients.get(client));
    this.clients.delete(client);
    const set = this._people.get(key);
    set.delete(client);
    if (set.size === 0) this._people.delete(key);
  }

  _count(members, users) {
    this.members = members;
    if (this.complete) this.users = this._people.size;
    else if (users !== undefined) this.users = users;
  }

  /** A `joined` frame: the list when it has one, else a partial roster. */
  joined(f) {
    this.clients.clear();
    this._people.clear();
    this._sweep = null;
    this.complete = Array.isArray(f.clients);
    for (const m of f.clients || []) this._add(m.client, m.user);
    this._count(f.members, f.users);
  }

  /** A `presence` frame (one join or leave). */
  presence(f) {
    if (f.event === 'join') this._add(f.client, f.user);
    else this._remove(f.client);
    this._count(f.members, undefined);
  }

  /** A `presence_diff` frame: leaves, then joins. Returns the changes as
   * `presence` event details, leaving out `self` (this connection). */
  diff(f, self) {
    const changes = [];
    const each = (list, event) => {
      for (const m of list || []) {
        if (m.client === self) continue;
        if (event === 'join') this._add(m.client, m.user);
        else this._remove(m.client);
        changes.push({ room: this.room, event, client: m.client, user: m.user, members: f.members, batched: true });
      }
    };
    each(f.leaves, 'leave');
    each(f.joins, 'join');
    if (f.omitted > 0) {
      this.complete = false;
      if (this._sweep) this._sweep.clean = false;
    }
    this._count(f.members, f.users);
    return changes;
  }

  /** A `members` page, asked for with `after`: its members are merged in. A
   * sweep of pages from the start to the last, with no change left out
   * meanwhile, makes the roster complete. */
  page(f, after) {
    if (!after) this._sweep = { next: after, clean: true, seen: new Set() };
    const sweep = this._sweep && this._sweep.next === after ? this._sweep : null;
    if (!sweep) this._sweep = null;
    for (const m of f.clients || []) this._add(m.client, m.user);
    if (sweep) sweep.next = f.next;
    if (sweep && f.next === undefined) {
      this._sweep = null;
      if (sweep.clean) {
        // whoever the sweep did not meet has left meanwhile
        for (const client of [...this.clients.keys()]) if (!sweep.seen.has(client)) this._remove(client);
        this.complete = true;
      }
    }
    this._count(f.members, f.users);
  }

  /** How many of `user`'s connections are known to be in the room. */
  connectionsOf(user) {
    if (user === undefined) return 0;
    return this._people.get(personKey('', user))?.size ?? 0;
  }

  /** A plain copy: counts, the members known and the same grouped by person. */
  snapshot() {
    const clients = [...this.clients].map(([client, user]) => (user === undefined ? { client } : { client, user }));
    const people = [...this._people.values()].map((set) => {
      const ids = [...set];
      const user = this.clients.get(ids[0]);
      return user === undefined ? { clients: ids } : { user, clients: ids };
    });
    return { room: this.room, members: this.members, users: this.users, complete: this.complete, clients, people };
  }
}
