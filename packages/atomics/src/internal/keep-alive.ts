// A pending Atomics.waitAsync does not keep a Node event loop alive: a thread whose only pending
// work is such a wait exits in the middle of it. While any async wait of this thread is pending we
// hold one referenced interval timer (timers are global in Node, browsers and workers, so no
// `node:` import is needed); the period is irrelevant because the callback does nothing.

const PERIOD = 1_000_000_000;
let holders = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function noop(): void {}

/** Counts one more pending async wait; starts the referenced timer on the first. */
export function holdEventLoop(): void {
  if (holders++ === 0) timer = setInterval(noop, PERIOD);
}

/** Counts one pending async wait less; stops the timer after the last. */
export function releaseEventLoop(): void {
  if (--holders === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Number of async waits currently keeping this thread alive (for tests). */
export function eventLoopHolders(): number {
  return holders;
}
