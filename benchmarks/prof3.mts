import { randomUUID } from 'node:crypto';
import { RedisLock } from '@cf/distributed-redis';
import { startRedisServers } from '@cf/test-servers/redis';
import { Redis } from 'ioredis';
const g = await startRedisServers(1);
const s = g.servers[0]!;
const c = new Redis(s.port, s.host);
const del = String(await c.script('LOAD', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"));
const lock = new RedisLock(c, 'x', { ttl: 10000 });
await (await lock.acquire()).release();
const shas = (await c.script('LIST' as never).catch(() => null));
// find our scripts' shas via the module internals
const scripts = await import('/work/main/packages/distributed-redis/dist/internal/scripts.js');
const acq = scripts.lockAcquire.sha, rel = scripts.lockRelease.sha;
async function rawOurs() { for (let i = 0; i < 50; i++) { const t = randomUUID(); await c.evalsha(acq, 2, 'cf:lock:{y}:lock', 'cf:lock:{y}:fence', t, 10000, ''); await c.evalsha(rel, 1, 'cf:lock:{y}:lock', t, 'cf:lock:{y}:released'); } }
async function seqFloor() { for (let i = 0; i < 50; i++) { const t = randomUUID(); await c.set('sf', t, 'PX', 10000, 'NX'); await c.evalsha(del, 1, 'sf', t); } }
async function seqOurs() { for (let i = 0; i < 50; i++) await (await lock.acquire()).release(); }
async function twoEvals() { for (let i = 0; i < 50; i++) { const t = randomUUID(); await c.evalsha(del, 1, 'sf', t); await c.evalsha(del, 1, 'sf', t); } }
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of [['seqFloor', seqFloor], ['rawOurs', rawOurs], ['seqOurs', seqOurs], ['twoEvals', twoEvals]] as const) {
    const times: number[] = [];
    const end = performance.now() + 1500;
    while (performance.now() < end) { const t = performance.now(); await fn(); times.push((performance.now() - t) / 50); }
    times.sort((a, b) => a - b);
    console.log(round, name, 'p50 µs/op', (times[times.length >> 1]! * 1000).toFixed(1), 'n', times.length);
  }
}
c.disconnect(); await g.stop();
