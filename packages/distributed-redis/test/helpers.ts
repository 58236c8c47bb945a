import { type RedisServer, type RedisServerGroup, startRedisServers } from '@cf/test-servers/redis';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { lockAcquire } from '../src/internal/scripts.js';

/** Servers and clients of one test file, torn down together. */
export class Fixture {
  group: RedisServerGroup | undefined;
  readonly #clients: Redis[] = [];

  /** Starts `count` servers (call from beforeAll). */
  async start(count = 1): Promise<this> {
    this.group = await startRedisServers(count);
    return this;
  }

  server(index = 0): RedisServer {
    const server = this.group?.servers[index];
    if (server === undefined) throw new Error(`no server ${index}`);
    return server;
  }

  get servers(): readonly RedisServer[] {
    return this.group?.servers ?? [];
  }

  /** A new client of server `index`, closed by `stop()`. */
  client(index = 0, options: RedisOptions = {}): Redis {
    const server = this.server(index);
    const client = new Redis(server.port, server.host, options as never);
    client.on('error', () => {});
    this.#clients.push(client);
    return client;
  }

  /** Number of keys on server `index`. */
  async dbsize(index = 0): Promise<number> {
    const reply = await this.server(index).command('DBSIZE');
    return Number(reply.slice(1));
  }

  /** Removes every key on every running server. */
  async flush(): Promise<void> {
    await Promise.all(this.servers.filter((s) => s.running).map((s) => s.command('FLUSHALL')));
  }

  /** Closes clients and stops servers (call from afterAll). */
  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect();
    this.#clients.length = 0;
    await this.group?.stop();
  }
}

/**
 * A fixture with `count` servers for the enclosing file or `describe`: started before its tests,
 * stopped after them, and (unless `flush` is false) emptied before each test.
 */
export function useServers(count = 1, { flush = true }: { flush?: boolean } = {}): Fixture {
  const fx = new Fixture();
  beforeAll(async () => {
    await fx.start(count);
  });
  afterAll(async () => {
    await fx.stop();
  });
  if (flush) {
    beforeEach(async () => {
      await fx.flush();
    });
  }
  return fx;
}

/**
 * A proxy of `client` whose script calls (EVALSHA, and the EVAL sent after NOSCRIPT) go through
 * `around`, which decides when to make the real call and what to answer; every other method is
 * the client's own.
 */
export function aroundScripts(
  client: Redis,
  around: (call: () => Promise<unknown>, args: readonly unknown[]) => Promise<unknown>,
): Redis {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'evalsha' && property !== 'eval') return value.bind(target);
      return (...args: unknown[]): Promise<unknown> =>
        around(() => value.apply(target, args) as Promise<unknown>, args);
    },
  });
}

/** Whether a script call's arguments are those of the lock acquire script. */
export function isAcquire(args: readonly unknown[]): boolean {
  return args[0] === lockAcquire.sha || args[0] === lockAcquire.source;
}

/** A client whose script calls are watched; see {@link tapScripts}. */
export interface TappedClient {
  /** Hand this to the primitive under test. */
  readonly client: Redis;
  /**
   * Resolves once the server has answered the lock acquire script `count` times, with the
   * answers so far: a fence when granted, else minus the holder's remaining ttl.
   */
  answers(count: number): Promise<number[]>;
  /** Script calls held back so far (with `stallAfterGrant`). */
  readonly held: number;
  /** Lets the held calls (and later ones) through. */
  resume(): void;
}

/**
 * Wraps `client` to see how its server answers a lock acquisition. With `stallAfterGrant`,
 * every script call after that grant waits until `resume()`: the network to that server stalls
 * right after it granted, as a partition or a paused proxy would make it.
 */
export function tapScripts(
  client: Redis,
  { stallAfterGrant = false }: { stallAfterGrant?: boolean } = {},
): TappedClient {
  let stalled = false;
  let held = 0;
  let resume = (): void => {};
  const resumed = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const replies: number[] = [];
  const waiting: { count: number; resolve: (answers: number[]) => void }[] = [];
  const answer = (reply: number): void => {
    replies.push(reply);
    for (const waiter of waiting.filter((w) => w.count <= replies.length)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(replies.slice());
    }
  };
  const proxy = aroundScripts(client, (call, args) => {
    if (stalled) {
      held++;
      return resumed.then(call);
    }
    return call().then((reply) => {
      if (isAcquire(args) && typeof reply === 'number') {
        if (stallAfterGrant && reply > 0) stalled = true;
        answer(reply);
      }
      return reply;
    });
  });
  return {
    client: proxy,
    answers: (count) =>
      new Promise((resolve) => {
        if (replies.length >= count) resolve(replies.slice());
        else waiting.push({ count, resolve });
      }),
    get held() {
      return held;
    },
    resume: () => {
      stalled = false;
      resume();
    },
  };
}

/** Resolves after `ms`; used only to let real time pass (ttl expiry), never to order events. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
