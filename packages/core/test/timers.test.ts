import { startTimer, stopTimer } from '@cf/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
});

describe('startTimer / stopTimer', () => {
  it('calls back once with the argument, no closure needed', () => {
    vi.useFakeTimers();
    const calls: unknown[] = [];
    const argument = { id: 1 };
    startTimer((a) => calls.push(a), 100, argument);
    vi.advanceTimersByTime(99);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([argument]);
    vi.advanceTimersByTime(1000);
    expect(calls).toHaveLength(1);
  });

  it('stopTimer cancels, and is harmless on a timer that already fired', () => {
    vi.useFakeTimers();
    const callback = vi.fn();
    const timer = startTimer(callback, 10, undefined);
    stopTimer(timer);
    vi.advanceTimersByTime(100);
    expect(callback).not.toHaveBeenCalled();
    const fired = startTimer(callback, 1, undefined);
    vi.advanceTimersByTime(1);
    expect(() => stopTimer(fired)).not.toThrow();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the process alive by default and not when unref is asked for (real Node timers)', () => {
    const kept = startTimer(() => {}, 60_000, undefined) as unknown as NodeJS.Timeout;
    const unrefed = startTimer(() => {}, 60_000, undefined, true) as unknown as NodeJS.Timeout;
    try {
      expect(kept.hasRef()).toBe(true);
      expect(unrefed.hasRef()).toBe(false);
    } finally {
      stopTimer(kept as never);
      stopTimer(unrefed as never);
    }
  });
});
