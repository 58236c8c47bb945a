import { randomUUID } from 'node:crypto';
import { startRedisServers } from '@cf/test-servers/redis';
import { Redis } from 'ioredis';
const g = await startRedisServers(1);
const s = g.servers[0]!;
const c = new Redis(s.port, s.host);
const load = async (src: string) => String(await c.script('LOAD', src));
const del = await load("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0");
const delPub = await load("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) redis.call('PUBLISH', ARGV[2], 'r') return 1 end return 0");
const acq = await load("if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end return -redis.call('PTTL', KEYS[1])");
const acqSetOnly = await load("if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return 0");
const variants: Record<string, () => Promise<void>> = {
  floor: async () => { const t = randomUUID(); await c.set('a', t, 'PX', 10000, 'NX'); await c.evalsha(del, 1, 'a', t); },
  lua: async () => { const t = randomUUID(); await c.evalsha(acq, 2, 'b', 'bf', t, 10000); await c.evalsha(delPub, 1, 'b', t, 'ch'); },
  luaNoPub: async () => { const t = randomUUID(); await c.evalsha(acq, 2, 'b', 'bf', t, 10000); await c.evalsha(del, 1, 'b', t); },
  luaSetOnly: async () => { const t = randomUUID(); await c.evalsha(acqSetOnly, 1, 'b', t, 10000); await c.evalsha(del, 1, 'b', t); },
  multi: async () => { const t = randomUUID(); await c.multi().set('m', t, 'PX', 10000, 'NX').incr('mf').exec(); await c.evalsha(delPub, 1, 'm', t, 'ch'); },
};
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const times: number[] = [];
    const end = performance.now() + 1000;
    while (performance.now() < end) { const t = performance.now(); for (let i = 0; i < 20; i++) await fn(); times.push((performance.now() - t) / 20); }
    times.sort((a, b) => a - b);
    console.log(round, name.padEnd(12), (times[times.length >> 1]! * 1000).toFixed(1), 'µs');
  }
}
console.log((await s.command('INFO', 'commandstats')).split('\r\n').filter(l => l.startsWith('cmdstat')).join('\n'));
c.disconnect(); await g.stop();
