import { type RedisServer, type RedisServerGroup, startRedisServers } from '@cf/test-servers/redis';
import { Redis, type RedisOptions } from 'ioredis';

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

/** Resolves after `ms`; used only to let real time pass (ttl expiry), never to order events. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
