// @cf/distributed-redis at work: two worker processes share one RedisLock to increment a counter
// with a read-modify-write; no update is lost and the fencing tokens in their log strictly
// increase. Then a third process takes the lock and is killed with SIGKILL while holding it: the
// next holder gets it when the dead holder's ttl runs out, with a larger token. Every claim
// printed is checked; a broken invariant throws. Needs redis-server; without it the demo says
// how to get it and returns.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisLock } from '@cf/distributed-redis';
import {
  REDIS_INSTALL_HINT,
  type RedisServerGroup,
  redisServerAvailable,
  startRedisServers,
} from '@cf/test-servers/redis';
import { Redis } from 'ioredis';

const ITERATIONS = 8;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`redis demo: ${message}`);
}

interface Worker {
  readonly process: ChildProcess;
  readonly events: Array<{ event: string; token?: string }>;
  readonly exited: Promise<number | null>;
}

function startWorker(port: number, name: string, mode: 'work' | 'hold'): Worker {
  const script = fileURLToPath(new URL('./redis-worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), name, String(ITERATIONS), mode], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Worker['events'] = [];
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as { event: string });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { process: child, events, exited };
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    check(Date.now() < deadline, `${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs the demo; resolves after printing, throws when an invariant fails. */
export async function runRedisDemo(): Promise<void> {
  if (!redisServerAvailable()) {
    console.log('redis-server is not installed here; this section needs it.');
    console.log(`  ${REDIS_INSTALL_HINT}`);
    return;
  }
  let group: RedisServerGroup | undefined;
  const workers: Worker[] = [];
  let redis: Redis | undefined;
  try {
    group = await startRedisServers(1);
    const { port } = group.servers[0]!;
    redis = new Redis(port, '127.0.0.1');
    console.log(`started redis-server on 127.0.0.1:${port}; two processes share RedisLock "demo-counter"`);

    workers.push(startWorker(port, 'worker-a', 'work'), startWorker(port, 'worker-b', 'work'));
    await until(() => workers.every((w) => w.events.some((e) => e.event === 'ready')), 20_000, 'both workers starting');
    await Promise.all(['worker-a', 'worker-b'].map((name) => redis!.rpush(`demo:go:${name}`, 'go')));
    const codes = await Promise.all(workers.map((w) => w.exited));
    check(
      codes.every((code) => code === 0),
      `a worker failed (exit codes ${codes.join(', ')})`,
    );
    const counter = Number(await redis.get('demo:counter'));
    console.log(`counter after ${2 * ITERATIONS} locked read-modify-writes from 2 processes: ${counter}`);
    check(counter === 2 * ITERATIONS, `lost updates: expected ${2 * ITERATIONS}, got ${counter}`);
    const log = (await redis.lrange('demo:log', 0, -1)).map((line) => line.split(' '));
    const tokens = log.map(([token]) => BigInt(token!));
    check(
      tokens.every((t, i) => i === 0 || t > tokens[i - 1]!),
      'fencing tokens did not strictly increase',
    );
    const switches = log.filter((entry, i) => i > 0 && entry[1] !== log[i - 1]![1]).length;
    console.log(
      `fencing tokens ${tokens[0]}..${tokens.at(-1)} strictly increase; the lock passed between the processes ${switches} times`,
    );
    check(switches > 0, 'the two processes never took turns');

    const doomed = startWorker(port, 'worker-c', 'hold');
    workers.push(doomed);
    await until(() => doomed.events.some((e) => e.event === 'holding'), 10_000, 'worker-c taking the lock');
    const deadToken = BigInt(doomed.events.find((e) => e.event === 'holding')!.token!);
    doomed.process.kill('SIGKILL');
    await doomed.exited;
    console.log(`worker-c holds with token ${deadToken} and is killed with SIGKILL`);
    const started = performance.now();
    const lease = await new RedisLock(redis, 'demo-counter', { ttl: 1000 }).acquire({ timeout: 5000 });
    const waited = Math.round(performance.now() - started);
    console.log(`this process gets the lock ${waited} ms later (ttl 1000 ms) with token ${lease.token}`);
    check(lease.token > deadToken, 'the next holder after a crash got a smaller token');
    check(waited < 2000, `taking over from a dead holder took ${waited} ms`);
    await lease.release();
  } finally {
    for (const worker of workers) worker.process.kill('SIGKILL');
    redis?.disconnect();
    await group?.stop();
  }
}
