import { RedisLock } from '@cf/distributed-redis';
let n = 0;
const fake = { evalsha: (_sha: string, _n: number, ...args: unknown[]) => Promise.resolve(args.length === 5 ? ++n : 1), eval: () => Promise.resolve(1), duplicate: () => fake, on: () => fake, once: () => fake } as never;
const lock = new RedisLock(fake, 'x', { ttl: 10000 });
async function ours() { for (let i = 0; i < 1000; i++) await (await lock.acquire()).release(); }
async function raw() { for (let i = 0; i < 1000; i++) { await (fake as any).evalsha('a', 2, 1, 2, 3, 4, 5); await (fake as any).evalsha('b', 1, 1, 2, 3); } }
for (let r = 0; r < 5; r++) for (const [name, fn] of [['ours', ours], ['raw', raw]] as const) {
  const t = performance.now(); for (let k = 0; k < 50; k++) await fn(); console.log(name, ((performance.now() - t) / 50000 * 1000).toFixed(2), 'µs/op');
}
