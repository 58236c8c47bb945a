import { randomUUID } from 'node:crypto';
import { RedisLock } from '@cf/distributed-redis';
import { startRedisServers } from '@cf/test-servers/redis';
import { Redis } from 'ioredis';
const g = await startRedisServers(1);
const s = g.servers[0]!;
const c = new Redis(s.port, s.host);
const sha = String(await c.script('LOAD', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"));
const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
const locks = keys.map((k) => new RedisLock(c, k, { ttl: 10000 }));
async function floor() { await Promise.all(keys.map(async (k) => { const t = randomUUID(); await c.set(k + 'f', t, 'PX', 10000, 'NX'); await c.evalsha(sha, 1, k + 'f', t); })); }
async function ours() { await Promise.all(locks.map(async (l) => (await l.acquire()).release())); }
async function seqFloor() { for (let i = 0; i < 50; i++) { const t = randomUUID(); await c.set('sf', t, 'PX', 10000, 'NX'); await c.evalsha(sha, 1, 'sf', t); } }
async function seqOurs() { for (let i = 0; i < 50; i++) await (await locks[0]!.acquire()).release(); }
const mode = process.argv[2] ?? 'both';
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of [['floor', floor], ['ours', ours], ['seqFloor', seqFloor], ['seqOurs', seqOurs]] as const) {
    if (mode !== 'both' && !name.toLowerCase().includes(mode)) continue;
    const times: number[] = [];
    const end = performance.now() + 1500;
    while (performance.now() < end) { const t = performance.now(); await fn(); times.push((performance.now() - t) / 50); }
    times.sort((a, b) => a - b);
    console.log(round, name, 'p50 µs/op', (times[times.length >> 1]! * 1000).toFixed(1), 'n', times.length);
  }
}
c.disconnect();
await g.stop();
