import { ConformanceFailure, conformanceCaseIds, lockConformanceCases } from '@cf/lock-conformance';
import { describe, expect, it } from 'vitest';
import { type Flaws, flawedLocks } from './locks.js';

// Fast timing: every failure below is a deadline or a check, and a correct lock meets both easily
// (the flawless run at the same scale at the end proves it).
const timing = { scale: 0.25 };

const expectations: ReadonlyArray<{
  readonly flaw: keyof Flaws;
  readonly fails: Readonly<Record<string, RegExp>>;
  /** A timing-sensitive flaw runs slower, so that a loaded machine cannot hide it. */
  readonly scale?: number;
}> = [
  { flaw: 'checkThenAwait', fails: { 'mutual-exclusion': /held the lock at the same time/ } },
  {
    flaw: 'neverWaits',
    fails: { 'acquire-waits': /settled within .* but had to wait/, 'mutual-exclusion': /at the same time/ },
  },
  { flaw: 'releaseNotIdempotent', fails: { 'release-idempotent': /released the current holder/ } },
  {
    flaw: 'tryAcquireWaits',
    fails: { 'try-acquire': /tryAcquire\(\) while another handle holds the lock .* did not settle/ },
  },
  { flaw: 'tryAcquireIgnoresHolder', fails: { 'try-acquire': /took a lock that another handle holds/ } },
  {
    flaw: 'ignoresTimeout',
    fails: { timeout: /acquire\(\{ timeout: [\d.]+ \}\) while the lock is held did not settle/ },
  },
  { flaw: 'timeoutTooEarly', fails: { timeout: /before its timeout/ }, scale: 3 },
  { flaw: 'timeoutZeroWaits', fails: { 'timeout-zero': /acquire\(\{ timeout: 0 \}\) while held did not settle/ } },
  {
    flaw: 'timedOutStaysQueued',
    fails: {
      timeout: /acquire\(\) after a timeout .* did not settle/,
      'timeout-race': /after a timeout raced a release/,
    },
  },
  {
    flaw: 'ignoresAbort',
    fails: { abort: /after the signal aborted did not settle/, 'pre-aborted': /resolved .* but had to reject/ },
  },
  {
    flaw: 'abortedStaysQueued',
    fails: { abort: /the aborted waiter was not removed/, 'bulk-abort': /still held after every waiter aborted/ },
  },
  {
    flaw: 'wrongAbortReason',
    fails: { abort: /not with signal.reason/, 'bulk-abort': /did not reject with signal.reason/ },
  },
  { flaw: 'ignoresPreAborted', fails: { 'pre-aborted': /on a free lock resolved .* but had to reject/ } },
  { flaw: 'abortAfterGrantReleases', fails: { 'abort-after-grant': /ended the lease|released the lock/ } },
  { flaw: 'leaksListeners', fails: { 'signal-listeners': /abort listeners are left/ } },
  { flaw: 'signalNeverAborts', fails: { 'lease-signal': /did not abort when the lease was released/ } },
  { flaw: 'noAsyncDispose', fails: { 'await-using': /still held after the await using scope ended/ } },
  { flaw: 'perHandleTokens', fails: { 'fencing-tokens': /fencing token \d+ came after \d+/ } },
  {
    flaw: 'sharedAcrossResources',
    fails: { 'resources-independent': /holding one resource made tryAcquire\(\) on another resource fail/ },
  },
  { flaw: 'lifo', fails: { 'order-fifo': /not in arrival order/, 'order-priority': /expected critical/ } },
  { flaw: 'ignoresPriority', fails: { 'order-priority': /served low, normal/ } },
  { flaw: 'dropsWaiters', fails: { handoff: /serving 10 queued waiters .* did not settle/ } },
  { flaw: 'noValidation', fails: { 'invalid-options': /acquire\(null\) on a free lock resolved/ } },
];

async function failureOf(run: () => Promise<void>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the conformance suite catches broken locks', () => {
  for (const { flaw, fails, scale } of expectations) {
    it(`${flaw}: fails ${Object.keys(fails).join(', ')}`, async () => {
      const cases = lockConformanceCases({
        createLock: flawedLocks({ [flaw]: true }),
        timing: scale === undefined ? timing : { scale },
      });
      for (const [id, pattern] of Object.entries(fails)) {
        const check = cases.find((c) => c.id === id);
        expect(check, `no case ${id}`).toBeDefined();
        const error = await failureOf(() => check!.run());
        expect(error, `${id} passed against a lock with the flaw ${flaw}`).toBeInstanceOf(ConformanceFailure);
        expect((error as ConformanceFailure).caseId).toBe(id);
        expect((error as Error).message).toMatch(pattern);
      }
    });
  }

  it('every case of the suite fails against at least one broken lock', () => {
    const caught = new Set(expectations.flatMap((e) => Object.keys(e.fails)));
    expect(conformanceCaseIds.filter((id) => !caught.has(id))).toEqual([]);
    expect([...caught].filter((id) => !conformanceCaseIds.includes(id))).toEqual([]);
  });

  it('the same lock without flaws passes every case at the same scale', async () => {
    for (const check of lockConformanceCases({ createLock: flawedLocks({}), timing })) {
      const error = await failureOf(() => check.run());
      expect(error, `${check.id} failed against the flawless lock`).toBeUndefined();
    }
  }, 30_000);
});
