import { getEventListeners } from 'node:events';
import { addObserver, type LockEvent } from '@cf/core';
import { expect } from 'vitest';

/** Lets every queued microtask (and the ones they queue) run. */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** Settlement state of a promise, observed without waiting for it. */
export async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  const pending = Symbol('pending');
  try {
    const value = await Promise.race([promise, Promise.resolve(pending)]);
    return value === pending ? 'pending' : 'fulfilled';
  } catch {
    return 'rejected';
  }
}

/** What `promise` rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Abort listeners registered on `signal`. */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Asserts that `fn` throws an invalid-argument error of `kind` whose message names `name`. */
export function expectInvalid(fn: () => unknown, kind: 'type' | 'range', name: string): void {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expectInvalidError(error, kind, name);
}

/** Asserts that `promise` rejects with an invalid-argument error (and does not throw synchronously). */
export async function expectInvalidAsync(
  fn: () => Promise<unknown>,
  kind: 'type' | 'range',
  name: string,
): Promise<void> {
  let promise: Promise<unknown>;
  try {
    promise = fn();
  } catch (error) {
    throw new Error(`expected a rejected promise, got a synchronous throw: ${String(error)}`);
  }
  expectInvalidError(await rejectionOf(promise), kind, name);
}

function expectInvalidError(error: unknown, kind: 'type' | 'range', name: string): void {
  expect(error).toBeInstanceOf(kind === 'type' ? TypeError : RangeError);
  expect((error as { code?: unknown }).code).toBe('ERR_CF_INVALID_ARG');
  expect((error as Error).message).toContain(name);
}

/** Records observer events until `stop()`. */
export function recordEvents(): { events: LockEvent[]; stop: () => void } {
  const events: LockEvent[] = [];
  const stop = addObserver((event) => events.push(event));
  return { events, stop };
}

/** Values that are not valid anywhere a number, string, signal or object is expected. */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  Number.NaN,
  -1,
  1.5,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  '10',
  null,
  {},
  [],
  10n,
  Symbol('x'),
];
