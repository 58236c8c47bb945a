import { ClosedError, NotHeldError, TimeoutError } from '@cf/core';
import { Phaser } from '@cf/sync';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, FAKE_TIMERS, flush, step, track } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Phaser', () => {
  it('advances when every registered party has arrived, and numbers the phases', async () => {
    const phaser = new Phaser(3);
    expect(phaser.phase).toBe(0);
    const a = track(phaser.arriveAndAwaitAdvance());
    expect(phaser.arrive()).toBe(0);
    expect(phaser.arrivedParties).toBe(2);
    expect(phaser.unarrivedParties).toBe(1);
    await flush();
    expect(a.settled).toBe(false);
    await expect(phaser.arriveAndAwaitAdvance()).resolves.toBe(1);
    await flush();
    expect(a.value).toBe(1);
    expect(phaser.phase).toBe(1);
    expect(phaser.arrivedParties).toBe(0);
    expect(phaser.registeredParties).toBe(3);
  });

  it('register adds parties to the current phase; arriveAndDeregister removes one', async () => {
    const phaser = new Phaser(1);
    expect(phaser.register(2)).toBe(0);
    expect(phaser.registeredParties).toBe(3);
    phaser.arrive();
    phaser.arriveAndDeregister();
    expect(phaser.phase).toBe(0);
    expect(phaser.arriveAndDeregister()).toBe(0);
    expect(phaser.phase).toBe(1);
    expect(phaser.registeredParties).toBe(1);
    expect(phaser.isTerminated).toBe(false);
  });

  it('terminates by default when the last party deregisters', async () => {
    const phaser = new Phaser(2);
    const waiting = phaser.awaitAdvance(0);
    phaser.arriveAndDeregister();
    phaser.arriveAndDeregister();
    await expect(waiting).resolves.toBe(1);
    expect(phaser.isTerminated).toBe(true);
    expect(() => phaser.register()).toThrow(ClosedError);
    expect(() => phaser.arrive()).toThrow(ClosedError);
    await expect(phaser.arriveAndAwaitAdvance()).rejects.toBeInstanceOf(ClosedError);
    await expect(phaser.awaitAdvance(1)).rejects.toBeInstanceOf(ClosedError);
    await expect(phaser.awaitAdvance(0)).resolves.toBe(1);
  });

  it('onAdvance decides termination and sees the phase and parties', async () => {
    const seen: [number, number][] = [];
    const phaser = new Phaser(2, {
      onAdvance: (phase, parties) => {
        seen.push([phase, parties]);
        return phase >= 2;
      },
    });
    for (let round = 0; round < 3; round++) {
      await Promise.all([phaser.arriveAndAwaitAdvance(), phaser.arriveAndAwaitAdvance()]);
    }
    expect(seen).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);
    expect(phaser.isTerminated).toBe(true);
    expect(phaser.phase).toBe(3);
  });

  it('an onAdvance that throws terminates the phaser and rejects waiters with ClosedError caused by it', async () => {
    const failure = new Error('hook failed');
    const phaser = new Phaser(2, {
      onAdvance: () => {
        throw failure;
      },
    });
    const waiting = phaser.arriveAndAwaitAdvance();
    expect(() => phaser.arrive()).toThrow(ClosedError);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CF_CLOSED', cause: failure });
    expect(phaser.isTerminated).toBe(true);
  });

  it('awaitAdvance returns at once for another phase and waits for the current one', async () => {
    const phaser = new Phaser(1);
    await expect(phaser.awaitAdvance(7)).resolves.toBe(0);
    const waiting = track(phaser.awaitAdvance(0));
    await flush();
    expect(waiting.settled).toBe(false);
    expect(phaser.waitersCount).toBe(1);
    phaser.arrive();
    await flush();
    expect(waiting.value).toBe(1);
  });

  it('a timed-out or aborted wait keeps the arrival and the registration', async () => {
    vi.useFakeTimers(FAKE_TIMERS);
    const phaser = new Phaser(3);
    const timed = phaser.arriveAndAwaitAdvance({ timeout: 10 });
    const controller = new AbortController();
    const aborted = phaser.arriveAndAwaitAdvance({ signal: controller.signal });
    vi.advanceTimersByTime(10);
    controller.abort('stop');
    await expect(timed).rejects.toBeInstanceOf(TimeoutError);
    await expect(aborted).rejects.toBe('stop');
    expect(phaser.arrivedParties).toBe(2);
    expect(phaser.waitersCount).toBe(0);
    phaser.arrive();
    expect(phaser.phase).toBe(1);
    expect(phaser.registeredParties).toBe(3);
  });

  it('a pre-aborted arriveAndAwaitAdvance does not arrive; timeout 0 arrives and rejects unless it completes the phase', async () => {
    const phaser = new Phaser(2);
    await expect(phaser.arriveAndAwaitAdvance({ signal: AbortSignal.abort('x') })).rejects.toBe('x');
    expect(phaser.arrivedParties).toBe(0);
    await expect(phaser.arriveAndAwaitAdvance({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    expect(phaser.arrivedParties).toBe(1);
    await expect(phaser.arriveAndAwaitAdvance({ timeout: 0 })).resolves.toBe(1);
  });

  it('arriving with nobody left to arrive throws NotHeldError and changes nothing', () => {
    const phaser = new Phaser(1);
    expect(() => new Phaser().arrive()).toThrow(NotHeldError);
    phaser.register();
    phaser.arrive();
    phaser.arrive();
    expect(phaser.phase).toBe(1);
    const empty = new Phaser(0, { onAdvance: () => false });
    expect(() => empty.arriveAndDeregister()).toThrow(NotHeldError);
    expect(empty.registeredParties).toBe(0);
  });

  it('forceTermination rejects waiters with ClosedError', async () => {
    const phaser = new Phaser(2);
    const waiting = phaser.arriveAndAwaitAdvance();
    const reason = new Error('shutdown');
    phaser.forceTermination(reason);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_CF_CLOSED', cause: reason });
    phaser.forceTermination();
    expect(phaser.isTerminated).toBe(true);
  });

  it('releases a phase only after every party registered in it arrived, under arbitrary interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        async (scheduler, phasesPerParty) => {
          const phaser = new Phaser(0, { onAdvance: () => false });
          // Per party: the phase it registered in, and the phases it arrived at.
          const registeredAt: (number | undefined)[] = phasesPerParty.map(() => undefined);
          const arrivals = phasesPerParty.map(() => new Set<number>());
          const violations: string[] = [];
          const runs = phasesPerParty.map(async (phases, index) => {
            await step(scheduler, `register ${index}`);
            let phase = phaser.register();
            registeredAt[index] = phase;
            for (let done = 0; done < phases; done++) {
              await step(scheduler, `work ${index}`);
              arrivals[index]!.add(phase);
              if (done === phases - 1) {
                phaser.arriveAndDeregister();
                return;
              }
              const next = await phaser.arriveAndAwaitAdvance();
              if (next !== phase + 1) violations.push(`party ${index} went from ${phase} to ${next}`);
              registeredAt.forEach((from, other) => {
                const last = from === undefined ? -1 : from + phasesPerParty[other]! - 1;
                if (from !== undefined && from <= phase && phase <= last && !arrivals[other]!.has(phase)) {
                  violations.push(`phase ${phase} released before party ${other} arrived`);
                }
              });
              phase = next;
            }
          });
          await drain(scheduler);
          await Promise.all(runs);
          expect(violations).toEqual([]);
          expect(phaser.registeredParties).toBe(0);
          expect(phaser.waitersCount).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
