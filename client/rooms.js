// rooms.js: a dependency-free client for the caddyrooms `json` wire protocol.
//
// Works in browsers and in Node 20+ (run Node 20 with --experimental-websocket,
// or pass a WebSocket constructor in the options). See README.md beside this
// file for the API and the reconnect rules.

import { Roster } from './roster.js';

const DEFAULTS = {
  reconnect: true,
  minDelay: 500,
  maxDelay: 10000,
  timeout: 10000,
  WebSocket: undefined,
};

/** An error frame from the server, or a local failure (code `disconnected`,
 * `closed`, `timeout`, `not_connected`). */
export class RoomsError extends Error {
  constructor(code, message, frame) {
    super(message || code);
    this.name = 'RoomsError';
    this.code = code;
    if (frame !== undefined) this.frame = frame;
  }
}

/** The event dispatched by RoomsClient; its payload is in `detail`. */
class RoomsEvent extends Event {
  constructor(type, detail) {
    super(type);
    this.detail = detail;
  }
}

/** Close codes after which the server says reconnecting would not help
 * (the server's 4xxx codes): 4000 disconnected by the operator, 4003 the
 * route's room refused the connection for good, 4008 too many errors.
 * Any other code (1001 server stopping, 1006 connection lost, 1008 send
 * queue full or pong timeout, 1012 the node missed messages of a room
 * (a cluster: the reconnect resumes), 1013 the broker is unreachable, ...)
 * is followed by a reconnect. */
export function isFinalCloseCode(code) {
  return code >= 4000 && code <= 4999;
}

/** The backoff delay before reconnect attempt `attempt` (1, 2, ...):
 * exponential from minDelay, capped at maxDelay, with "equal jitter"
 * (a random value between half the delay and the whole delay). */
