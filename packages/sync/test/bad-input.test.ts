import {
  AutoResetEvent,
  Condition,
  CountDownLatch,
  CyclicBarrier,
  ManualResetEvent,
  Phaser,
  Semaphore,
} from '@cf/sync';
import { describe, expect, it } from 'vitest';

// Each case: what to call, and the argument name the message must mention.
type Case = readonly [label: string, call: () => unknown, argument: string];

const badCounts: readonly unknown[] = [undefined, null, '3', NaN, -1, 1.5, 2 ** 31, Number.POSITIVE_INFINITY, 3n, {}];
const badWaitOptions: readonly unknown[] = [
  'fast',
  null,
  [],
  { timeout: -1 },
  { timeout: Number.NaN },
  { timeout: '5' },
  { timeout: 2 ** 31 },
  { priority: 1.5 },
  { priority: -1 },
  { priority: 1001 },
  { priority: '1' },
  { signal: {} },
  { signal: 'abort' },
  { signal: { aborted: false } },
];

function expectInvalid(error: unknown, argument: string): void {
  expect(error).toBeInstanceOf(Error);
  expect(error instanceof TypeError || error instanceof RangeError).toBe(true);
  expect((error as { code?: string }).code).toBe('ERR_CF_INVALID_ARG');
  expect((error as Error).message).toContain(argument);
  expect((error as Error).message).toMatch(/expected/);
}

async function check(cases: readonly Case[]): Promise<void> {
  for (const [label, call, argument] of cases) {
    let error: unknown;
    try {
      const result = call();
      if (result instanceof Promise) await result;
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) throw new Error(`${label} did not fail`);
    expectInvalid(error, argument);
  }
}

