/**
 * Starts real `redis-server` processes on free loopback ports for tests, benchmarks and the demo,
 * and injects faults into them (kill -9, SIGSTOP/SIGCONT, restart on the same port).
 *
 * Only processes started here are ever signalled: a server that happens to run on the machine
 * (for instance a system one on 6379) is never touched, because every port comes from the kernel.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The binary: `$REDIS_SERVER`, else `redis-server` from `PATH`. */
export const REDIS_SERVER_BINARY: string = process.env.REDIS_SERVER ?? 'redis-server';

let available: boolean | undefined;

/**
 * Whether `redis-server` can be run here.
 * @returns `true` when `redis-server --version` succeeds
 */
export function redisServerAvailable(): boolean {
  if (available === undefined) {
    const result = spawnSync(REDIS_SERVER_BINARY, ['--version'], { stdio: 'ignore', timeout: 5000 });
    available = result.status === 0;
  }
  return available;
}

/** How to get a redis-server when it is missing (printed by skips and the demo). */
export const REDIS_INSTALL_HINT =
  'redis-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis`) or set REDIS_SERVER to its path.';

/** Options of {@link startRedisServers}. */
export interface RedisServerOptions {
  /** Milliseconds to wait for PING to answer after a start (default 10000). */
  readonly startTimeout?: number;
  /** Extra `redis-server` arguments, e.g. `['--notify-keyspace-events', 'Kx']`. */
  readonly args?: readonly string[];
}

const live = new Set<RedisServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave servers behind; 'exit' handlers may only do synchronous work.
  process.on('exit', () => {
    for (const server of live) server.killNow();
  });
}

/** One `redis-server` process on 127.0.0.1, started by this module. */
export class RedisServer {
  /** Always `127.0.0.1`. */
  readonly host = '127.0.0.1';
  /** The port; kept across restarts. */
  readonly port: number;
  readonly #options: RedisServerOptions;
  readonly #dir: string;
  #process: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;

  /** @internal use {@link startRedisServers} */
  constructor(port: number, options: RedisServerOptions) {
    this.port = port;
    this.#options = options;
    this.#dir = mkdtempSync(join(tmpdir(), 'cf-redis-'));
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** The process id while running. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Whether the process is running (paused counts as running). */
  get running(): boolean {
    return this.#process !== undefined;
  }

  /** @internal Starts the process and waits for PING. */
  async start(): Promise<void> {
    if (this.#process !== undefined) throw new Error(`redis-server on ${this.port} is already running`);
    const args = [
      '--port',
      String(this.port),
      '--bind',
      this.host,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      '--dir',
      this.#dir,
      '--loglevel',
      'warning',
      '--logfile',
      '',
      ...(this.#options.args ?? []),
    ];
    const child = spawn(REDIS_SERVER_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    this.#process = child;
    this.#paused = false;
    live.add(this);
    installExitHook();
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.#process === child) this.#process = undefined;
        live.delete(this);
        resolve();
      });
    });
    const deadline = Date.now() + (this.#options.startTimeout ?? 10_000);
    while (!(await ping(this.port))) {
      if (this.#process !== child)
        throw new Error(`redis-server on port ${this.port} exited at start: ${stderr.trim()}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server on port ${this.port} did not answer PING in time: ${stderr.trim()}`);
      }
      await delay(20);
    }
  }

  /**
   * Sends `signal` (default SIGKILL, i.e. kill -9) and waits for the process to exit.
   * @param signal - the signal
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#process;
    if (child === undefined) return;
    if (this.#paused) child.kill('SIGCONT');
    child.kill(signal);
    await this.#exited;
  }

  /** @internal synchronous kill for the exit hook */
  killNow(): void {
    this.#process?.kill('SIGKILL');
  }

  /** SIGSTOP: the server stops answering but keeps its sockets and data. */
  pause(): void {
    if (this.#process === undefined) throw new Error(`redis-server on ${this.port} is not running`);
    this.#process.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (this.#process === undefined) return;
    this.#process.kill('SIGCONT');
    this.#paused = false;
  }

  /** Kills (SIGKILL, so all data is lost: nothing is persisted) and starts again on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child !== undefined) {
      if (this.#paused) child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /**
   * Sends one command over a raw connection (no client library) and returns the raw reply text.
   * Meant for checks such as `DBSIZE` or `INFO commandstats` from tests and benchmarks.
   * @param args - the command and its arguments
   * @returns the RESP reply as text
   */
  command(...args: readonly string[]): Promise<string> {
    return rawCommand(this.port, args);
  }
}

/** A set of servers started together. */
export interface RedisServerGroup {
  readonly servers: readonly RedisServer[];
  /** Stops every server of the group. */
  stop(): Promise<void>;
}

/**
 * Starts `count` redis-server processes on free loopback ports (no persistence, no daemon) and
 * waits until each answers PING. A port taken between choosing and binding is retried.
 * @param count - how many servers (default 1)
 * @param options - start timeout, extra arguments
 * @returns the servers and a `stop()` for all of them
 * @throws Error when redis-server is missing or does not start
 * @example
 * ```ts
 * const group = await startRedisServers(5);
 * const clients = group.servers.map((s) => new Redis(s.port, s.host));
 * await group.stop();
 * ```
 */
export async function startRedisServers(count = 1, options: RedisServerOptions = {}): Promise<RedisServerGroup> {
  if (!redisServerAvailable()) throw new Error(REDIS_INSTALL_HINT);
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const started = await Promise.all(Array.from({ length: count }, () => startOne(options)));
    servers.push(...started);
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers, stop };
}

async function startOne(options: RedisServerOptions): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const server = new RedisServer(await freePort(), options);
    try {
      await server.start();
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw lastError;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function rawCommand(port: number, args: readonly string[], timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from 127.0.0.1:${port} within ${timeout} ms`));
    }, timeout);
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (complete(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// Enough RESP parsing for single replies: simple strings, errors, integers and one bulk string.
function complete(reply: string): boolean {
  const end = reply.indexOf('\r\n');
  if (end < 0) return false;
  if (reply[0] !== '$') return true;
  const length = Number(reply.slice(1, end));
  return length < 0 || Buffer.byteLength(reply) >= end + 2 + length + 2;
}

async function ping(port: number): Promise<boolean> {
  try {
    return (await rawCommand(port, ['PING'], 1000)).startsWith('+PONG');
  } catch {
    return false;
  }
}

/**
 * Parses `INFO commandstats` text into calls per command (lower-case names, e.g. `evalsha`).
 * @param info - the reply of `INFO commandstats`
 * @returns calls per command
 */
export function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/**
 * Total commands the server has processed, from `INFO commandstats` (the INFO call itself
 * included once).
 * @param server - the server
 * @returns the sum of all commands' calls
 */
export async function totalCommands(server: RedisServer): Promise<number> {
  let total = 0;
  for (const calls of parseCommandStats(await server.command('INFO', 'commandstats')).values()) total += calls;
  return total;
}
