import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLock } from '../src/index.js';
import { fencedWrite } from './fixtures/fenced-store.js';
import { Fixture } from './helpers.js';

const fx = new Fixture();
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const children = new Set<ChildProcess>();
let dir = '';

beforeAll(async () => {
  await fx.start(1);
  dir = mkdtempSync(join(tmpdir(), 'cf-redis-mp-'));
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await fx.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  readonly process: ChildProcess;
  /** Resolves with the next JSON line the child prints. */
  next(): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

function start(args: object): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', worker, JSON.stringify({ port: fx.server().port, ...args })],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    process: child,
    exited,
    next: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error('child ended without a message');
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

describe('several processes', () => {
  it('append to a shared log without overlap and with strictly increasing tokens', async () => {
    const log = join(dir, 'log.txt');
    const workers = Array.from({ length: 3 }, () => start({ mode: 'append', name: 'shared-log', iterations: 15, log }));
    for (const w of workers) expect(await w.next()).toEqual({ done: true });
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(lines).toHaveLength(3 * 15 * 2);
    let previous = 0n;
    for (let i = 0; i < lines.length; i += 2) {
      const [token, pid, begin] = lines[i]!;
      const [endToken, endPid, end] = lines[i + 1]!;
      // Each begin is immediately followed by the same holder's end: no overlap.
      expect([begin, end, endToken, endPid]).toEqual(['begin', 'end', token, pid]);
      expect(BigInt(token!)).toBeGreaterThan(previous);
      previous = BigInt(token!);
    }
    expect(new Set(lines.map((l) => l[1])).size).toBe(3);
  }, 60_000);

  it('kill -9 of a holder: the next holder gets the lock after ttl with a larger token', async () => {
    const holder = start({ mode: 'hold', name: 'killed', ttl: 1000 });
    const { held } = (await holder.next()) as { held: string };
    holder.process.kill('SIGKILL');
    await holder.exited;
    const lock = new RedisLock(fx.client(), 'killed', { pollInterval: 60_000 });
    const started = performance.now();
    const lease = await lock.acquire({ timeout: 10_000 });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(lease.token).toBeGreaterThan(BigInt(held));
    await lease.release();
  }, 30_000);

  it('SIGSTOP past ttl: the paused holder learns of the loss and its fenced write is rejected', async () => {
    const holder = start({ mode: 'hold', name: 'paused', ttl: 1000 });
    const { held } = (await holder.next()) as { held: string };
    holder.process.kill('SIGSTOP');
    const client = fx.client();
    const lease = await new RedisLock(client, 'paused').acquire({ timeout: 10_000 });
    expect(lease.token).toBeGreaterThan(BigInt(held));
    expect(await fencedWrite(client, 'store:paused', lease.token, 'new holder')).toBe(true);
    holder.process.kill('SIGCONT');
    holder.process.stdin!.write('report\n');
    const report = await holder.next();
    expect(report).toEqual({ aborted: true, code: 'ERR_CF_LEASE_LOST', accepted: false });
    expect(await client.lrange('store:paused:log', 0, -1)).toEqual(['new holder']);
    // The stale holder's release did not delete the new holder's key.
    expect(await client.get(new RedisLock(client, 'paused').keys.lock)).not.toBeNull();
    await lease.release();
    expect(lease.lostBeforeRelease).toBe(false);
    expect(await holder.exited).toBe(0);
  }, 30_000);
});