describe('bad input: typed errors that name the argument, and the primitive stays usable', () => {
  it('Semaphore', async () => {
    const semaphore = new Semaphore(10);
    const cases: Case[] = [
      ...badCounts.map(
        (value): Case => [`new Semaphore(${String(value)})`, () => new Semaphore(value as number), 'permits'],
      ),
      ['options string', () => new Semaphore(1, 'x' as never), 'options'],
      ['options null', () => new Semaphore(1, null as never), 'options'],
      ['name number', () => new Semaphore(1, { name: 5 as never }), 'options.name'],
      ['name empty', () => new Semaphore(1, { name: '' }), 'options.name'],
      ['name huge', () => new Semaphore(1, { name: 'x'.repeat(5000) }), 'options.name'],
      ['maxPermits 0', () => new Semaphore(0, { maxPermits: 0 }), 'options.maxPermits'],
      ['maxPermits fractional', () => new Semaphore(1, { maxPermits: 1.5 }), 'options.maxPermits'],
      ['permits above maxPermits', () => new Semaphore(3, { maxPermits: 2 }), 'permits'],
      ['barging string', () => new Semaphore(1, { barging: 'yes' as never }), 'options.barging'],
      ['defaultHoldTimeout negative', () => new Semaphore(1, { defaultHoldTimeout: -1 }), 'options.defaultHoldTimeout'],
      [
        'defaultHoldTimeout NaN',
        () => new Semaphore(1, { defaultHoldTimeout: Number.NaN }),
        'options.defaultHoldTimeout',
      ],
      ...[0, -1, Number.NaN, 1.5, '1', 11, null, Number.POSITIVE_INFINITY].flatMap((value): Case[] => [
        [`acquire(${String(value)})`, () => semaphore.acquire(value as number), 'permits'],
        [`tryAcquire(${String(value)})`, () => semaphore.tryAcquire(value as number), 'permits'],
        [`tryAcquireSync(${String(value)})`, () => semaphore.tryAcquireSync(value as number), 'permits'],
      ]),
      ...badWaitOptions.map(
        (value): Case => [
          `acquire options ${JSON.stringify(value)}`,
          () => semaphore.acquire(1, value as never),
          'options',
        ],
      ),
      ['holdTimeout 0', () => semaphore.acquire(1, { holdTimeout: 0 }), 'options.holdTimeout'],
      ['holdTimeout negative', () => semaphore.acquire(2, { holdTimeout: -5 }), 'options.holdTimeout'],
      ...[-1, 11, 1.5, Number.NaN, '3', undefined].map(
        (value): Case => [`resize(${String(value)})`, () => semaphore.resize(value as number), 'permits'],
      ),
    ];
    await check(cases);
    expect(semaphore.permits).toBe(10);
    expect(semaphore.waitersCount).toBe(0);
    const lease = await semaphore.acquire(10);
    expect(semaphore.availablePermits).toBe(0);
    await lease.release();
    expect(semaphore.availablePermits).toBe(10);
  });

  it('CountDownLatch', async () => {
    const latch = new CountDownLatch(2);
    await check([
      ...badCounts.map(
        (value): Case => [`new CountDownLatch(${String(value)})`, () => new CountDownLatch(value as number), 'count'],
      ),
      ['name', () => new CountDownLatch(1, { name: Symbol('x') as never }), 'options.name'],
      ...[0, -1, 1.5, Number.NaN, '1', null].map(
        (value): Case => [`countDown(${String(value)})`, () => latch.countDown(value as number), 'n'],
      ),
      ...badWaitOptions.map(
        (value): Case => [`wait ${JSON.stringify(value)}`, () => latch.wait(value as never), 'options'],
      ),
    ]);
    expect(latch.count).toBe(2);
    expect(latch.waitersCount).toBe(0);
    latch.countDown(2);
    await expect(latch.wait()).resolves.toBeUndefined();
  });

  it('CyclicBarrier', async () => {
    const barrier = new CyclicBarrier(2);
    await check([
      ...[...badCounts, 0].map(
        (value): Case => [`new CyclicBarrier(${String(value)})`, () => new CyclicBarrier(value as number), 'parties'],
      ),
      ['action', () => new CyclicBarrier(2, 'run' as never), 'action'],
      ...badWaitOptions.map(
        (value): Case => [`wait ${JSON.stringify(value)}`, () => barrier.wait(value as never), 'options'],
      ),
    ]);
    // A rejected call neither arrived nor broke anything.
    expect(barrier.numberWaiting).toBe(0);
    expect(barrier.isBroken).toBe(false);
    expect((await Promise.all([barrier.wait(), barrier.wait()])).sort()).toEqual([0, 1]);
  });

  it('Phaser', async () => {
    const phaser = new Phaser(1);
    await check([
      ...[null, '3', Number.NaN, -1, 1.5, 2 ** 31].map(
        (value): Case => [`new Phaser(${String(value)})`, () => new Phaser(value as number), 'parties'],
      ),
      ['onAdvance', () => new Phaser(1, { onAdvance: true as never }), 'options.onAdvance'],
      ...[0, -1, 1.5, Number.NaN, '2', 2 ** 31].map(
        (value): Case => [`register(${String(value)})`, () => phaser.register(value as number), 'parties'],
      ),
      ...[-1, 1.5, Number.NaN, '0', undefined].map(
        (value): Case => [`awaitAdvance(${String(value)})`, () => phaser.awaitAdvance(value as number), 'phase'],
      ),
      ...badWaitOptions.map(
        (value): Case => [
          `arriveAndAwaitAdvance ${JSON.stringify(value)}`,
          () => phaser.arriveAndAwaitAdvance(value as never),
          'options',
        ],
      ),
      ...badWaitOptions.map(
        (value): Case => [
          `awaitAdvance options ${JSON.stringify(value)}`,
          () => phaser.awaitAdvance(0, value as never),
          'options',
        ],
      ),
    ]);
    expect(phaser.registeredParties).toBe(1);
    expect(phaser.arrivedParties).toBe(0);
    expect(phaser.waitersCount).toBe(0);
    await expect(phaser.arriveAndAwaitAdvance()).resolves.toBe(1);
  });

  it('Condition', async () => {
    const condition = new Condition();
    await check([
      ['lock string', () => new Condition('mutex' as never), 'lock'],
      ['lock without acquire', () => new Condition({} as never), 'lock'],
      ['lock null', () => new Condition(null as never), 'lock'],
      ['name', () => new Condition(undefined, { name: 42 as never }), 'options.name'],
      ['lease', () => condition.wait(undefined as never), 'lease'],
    ]);
    const lease = await condition.lock.acquire();
    await check(
      badWaitOptions.map(
        (value): Case => [`wait ${JSON.stringify(value)}`, () => condition.wait(lease, value as never), 'options'],
      ),
    );
    expect(lease.released).toBe(false);
    expect(condition.waitersCount).toBe(0);
    await lease.release();
  });

  it('ManualResetEvent and AutoResetEvent', async () => {
    for (const Event of [ManualResetEvent, AutoResetEvent]) {
      const event = new Event();
      await check([
        ...['yes', 1, null].map(
          (value): Case => [`new ${Event.name}(${String(value)})`, () => new Event(value as never), 'initialState'],
        ),
        ['name', () => new Event(false, { name: '' }), 'options.name'],
        ...badWaitOptions.map(
          (value): Case => [`wait ${JSON.stringify(value)}`, () => event.wait(value as never), 'options'],
        ),
      ]);
      expect(event.waitersCount).toBe(0);
      event.set();
      await expect(event.wait()).resolves.toBeUndefined();
    }
  });
});
