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
export interface Ack { seq: number }

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
  joined: Joined & { id?: string; byPath: boolean };
  left: { room: string; id?: string };
  error: { code: string; message: string; id?: string; room?: string; frame?: unknown };
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
  /** Resolves on the first welcome; rejects on close() or, without reconnect, a failed connection. */
  readonly connected: Promise<Welcome>;

  ready(timeout?: number): Promise<Welcome>;
  join(room: string): Promise<Joined>;
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
