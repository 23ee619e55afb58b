// Test support: record a RoomsClient's events and wait (bounded) for one.

const TYPES = ['welcome', 'open', 'close', 'reconnecting', 'message', 'presence', 'presencediff', 'roster', 'joined', 'left', 'error'];

export class Recorder {
  constructor(rc) {
    this.rc = rc;
    this.events = [];   // [{type, detail}]
    this._waiters = new Set();
    for (const type of TYPES) {
      rc.on(type, (detail) => {
        this.events.push({ type, detail });
        for (const w of this._waiters) w.check();
      });
    }
  }

  of(type) {
    return this.events.filter((e) => e.type === type).map((e) => e.detail);
  }

  /** Resolves with the first recorded `type` event (past or future, from
   * index `since`) that matches `pred`; rejects after `ms`. */
  waitFor(type, pred = () => true, { ms = 5000, since = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          for (let i = since; i < this.events.length; i++) {
            const e = this.events[i];
            if (e.type === type && pred(e.detail)) {
              this._waiters.delete(w);
              clearTimeout(w.timer);
              resolve(e.detail);
              return;
            }
          }
        },
      };
      w.timer = setTimeout(() => {
        this._waiters.delete(w);
        const seen = this.events.slice(since).map((e) => `${e.type} ${JSON.stringify(e.detail)}`);
        reject(new Error(`no matching "${type}" event within ${ms} ms; saw:\n  ${seen.join('\n  ')}`));
      }, ms);
      this._waiters.add(w);
      w.check();
    });
  }

  /** The index to pass as `since` to wait only for later events. */
  mark() {
    return this.events.length;
  }
}

/** Rejects after `ms` unless `promise` settles first. */
export function within(promise, ms, what = 'operation') {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** Resolves once `cond()` is true, checked every 5 ms; rejects after `ms`. */
export async function until(cond, ms, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
