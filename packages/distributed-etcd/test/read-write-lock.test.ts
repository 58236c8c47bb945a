import { isTimeoutError, type Lease } from '@cf/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtcdReadWriteLock, Session } from '../src/index.js';
import { eventually, freshName, sleep, useEtcd } from './helpers.js';

const env = useEtcd();

const keys = async (client: ReturnType<typeof env.client>, name: string): Promise<string[]> =>
  client.getAll().prefix(`${name}/`).keys();

describe('EtcdReadWriteLock', () => {
  it('lays out read/<lease hex>-<n> and write/<lease hex>-<n> under <name>/', async () => {
    const client = env.client();
    const session = await Session.create(client, { ttl: 5000 });
    const name = freshName('rw');
    const rw = new EtcdReadWriteLock(client, name, { session });
    const r1 = await rw.read.acquire();
    const r2 = await rw.read.acquire();
    expect(r1.key).toMatch(new RegExp(`^${name}/read/${session.leaseHex}-[0-9a-f]+$`));
    expect(r2.key).not.toBe(r1.key);
    await r1.release();
    await r2.release();
    const w = await rw.write.acquire();
    expect(w.key).toMatch(new RegExp(`^${name}/write/${session.leaseHex}-[0-9a-f]+$`));
    await w.release();
    expect(await keys(client, name)).toEqual([]);
    await session.close();
  });

  it('readers of different processes share; a writer waits for them; readers after a waiting writer wait for it', async () => {
    const [a, b, c, d] = [env.client(), env.client(), env.client(), env.client()];
    const name = freshName('rw');
    const r1 = await new EtcdReadWriteLock(a, name).read.acquire();
    const r2 = await new EtcdReadWriteLock(b, name).read.acquire();
    let writer: Lease | undefined;
    const writing = new EtcdReadWriteLock(c, name).write.acquire().then((l) => (writer = l));
    await eventually(async () => (await keys(a, name)).length === 3, 5000, 'writer queued');
    let late: Lease | undefined;
    const reading = new EtcdReadWriteLock(d, name).read.acquire().then((l) => (late = l));
    await eventually(async () => (await keys(a, name)).length === 4, 5000, 'late reader queued');
    await sleep(100);
    expect(writer).toBeUndefined();
    expect(late).toBeUndefined();
    await r1.release();
    await sleep(100);
    expect(writer).toBeUndefined();
    await r2.release();
    await writing;
    await sleep(100);
    expect(late).toBeUndefined();
    await writer!.release();
    await reading;
    expect(late!.token > writer!.token).toBe(true);
    await late!.release();
  });

  it('every reader queued behind a writer gets in when it releases; a blocked reader times out or aborts cleanly', async () => {
    const clients = [env.client(), env.client(), env.client(), env.client()];
    const name = freshName('rw');
    const w = await new EtcdReadWriteLock(clients[0]!, name).write.acquire();
    const readers = clients.slice(1).map((c) => new EtcdReadWriteLock(c, name).read.acquire());
    const timed = await new EtcdReadWriteLock(env.client(), name).read
      .acquire({ timeout: 200 })
      .catch((e: unknown) => e);
    expect(isTimeoutError(timed)).toBe(true);
    const controller = new AbortController();
    const aborted = new EtcdReadWriteLock(env.client(), name).read.acquire({ signal: controller.signal });
    await eventually(async () => (await keys(clients[0]!, name)).length === 5, 5000, 'readers queued');
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    await w.release();
    const held = await Promise.all(readers);
    expect(held.every((l) => !l.released)).toBe(true);
    for (const lease of held) await lease.release();
    await eventually(async () => (await keys(clients[0]!, name)).length === 0, 5000, 'all keys deleted');
  });

  it('property: random readers and writers of three processes never overlap a writer with anyone', async () => {
    const clients = [env.client(), env.client(), env.client()];
    const op = fc.record({
      client: fc.integer({ min: 0, max: 2 }),
      write: fc.boolean(),
      hold: fc.integer({ min: 0, max: 10 }),
      delay: fc.integer({ min: 0, max: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 8 }), async (ops) => {
        const name = freshName('rwprop');
        let readers = 0;
        let writers = 0;
        let violations = 0;
        await Promise.all(
          ops.map(async (o) => {
            await sleep(o.delay);
            const rw = new EtcdReadWriteLock(clients[o.client]!, name);
            const lease = await (o.write ? rw.write : rw.read).acquire({ timeout: 10_000 });
            if (o.write) writers++;
            else readers++;
            if (writers > 1 || (writers === 1 && readers > 0)) violations++;
            await sleep(o.hold);
            if (o.write) writers--;
            else readers--;
            await lease.release();
          }),
        );
        expect(violations).toBe(0);
      }),
      { numRuns: 8 },
    );
  });
});
