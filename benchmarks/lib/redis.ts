/**
 * Measurements of the redis suite that are not per-task timings: how many commands a waiting
 * client sends, and what Redlock's fence raise round costs.
 */
import { RedisLock, Redlock } from '@cf/distributed-redis';
import type { RedisServer } from '@cf/test-servers/redis';
import { Redis } from 'ioredis';
import { Mutex as SemaphoreMutex } from 'redis-semaphore';
import { sleep } from './tasks.ts';

/**
 * Wraps `client` (and the pub/sub connections it duplicates) so every command it sends is counted.
 * @param client - the client
 * @param counter - incremented per command
 * @returns the same client
 */
export function countCommands(client: Redis, counter: { count: number }): Redis {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    counter.count++;
    return send(command, stream as never);
  }) as Redis['sendCommand'];
  const duplicate = client.duplicate.bind(client);
  client.duplicate = ((...args: Parameters<Redis['duplicate']>) =>
    countCommands(duplicate(...args), counter)) as Redis['duplicate'];
  return client;
}

/** Commands per second a waiting client sends, ours and redis-semaphore's. */
export interface WaiterRates {
  readonly ours: number;
  readonly peer: number;
}

/**
 * Commands a waiting client sends per second while the lock is held by someone else (a plain key
 * with a long expiry, so no holder traffic is counted), counted on the client side, after a
 * 1 s start (first attempt, subscription, connection handshake) that is not counted.
 * @param server - a running server
 * @param windowMs - how long to count
 * @returns the rates of `RedisLock` and of redis-semaphore's `Mutex` with its defaults
 */
export async function waiterCommandsPerSecond(server: RedisServer, windowMs: number): Promise<WaiterRates> {
  const holder = new Redis(server.port, server.host);
  const settle = 1000;
  const measure = async (key: string, wait: (client: Redis) => Promise<unknown>): Promise<number> => {
    await holder.set(key, 'held elsewhere', 'PX', 10 * windowMs);
    const counter = { count: 0 };
    const client = countCommands(new Redis(server.port, server.host), counter);
    await client.ping();
    const waiting = wait(client).catch(() => undefined);
    await sleep(settle);
    const before = counter.count;
    await sleep(windowMs);
    const commands = counter.count - before;
    await waiting;
    client.disconnect();
    return commands / (windowMs / 1000);
  };
  try {
    const timeout = settle + windowMs + 500;
    return {
      ours: await measure('cf:lock:{waiting}:lock', (c) => new RedisLock(c, 'waiting').acquire({ timeout })),
      peer: await measure('mutex:waiting', (c) =>
        new SemaphoreMutex(c, 'waiting', { acquireTimeout: timeout }).acquire(),
      ),
    };
  } finally {
    holder.disconnect();
  }
}

/** Median acquire+release times of Redlock, in microseconds. */
export interface RaiseCost {
  /** Counters of the three servers equal: the granting majority agrees, no extra round trip. */
  readonly inStep: number;
  /** Counters all different: the lower member of the majority is raised before the lease is returned. */
  readonly disagreeing: number;
}

/**
 * What Redlock's fence raise round costs: sequential acquire+release on three servers, a new
 * `Redlock` object each time (so no remembered token pulls the counters together), once with the
 * counters kept equal and once with every counter different (two of them are bumped by different
 * amounts before each acquisition, pipelined ahead of it on the same connection; the equal run
 * sends `INCRBY 0` instead, so both runs send the same commands).
 * @param clients - one client per server, three
 * @param rounds - acquisitions per run
 * @returns the median of each run, in microseconds
 */
export async function redlockRaiseCost(clients: readonly Redis[], rounds: number): Promise<RaiseCost> {
  const run = async (name: string, bumps: readonly number[], count: number, times: number[]): Promise<void> => {
    const fence = new Redlock([clients[0]!], name).keys.fence;
    await Promise.all(clients.map((c) => c.set(fence, '1000000')));
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      bumps.forEach((by, index) => void clients[index]!.incrby(fence, by));
      const lease = await new Redlock(clients, name, { ttl: 10_000 }).acquire();
      await lease.release();
      times.push(performance.now() - start);
    }
  };
  const median = (times: number[]): number => {
    times.sort((a, b) => a - b);
    return (times[Math.floor(times.length / 2)] ?? Number.NaN) * 1000;
  };
  // Alternating quarters, so a change in the machine's load hits both runs alike.
  const quarter = Math.max(1, Math.floor(rounds / 4));
  const inStep: number[] = [];
  const disagreeing: number[] = [];
  for (let pass = 0; pass < 4; pass++) {
    await run('raise-in-step', [0, 0], quarter, inStep);
    await run('raise-disagreeing', [1000, 2000], quarter, disagreeing);
  }
  return { inStep: median(inStep), disagreeing: median(disagreeing) };
}