export function backoffDelay(attempt, minDelay, maxDelay, random = Math.random) {
  const exp = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** A random prefix for this client's publish keys. */
function randomKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

export class RoomsClient extends EventTarget {
  /**
   * @param {string|URL} url  ws:// or wss:// URL of a `rooms` route.
   * @param {object} [options] see README.md
   */
  constructor(url, options = {}) {
    super();
    this.url = String(url);
    this.options = { ...DEFAULTS, ...options };
    this._WS = this.options.WebSocket || globalThis.WebSocket;
    if (typeof this._WS !== 'function') {
      throw new TypeError(
        'RoomsClient: no WebSocket constructor; pass {WebSocket} or run Node with --experimental-websocket');
    }
    /** `connecting` | `open` | `reconnecting` | `closed` */
    this.state = 'connecting';
    /** Connection id from the latest welcome. */
    this.client = undefined;
    /** Identity from the latest welcome (undefined when none). */
    this.user = undefined;
    /** Rooms this client joined by message; rejoined after a reconnect. */
    this.rooms = new Set();
    /** Rooms the route put the connection in (the directive's `room`); the
     * server rejoins these itself on every connection. */
    this.pathRooms = new Set();
    /** Number of reconnect attempts since the last welcome. */
    this.attempt = 0;
    /** Where this client stands in each room: room -> {epoch, seq}, the
     * room's epoch and the seq of the last message the application got.
     * A reconnect resumes every room from here. */
    this.positions = new Map();
    this._rosters = new Map(); // room -> Roster, for the rooms this connection is in

    this._nextId = 1;
    this._pending = new Map(); // id -> {resolve, reject, timer, type, room}
    this._queue = [];          // requests waiting for a welcome
    this._ws = null;
    this._welcomed = false;
    this._welcome = undefined;
    this._timer = null;
    this._readyWaiters = [];
    this._retry = [];          // publishes to send again, with their key, after a reconnect
    this._keyPrefix = randomKey();
    this._nextKey = 1;

    this.connected = new Promise((resolve, reject) => {
      this._connectedSettle = { resolve, reject };
    });
    this.connected.catch(() => {}); // never an unhandled rejection
    this._open();
  }

  /** Resolves with the welcome {client, user} of the current connection, at
   * once when it is welcomed, or at the next welcome. Rejects after
   * `timeout` ms (default: the client's timeout option) or on close(). */
  ready(timeout = this.options.timeout) {
    if (this.state === 'closed') return Promise.reject(new RoomsError('closed', 'client closed'));
    if (this._welcomed) return Promise.resolve(this._welcome);
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      if (timeout > 0) {
        w.timer = setTimeout(() => {
          this._readyWaiters = this._readyWaiters.filter((x) => x !== w);
          reject(new RoomsError('timeout', `no welcome within ${timeout} ms`));
        }, timeout);
      }
      this._readyWaiters.push(w);
    });
  }

  /** Join a room. Resolves {room, members} on `joined`; the room's epoch
   * and seq are in `positions`.
   * `{last: n}` asks for the room's last n kept messages, which arrive as
   * `message` events right after. */
  join(room, { last } = {}) {
    const frame = { type: 'join', room };
    if (last > 0) frame.last = last;
    return this._request(frame);
  }

  /** Leave a room. Resolves {room} on `left`. */
  leave(room) {
    return this._request({ type: 'leave', room });
  }

  /** One page of a room's members, sorted by connection id, after the
   * connection id `after`, at most `limit` (server default 100, at most
   * 1000). Resolves {room, members, users, clients, next}; pass `next` as
   * `after` for the following page (absent on the last). */
  members(room, { after, limit } = {}) {
    const frame = { type: 'members', room };
    if (after !== undefined) frame.after = after;
    if (limit !== undefined) frame.limit = limit;
    return this._request(frame);
  }

  /** What this client knows of who is in `room`: {room, members, users,
   * complete, clients: [{client, user}], people: [{user, clients}]}, or
   * undefined when it is not in the room. */
  roster(room) {
    return this._rosters.get(room)?.snapshot();
  }

  /** How many connections of `user` this client knows to be in `room`. */
  connectionsOf(room, user) {
    return this._rosters.get(room)?.connectionsOf(user) ?? 0;
  }

  /** Publish any JSON value to a room this client is in. Resolves {seq}.
   * It carries a key: when the connection drops before the ack, it is sent
   * again after the reconnect, and the server delivers it once. */
  publish(room, data) {
    return this._request({ type: 'publish', room, data, key: `${this._keyPrefix}-${this._nextKey++}` });
  }

  /** Listen to an event; the listener gets (detail, event). Returns a
   * function that removes the listener. */
  on(type, listener) {
    const wrapped = (ev) => listener(ev.detail, ev);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  /** Listen to the next event of a type; returns a function that cancels. */
  once(type, listener) {
    const off = this.on(type, (detail, ev) => {
      off();
      listener(detail, ev);
    });
    return off;
  }

  /** Close for good: no reconnect; every pending request is rejected with
   * code `closed`. */
  close(code = 1000, reason = '') {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this._timer);
    this._timer = null;
    const err = () => new RoomsError('closed', 'client closed');
    this._connectedSettle.reject(err());
    this._rejectAll(err);
    for (const w of this._readyWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err());
    }
    const ws = this._ws;
    this._ws = null;
    this._welcomed = false;
    if (ws) {
      try { ws.close(code, reason); } catch { ws.close(); }
    }
    this._emit('close', { code, reason, wasClean: true, willReconnect: false });
    this._emit('disconnected', { code, reason, willRetry: false });
  }

  // ---- internals ----

  _emit(type, detail) {
    this.dispatchEvent(new RoomsEvent(type, detail));
  }

  _open() {
    let ws;
    try {
      ws = new this._WS(this._resumeURL());
    } catch (e) {
      // A malformed URL will not get better: give up.
      this._connectedSettle.reject(e);
      this.state = 'closed';
      throw e;
    }
    this._ws = ws;
    this._welcomed = false;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      this._emit('open', {});
    };
    ws.onmessage = (ev) => {
      if (ws !== this._ws) return;
      this._onFrame(ev.data);
    };
    ws.onerror = () => {
      // A close event should follow, but some WebSocket implementations
      // (Node 20's) fire only `error` when the handshake fails.
      setTimeout(() => {
        if (ws !== this._ws || ws.readyState === 1) return;
        try { ws.close(); } catch { /* already closing */ }
        this._onClose({ code: 1006, reason: '', wasClean: false });
      }, 100);
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._onClose(ev);
    };
  }

  _onClose(ev) {
    this._ws = null;
    this._rosters.clear();
    const wasWelcomed = this._welcomed;
    this._welcomed = false;
    const willReconnect = this.options.reconnect && this.state !== 'closed' && !isFinalCloseCode(ev.code);
    // Requests sent on this connection will get no answer: publishes are
    // sent again after the reconnect (their key makes that safe), the
    // others are rejected.
    for (const [id, p] of this._pending) {
      this._pending.delete(id);
      if (willReconnect && p.frame && p.frame.key) {
        this._retry.push(p);
        continue;
      }
      clearTimeout(p.timer);
      p.reject(new RoomsError('disconnected', `connection closed before the reply to ${p.type} (id ${id})`));
    }
    this._emit('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean, willReconnect });
    this._emit('disconnected', { code: ev.code, reason: ev.reason, willRetry: willReconnect });
    if (!willReconnect) {
      this.state = 'closed';
      const err = () => new RoomsError('disconnected', `connection closed (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`);
      if (!wasWelcomed) this._connectedSettle.reject(err());
      this._rejectAll(err);
      for (const w of this._readyWaiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err());
      }
      return;
    }
    this.state = 'reconnecting';
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, this.options.minDelay, this.options.maxDelay);
    this._emit('reconnecting', { attempt: this.attempt, delay });
    this._timer = setTimeout(() => {
      this._timer = null;
      if (this.state === 'closed') return;
      this.state = 'connecting';
      this._open();
    }, delay);
  }

  _onFrame(raw) {
    if (typeof raw !== 'string') return; // the json protocol sends text only
    let f;
    try {
      f = JSON.parse(raw);
    } catch {
      this._emit('error', { code: 'bad_frame', message: 'server sent a frame that is not JSON', frame: raw });
      return;
    }
    if (!f || typeof f !== 'object') return;
    const p = f.id !== undefined ? this._pending.get(f.id) : undefined;
    switch (f.type) {
      case 'welcome':
        this._onWelcome(f);
        break;
      case 'joined': {
        const j = { room: f.room, members: f.members, users: f.users };
        if (f.clients) j.clients = f.clients;
        this._roster(f.room, true).joined(f);
        this._position(f, p);
        if (p) {
          if (p.track) this.rooms.add(f.room);
          this._settle(f.id, null, j);
        } else if (f.id === undefined) {
          // Joined by the route (the directive's `room`), not by a request.
          this.pathRooms.add(f.room);
        }
        this._emit('joined', { ...j, id: f.id, byPath: f.id === undefined, epoch: f.epoch, seq: f.seq });
        this._emitRoster(f.room);
        break;
      }
      case 'members':
        if (p) {
          this._roster(f.room)?.page(f, p.after);
          const page = { room: f.room, members: f.members, users: f.users, clients: f.clients };
          if (f.next !== undefined) page.next = f.next;
          this._settle(f.id, null, page);
          this._emitRoster(f.room);
        }
        break;
      case 'presence_diff': {
        const changes = this._roster(f.room)?.diff(f, this.client) ?? [];
        for (const c of changes) this._emit('presence', c);
        this._emit('presencediff', { room: f.room, joins: f.joins, leaves: f.leaves, omitted: f.omitted, members: f.members, users: f.users });
        this._emitRoster(f.room);
        break;
      }
      case 'left':
        this._rosters.delete(f.room);
        this.rooms.delete(f.room);
        this.pathRooms.delete(f.room);
        this.positions.delete(f.room);
        if (p) this._settle(f.id, null, { room: f.room });
        this._emit('left', { room: f.room, id: f.id });
        break;
      case 'ack':
        if (p) this._settle(f.id, null, f.duplicate ? { seq: f.seq, duplicate: true } : { seq: f.seq });
        break;
      case 'message': {
        const pos = this.positions.get(f.room);
        if (pos && f.seq <= pos.seq) break; // seen already
        if (pos) pos.seq = f.seq;
        this._emit('message', { room: f.room, from: f.from, data: f.data, seq: f.seq });
        break;
      }
      case 'presence':
        this._roster(f.room)?.presence(f);
        this._emit('presence', {
          room: f.room, event: f.event, client: f.client, user: f.user, members: f.members,
        });
        this._emitRoster(f.room);
        break;
      case 'error':
        if (p) {
          this._settle(f.id, new RoomsError(f.code, f.message, f));
        } else {
          this._emit('error', { code: f.code, message: f.message, id: f.id, frame: f });
        }
        break;
      default:
        // Unknown frame types are ignored, so that the server may add some.
        break;
    }
  }

  _roster(room, create = false) {
    if (create && !this._rosters.has(room)) this._rosters.set(room, new Roster(room));
    return this._rosters.get(room);
  }

  _emitRoster(room) {
    const r = this._rosters.get(room);
    if (r) this._emit('roster', { room, members: r.members, users: r.users, complete: r.complete });
  }

  _onWelcome(f) {
    this._rosters.clear(); // a new connection: its joined frames say who is there
    this.client = f.client;
    this.user = f.user;
    this._welcomed = true;
    this.state = 'open';
    const reconnected = this.attempt > 0;
    this.attempt = 0;
    // The route's own room is rejoined by the server; it announces it again.
    this.pathRooms.clear();
    // Rejoin before anything else goes out, so queued publishes find
    // their rooms joined (frames of one connection are handled in order),
    // resuming each room from where this client stands.
    for (const room of this.rooms) {
      const pos = this.positions.get(room);
      const frame = pos ? { type: 'join', room, since: { epoch: pos.epoch, seq: pos.seq } } : { type: 'join', room };
      this._send(frame, { track: true }).catch((err) => {
        this.rooms.delete(room);
        this._emit('error', { code: err.code, message: `rejoin ${room}: ${err.message}`, room });
      });
    }
    for (const p of this._retry.splice(0)) this._sendWith(p.frame, p);
    for (const q of this._queue.splice(0)) {
      clearTimeout(q.queueTimer);
      this._sendQueued(q);
    }
    const detail = { client: f.client, user: f.user, reconnected };
    this._welcome = detail;
    this._connectedSettle.resolve(detail);
    for (const w of this._readyWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(detail);
    }
    this._emit('welcome', detail);
  }

  _request(frame) {
    if (this.state === 'closed') return Promise.reject(new RoomsError('closed', 'client closed'));
    if (typeof frame.room !== 'string' || frame.room === '') {
      return Promise.reject(new RoomsError('bad_request', 'room must be a non-empty string'));
    }
    const track = frame.type === 'join';
    if (this._welcomed) return this._send(frame, { track });
    // Not welcomed yet: wait for the next welcome (bounded by `timeout`).
    return new Promise((resolve, reject) => {
      const q = { frame, track, resolve, reject, queueTimer: null };
      const t = this.options.timeout;
      if (t > 0) {
        q.queueTimer = setTimeout(() => {
          this._queue = this._queue.filter((x) => x !== q);
          reject(new RoomsError('not_connected', `not connected within ${t} ms (${frame.type})`));
        }, t);
      }
      this._queue.push(q);
    });
  }

  _sendQueued(q) {
    this._send(q.frame, { track: q.track }).then(q.resolve, q.reject);
  }

  _send(frame, { track = false } = {}) {
    return new Promise((resolve, reject) => {
      const p = { resolve, reject, type: frame.type, room: frame.room, after: frame.after, track, timer: null, frame, id: '' };
      const t = this.options.timeout;
      if (t > 0) {
        p.timer = setTimeout(() => {
          this._pending.delete(p.id);
          this._retry = this._retry.filter((x) => x !== p);
          reject(new RoomsError('timeout', `no reply to ${frame.type} (id ${p.id}) within ${t} ms`));
        }, t);
      }
      this._sendWith(frame, p);
    });
  }

  // _sendWith sends frame with a fresh id for the pending request p: its
  // first sending, or a publish sent again after a reconnect.
  _sendWith(frame, p) {
    const id = String(this._nextId++);
    p.id = id;
    this._pending.set(id, p);
    try {
      this._ws.send(JSON.stringify({ ...frame, id }));
    } catch (e) {
      this._settle(id, new RoomsError('disconnected', `send failed: ${e.message}`));
    }
  }

  // _position updates where this client stands in a room on `joined`, and
  // tells the application how a resume went: `recovered` (the missed
  // messages follow as `message` events) or `gap` (they cannot: refetch).
  _position(f, p) {
    const pos = this.positions.get(f.room);
    if (f.recovered === true && pos && pos.epoch === f.epoch) {
      this._emit('recovered', { room: f.room, epoch: f.epoch, since: pos.seq, seq: f.seq, missed: f.seq - pos.seq });
      return; // the replay moves pos on
    }
    if (f.recovered === false) {
      this._emit('gap', { room: f.room, reason: f.reason, epoch: f.epoch, seq: f.seq, since: pos ? pos.seq : 0 });
    }
    const last = p && p.frame && p.frame.last > 0 ? p.frame.last : 0;
    this.positions.set(f.room, { epoch: f.epoch, seq: Math.max(0, f.seq - last) });
  }

  // _resumeURL is the URL to connect to: after a drop, with rooms_since
  // for the route's room, so the server resumes it at the handshake.
  _resumeURL() {
    const pos = this.pathRooms.size === 1 ? this.positions.get([...this.pathRooms][0]) : undefined;
    if (!pos) return this.url;
    const u = new URL(this.url);
    u.searchParams.set('rooms_since', `${pos.epoch}:${pos.seq}`);
    return u.toString();
  }

  _settle(id, err, value) {
    const p = this._pending.get(id);
    if (!p) return;
    this._pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  _rejectAll(makeErr) {
    for (const p of this._retry.splice(0)) {
      clearTimeout(p.timer);
      p.reject(makeErr());
    }
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      this._pending.delete(id);
      p.reject(makeErr());
    }
    for (const q of this._queue.splice(0)) {
      clearTimeout(q.queueTimer);
      q.reject(makeErr());
    }
  }
}

export default RoomsClient;
