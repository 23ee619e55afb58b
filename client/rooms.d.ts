// Types for rooms.js, the caddyrooms `json` protocol client.

export interface RoomsClientOptions {
  /** Reconnect after the connection drops. Default true. */
  reconnect?: boolean;
  /** First reconnect delay in ms (doubled each attempt, with jitter). Default 500. */
  minDelay?: number;
  /** Largest reconnect delay in ms. Default 10000. */
  maxDelay?: number;
  /** Bound in ms on each request's reply and on waiting for a welcome; 0 = none. Default 10000. */
  timeout?: number;
  /** WebSocket constructor; default globalThis.WebSocket. */
  WebSocket?: new (url: string) => WebSocket;
}

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface Welcome { client: string; user?: string; reconnected: boolean }
/** A member of a room: its connection id and user (absent when none). */
export interface RoomMember { client: string; user?: string }
/** `clients` is every member, this client included, when the room has at
 * most the route's presence_list (default 100) members; absent above it. */
export interface Joined { room: string; members: number; users: number; clients?: RoomMember[] }
/** One page of a `members` request; `next` is absent on the last page. */
export interface MembersPage { room: string; members: number; users: number; clients: RoomMember[]; next?: string }
/** What a client knows of who is in a room. `complete` is true while
 * `clients` holds every member; `people` groups them by user. */
export interface RosterSnapshot {
  room: string;
  members: number;
  users: number;
  complete: boolean;
  clients: RoomMember[];
  people: { user?: string; clients: string[] }[];
}
export interface Left { room: string }
/** `duplicate` is true when the server had seen this publish's key: it was
 * sent again after a reconnect and delivered once, with this seq. */
export interface Ack { seq: number; duplicate?: true }
/** Where the client stands in a room: its epoch and the last seq seen. */
export interface Position { epoch: string; seq: number }
export interface JoinOptions {
  /** Ask for the room's last n kept messages; they follow as `message` events. */
  last?: number;
}

export interface RoomsEventMap {
  welcome: Welcome;
  open: Record<string, never>;
  close: { code: number; reason: string; wasClean: boolean; willReconnect: boolean };
  /** Every end of a connection; willRetry is false after close(), without `reconnect`, and for the server's 4xxx codes. */
  disconnected: { code: number; reason: string; willRetry: boolean };
  reconnecting: { attempt: number; delay: number };
  message: { room: string; from?: string; data: unknown; seq: number };
  /** One join or leave; `batched` when it came in a big room's presence_diff. */
  presence: { room: string; event: 'join' | 'leave'; client: string; user?: string; members: number; batched?: true };
  presencediff: { room: string; joins: RoomMember[]; leaves: RoomMember[]; omitted: number; members: number; users: number };
  roster: { room: string; members: number; users: number; complete: boolean };
  /** `epoch` and `seq`: the room's position at the join; messages up to
   * `seq` that follow are recent ones (a resume's or `last`'s). */
  joined: Joined & { id?: string; byPath: boolean; epoch: string; seq: number };
  left: { room: string; id?: string };
  error: { code: string; message: string; id?: string; room?: string; frame?: unknown };
  /** A resume after a reconnect worked: the `missed` messages after `since`
   * follow as `message` events, before any live one. */
  recovered: { room: string; epoch: string; since: number; seq: number; missed: number };
  /** A resume could not be done: the messages after `since` are lost to
   * this client (`reason` epoch_changed or too_old); live messages go on
   * after `seq`. */
  gap: { room: string; reason: 'epoch_changed' | 'too_old'; epoch: string; seq: number; since: number };
}

export interface RoomsEvent<K extends keyof RoomsEventMap = keyof RoomsEventMap> extends Event {
  readonly detail: RoomsEventMap[K];
}

/** Error frame from the server (code as sent, e.g. `not_member`) or a local
 * failure: `disconnected`, `closed`, `timeout`, `not_connected`, `bad_request`. */
export class RoomsError extends Error {
  constructor(code: string, message?: string, frame?: unknown);
  readonly code: string;
  readonly frame?: unknown;
}

export function backoffDelay(attempt: number, minDelay: number, maxDelay: number, random?: () => number): number;

export class RoomsClient extends EventTarget {
  constructor(url: string | URL, options?: RoomsClientOptions);
  readonly url: string;
  readonly options: Required<Omit<RoomsClientOptions, 'WebSocket'>> & Pick<RoomsClientOptions, 'WebSocket'>;
  readonly state: ClientState;
  /** Connection id from the latest welcome. */
  readonly client: string | undefined;
  /** Identity from the latest welcome. */
  readonly user: string | undefined;
  /** Rooms joined by message; rejoined after a reconnect. */
  readonly rooms: Set<string>;
  /** Rooms the route joined (the directive's `room`); the server rejoins them. */
  readonly pathRooms: Set<string>;
  /** Reconnect attempts since the last welcome. */
  readonly attempt: number;
  /** Where the client stands in each room; a reconnect resumes from here. */
  readonly positions: Map<string, Position>;
  /** Resolves on the first welcome; rejects on close() or, without reconnect, a failed connection. */
  readonly connected: Promise<Welcome>;

  ready(timeout?: number): Promise<Welcome>;
  join(room: string, options?: JoinOptions): Promise<Joined>;
  leave(room: string): Promise<Left>;
  members(room: string, page?: { after?: string; limit?: number }): Promise<MembersPage>;
  roster(room: string): RosterSnapshot | undefined;
  connectionsOf(room: string, user: string): number;
  publish(room: string, data: unknown): Promise<Ack>;
  on<K extends keyof RoomsEventMap>(type: K, listener: (detail: RoomsEventMap[K], event: RoomsEvent<K>) => void): () => void;
  once<K extends keyof RoomsEventMap>(type: K, listener: (detail: RoomsEventMap[K], event: RoomsEvent<K>) => void): () => void;
  close(code?: number, reason?: string): void;
}

export default RoomsClient;

/** True for the close codes after which the client does not reconnect (4000-4999). */
export function isFinalCloseCode(code: number): boolean;
