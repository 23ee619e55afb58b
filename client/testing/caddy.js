// Test support: run a real Caddy (the repo's ./cmd/caddy build) on free
// loopback ports. Used by client/test and e2e/browser. Not published.
//
// The binary is $CADDY_BIN, default bin/caddy at the repository root
// (`go build -o bin/caddy ./cmd/caddy`). A missing binary is an error, never
// a skip.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function caddyBin() {
  const bin = process.env.CADDY_BIN || path.join(repoRoot, 'bin', 'caddy');
  if (!existsSync(bin)) {
    throw new Error(
      `Caddy binary not found at ${bin}. Build it from the repository root with ` +
      '`go build -o bin/caddy ./cmd/caddy`, or set CADDY_BIN to its path.');
  }
  return path.resolve(bin);
}

/** A free TCP port on 127.0.0.1 (free when asked; good enough for tests). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A Caddy process with a Caddyfile made by `caddyfile({port, adminPort})`.
 * start() and restart() wait (bounded) until the HTTP port accepts
 * connections; stop() kills it. `log` holds its combined output.
 */
export class Caddy {
  constructor(caddyfile, { cwd = repoRoot, startTimeout = 15000 } = {}) {
    this.bin = caddyBin();
    this.cwd = cwd;
    this.startTimeout = startTimeout;
    this.caddyfile = caddyfile;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'caddyrooms-test-'));
    this.config = path.join(this.dir, 'Caddyfile');
    this.proc = null;
    this.log = '';
    this.port = 0;
    this.adminPort = 0;
  }

  get wsBase() { return `ws://127.0.0.1:${this.port}`; }
  get httpBase() { return `http://127.0.0.1:${this.port}`; }
  get adminBase() { return `http://127.0.0.1:${this.adminPort}`; }

  async start() {
    if (!this.port) this.port = await freePort();
    if (!this.adminPort) this.adminPort = await freePort();
    writeFileSync(this.config, this.caddyfile({ port: this.port, adminPort: this.adminPort }));
    await this._spawn();
    return this;
  }

  async _spawn() {
    const env = {
      ...process.env,
      HOME: this.dir,
      XDG_CONFIG_HOME: path.join(this.dir, 'config'),
      XDG_DATA_HOME: path.join(this.dir, 'data'),
    };
    const proc = spawn(this.bin, ['run', '--config', this.config, '--adapter', 'caddyfile'], {
      cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let exited = null;
    proc.on('exit', (code, signal) => { exited = { code, signal }; });
    const keep = (b) => {
      this.log += b.toString();
      if (this.log.length > 200000) this.log = this.log.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);

    const deadline = Date.now() + this.startTimeout;
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`caddy exited early (${JSON.stringify(exited)}) with config:\n` +
          `${this.caddyfile({ port: this.port, adminPort: this.adminPort })}\noutput:\n${this.tail()}`);
      }
      if (await canConnect(this.port)) return;
      await sleep(100);
    }
    await this.stop();
    throw new Error(`caddy did not listen on port ${this.port} within ${this.startTimeout} ms; output:\n${this.tail()}`);
  }

  /** A request to Caddy's admin endpoint; resolves {status, body} with the
   * body parsed as JSON when it is JSON. Uses node:http rather than fetch:
   * Caddy's admin endpoint refuses requests that carry Sec-Fetch-Mode, as
   * fetch's do. */
  admin(method, urlPath, body, timeout = 5000) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(`${this.adminBase}${urlPath}`, {
        method,
        timeout,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          let parsed = text;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
          resolve({ status: res.statusCode, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`admin ${method} ${urlPath}: no answer within ${timeout} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The last lines of Caddy's output, for failure messages. */
  tail(n = 40) {
    return this.log.trim().split('\n').slice(-n).join('\n');
  }

  /** Freeze the process (SIGSTOP): it keeps its sockets but answers
   * nothing. Resolves once the kernel shows it stopped (Linux), bounded. */
  async pause(timeout = 5000) {
    const proc = this.proc;
    if (!proc) throw new Error('caddy is not running');
    proc.kill('SIGSTOP');
    const stat = `/proc/${proc.pid}/stat`;
    if (!existsSync(stat)) {
      await sleep(200);
      return;
    }
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      // Field 3 of /proc/PID/stat, after "(comm)", is the state; T = stopped.
      const state = readFileSync(stat, 'utf8').replace(/^.*\) /s, '')[0];
      if (state === 'T') return;
      await sleep(10);
    }
    throw new Error(`caddy (pid ${proc.pid}) did not stop within ${timeout} ms`);
  }

  /** Stop the process; `signal` SIGKILL (default) drops every connection at once. */
  async stop(signal = 'SIGKILL', timeout = 10000) {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    if (signal === 'SIGTERM' || signal === 'SIGINT') proc.kill('SIGCONT');
    const t = setTimeout(() => proc.kill('SIGKILL'), timeout);
    await exited;
    clearTimeout(t);
  }

  /** Kill and start again on the same ports. */
  async restart(signal = 'SIGKILL') {
    await this.stop(signal);
    await this._spawn();
  }

  /** Stop and remove the temp folder. */
  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// useCaddy starts a Caddy with caddyfile before the suite and stops it,
// with every client the suite made, after it. connect(path, options) makes
// a RoomsClient (with the suite's defaults) and a Recorder of its events.
// Call it inside describe(); caddy() is the running Caddy, and track(rc)
// closes a client made by hand after the suite.
export function useCaddy(caddyfile, defaults, { before, after, RoomsClient, Recorder }) {
  let caddy;
  const clients = [];
  before(async () => {
    caddy = await new Caddy(caddyfile).start();
  });
  after(async () => {
    for (const rc of clients) rc.close();
    await caddy?.dispose();
  });
  return {
    caddy: () => caddy,
    track(rc) {
      clients.push(rc);
      return rc;
    },
    connect(path, options = {}) {
      const rc = new RoomsClient(`${caddy.wsBase}${path}`, { ...defaults, ...options });
      clients.push(rc);
      return { rc, rec: new Recorder(rc) };
    },
  };
}
