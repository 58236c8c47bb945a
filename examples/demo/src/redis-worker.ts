// One worker process of the Redis demo: takes a shared RedisLock a few times and, while holding
// it, increments a counter with a read-modify-write and appends its fencing token to a log.
// Reports JSON lines on stdout. Started by redis.ts:
//   node --import tsx redis-worker.ts <port> <name> <iterations> [hold]
// With `hold`, it takes the lock once, reports, and waits to be killed.
import { RedisLock } from '@cf/distributed-redis';
import { Redis } from 'ioredis';

const [port = '6379', name = 'worker', iterations = '5', mode = 'work'] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
const lock = new RedisLock(redis, 'demo-counter', { ttl: 1000 });
const report = (event: string, extra: object = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, name, ...extra })}\n`);
};

if (mode === 'hold') {
  const lease = await lock.acquire({ timeout: 10_000 });
  report('holding', { token: String(lease.token) });
  setInterval(() => {}, 1 << 30);
} else {
  // Start together with the other worker: wait for the parent's signal.
  report('ready');
  await redis
    .duplicate()
    .blpop(`demo:go:${name}`, 10)
    .then((reply) => reply ?? process.exit(1));
  for (let i = 0; i < Number(iterations); i++) {
    const lease = await lock.acquire({ timeout: 10_000 });
    // A read-modify-write that loses updates unless the lock really excludes the other process.
    const value = Number((await redis.get('demo:counter')) ?? '0');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await redis.set('demo:counter', String(value + 1));
    await redis.rpush('demo:log', `${lease.token} ${name}`);
    await lease.release();
    // Some work outside the lock, so the other process gets its turns.
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  report('done');
  process.exit(0);
}
