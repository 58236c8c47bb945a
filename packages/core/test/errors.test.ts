import {
  BackendError,
  BrokenBarrierError,
  ClosedError,
  ConcurrencyError,
  DeadlockError,
  type ErrorCode,
  invalidArgument,
  isBackendError,
  isBrokenBarrierError,
  isClosedError,
  isConcurrencyError,
  isDeadlockError,
  isInvalidArgumentError,
  isLeaseLostError,
  isNotHeldError,
  isQuorumError,
  isTimeoutError,
  LeaseLostError,
  NotHeldError,
  QuorumError,
  TimeoutError,
} from '@cf/core';
import { describe, expect, it } from 'vitest';

const cause = new Error('underlying');

interface Case {
  readonly name: string;
  readonly code: ErrorCode;
  readonly make: (options?: ErrorOptions) => ConcurrencyError;
  readonly guard: (error: unknown) => boolean;
  readonly fields: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'TimeoutError',
    code: 'ERR_CF_TIMEOUT',
    make: (o) => new TimeoutError('waited too long', 250, o),
    guard: isTimeoutError,
    fields: { timeout: 250 },
  },
  {
    name: 'DeadlockError',
    code: 'ERR_CF_DEADLOCK',
    make: (o) => new DeadlockError('cycle', ['a', 'r1', 'b', 'r2'], o),
    guard: isDeadlockError,
    fields: { cycle: ['a', 'r1', 'b', 'r2'] },
  },
  {
    name: 'LeaseLostError',
    code: 'ERR_CF_LEASE_LOST',
    make: (o) => new LeaseLostError('expired', 'orders', o),
    guard: isLeaseLostError,
    fields: { resource: 'orders' },
  },
  {
    name: 'NotHeldError',
    code: 'ERR_CF_NOT_HELD',
    make: (o) => new NotHeldError('not held', 'orders', o),
    guard: isNotHeldError,
    fields: { resource: 'orders' },
  },
  {
    name: 'QuorumError',
    code: 'ERR_CF_QUORUM',
    make: (o) =>
      new QuorumError(
        '2 of 3 needed',
        2,
        [
          { member: 'a', ok: true },
          { member: 'b', ok: false, error: cause },
        ],
        o,
      ),
    guard: isQuorumError,
    fields: {
      quorum: 2,
      outcomes: [
        { member: 'a', ok: true },
        { member: 'b', ok: false, error: cause },
      ],
    },
  },
  {
    name: 'BackendError',
    code: 'ERR_CF_BACKEND',
    make: (o) => new BackendError('redis down', o),
    guard: isBackendError,
    fields: {},
  },
  {
    name: 'BrokenBarrierError',
    code: 'ERR_CF_BROKEN',
    make: (o) => new BrokenBarrierError('party left', o),
    guard: isBrokenBarrierError,
    fields: {},
  },
  {
    name: 'ClosedError',
    code: 'ERR_CF_CLOSED',
    make: (o) => new ClosedError('closed', o),
    guard: isClosedError,
    fields: {},
  },
];

describe('error classes', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('has its literal name, its code, its fields and an optional cause', () => {
        const error = c.make({ cause });
        expect(error.name).toBe(c.name);
        expect(error.code).toBe(c.code);
        expect(error.cause).toBe(cause);
        expect(error).toMatchObject(c.fields);
        expect(String(error)).toMatch(new RegExp(`^${c.name}: `));
        expect(error.stack?.split('\n')[0]).toMatch(new RegExp(`^${c.name}: `));
        const plain = c.make();
        expect('cause' in plain).toBe(false);
      });

      it('is an Error and a ConcurrencyError', () => {
        const error = c.make();
        expect(error).toBeInstanceOf(Error);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect(isConcurrencyError(error)).toBe(true);
        expect(isInvalidArgumentError(error)).toBe(false);
      });

      it('is recognised by its own guard only', () => {
        const error = c.make();
        for (const other of cases) expect(other.guard(error)).toBe(other === c);
      });

      it('is recognised by code alone, as from a duplicated copy of the package', () => {
        const foreign = Object.assign(new Error('copy'), { code: c.code });
        expect(c.guard(foreign)).toBe(true);
        expect(isConcurrencyError(foreign)).toBe(true);
      });
    });
  }

  it('ConcurrencyError carries any code and cause', () => {
    const error = new ConcurrencyError('base', 'ERR_CF_CLOSED', { cause });
    expect(error.name).toBe('ConcurrencyError');
    expect(error.code).toBe('ERR_CF_CLOSED');
    expect(error.cause).toBe(cause);
  });

  it('guards reject everything else', () => {
    const others: unknown[] = [
      undefined,
      null,
      0,
      'ERR_CF_TIMEOUT',
      Symbol('x'),
      new Error('plain'),
      new TypeError('x'),
      { code: 'ERR_SOMETHING' },
      { code: 42 },
      { code: 'ERR_CFX' },
    ];
    for (const value of others) {
      expect(isConcurrencyError(value)).toBe(false);
      expect(isInvalidArgumentError(value)).toBe(false);
      for (const c of cases) expect(c.guard(value)).toBe(false);
    }
  });

  it('isConcurrencyError accepts any ERR_CF_ code (a newer copy may add codes), the specific guards only their own', () => {
    const newer = Object.assign(new Error('x'), { code: 'ERR_CF_TIMEOUTX' });
    expect(isConcurrencyError(newer)).toBe(true);
    for (const c of cases) expect(c.guard(newer)).toBe(false);
  });

  it('isInvalidArgumentError recognises argument errors, which are not ConcurrencyErrors', () => {
    const typeError = invalidArgument('type', 'options.timeout', 'soon', 'a number');
    const rangeError = invalidArgument('range', 'permits', -1, 'an integer from 1 to 10');
    for (const error of [typeError, rangeError]) {
      expect(isInvalidArgumentError(error)).toBe(true);
      expect(isConcurrencyError(error)).toBe(false);
      expect(error.code).toBe('ERR_CF_INVALID_ARG');
      for (const c of cases) expect(c.guard(error)).toBe(false);
    }
    expect(typeError).toBeInstanceOf(TypeError);
    expect(rangeError).toBeInstanceOf(RangeError);
  });
});
