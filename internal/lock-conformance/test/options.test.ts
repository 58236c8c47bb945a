import { isInvalidArgumentError } from '@cf/core';
import { conformanceCaseIds, describeLockConformance, lockConformanceCases } from '@cf/lock-conformance';
import { describe, expect, it } from 'vitest';
import { referenceLocks } from './locks.js';

const createLock = referenceLocks();

describe('lockConformanceCases options', () => {
  it('includes every case by default, in a stable order with unique ids', () => {
    const ids = lockConformanceCases({ createLock }).map((c) => c.id);
    expect(ids).toEqual(conformanceCaseIds);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('leaves out the ordering cases a lock does not promise', () => {
    const ids = (fifo: boolean, priorities: boolean) =>
      lockConformanceCases({ createLock, fifo, priorities }).map((c) => c.id);
    expect(ids(false, true)).not.toContain('order-fifo');
    expect(ids(false, true)).toContain('order-priority');
    expect(ids(true, false)).not.toContain('order-priority');
    expect(ids(false, false).length).toBe(conformanceCaseIds.length - 2);
  });

  it('scales each case timeout with timing.scale', () => {
    const plain = lockConformanceCases({ createLock });
    const slow = lockConformanceCases({ createLock, timing: { scale: 20 } });
    plain.forEach((c, i) => {
      expect(slow[i]!.timeout - 5000).toBe((c.timeout - 5000) * 20);
    });
  });

  it('rejects invalid options with typed errors naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /^Invalid options:/],
      [{}, /^Invalid options\.createLock:/],
      [{ createLock: 'lock' }, /^Invalid options\.createLock:/],
      [{ createLock, timing: 5 }, /^Invalid options\.timing:/],
      [{ createLock, timing: { scale: 0 } }, /^Invalid options\.timing\.scale: received 0;/],
      [{ createLock, timing: { scale: Number.NaN } }, /^Invalid options\.timing\.scale: received NaN;/],
      [{ createLock, timing: { scale: '2' } }, /^Invalid options\.timing\.scale:/],
      [{ createLock, fifo: 'yes' }, /^Invalid options\.fifo:/],
      [{ createLock, priorities: 1 }, /^Invalid options\.priorities:/],
      [{ createLock, setup: 'start' }, /^Invalid options\.setup:/],
    ];
    for (const [options, message] of bad) {
      for (const fn of [
        () => lockConformanceCases(options as never),
        () => describeLockConformance('x', options as never),
      ]) {
        let caught: unknown;
        try {
          fn();
        } catch (error) {
          caught = error;
        }
        expect(isInvalidArgumentError(caught), String(message)).toBe(true);
        expect((caught as Error).message).toMatch(message);
      }
    }
  });
});
