import type { QuorumOutcome } from '@cf/core';
import type { RedisClient } from './client.js';
import { type TimerEntry, timerListFor } from './timer-list.js';

/** One member's answer to a quorum round; `pending` when it had not answered when the round ended. */
export type Reply =
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'pending' };

const PENDING: Reply = { kind: 'pending' };

/** Running tally of a round, kept up to date as answers arrive. */
export interface Tally {
  granted: number;
  refused: number;
  failed: number;
  pending: number;
}

/** What a round ended with: each member's reply and the tally. */
interface Round {
  readonly replies: Reply[];
  readonly tally: Tally;
}

// Members that let a round run into its timeout and have not answered since (a server that is
// down, stalled or cut off). Shared by every round on the same client, since a down server is
// down for all of them. A value answer, even one that comes after its round ended, clears it.
const silent = new WeakSet<RedisClient>();

/**
 * Whether `client` let a round run into its timeout and has not answered since. A member that
 * is `pending` in a round's replies but not silent was merely not waited for: it may be alive.
 */
export function isSilent(client: RedisClient): boolean {
  return silent.has(client);
}

/**
 * Sends `call` to every member at once and resolves as soon as `done(tally)` says the outcome is
 * decided, every member waited for answered, or `timeout` ms passed (members that have not
 * answered are then `pending`). The timeout rides on a shared timer list, so a round costs no
 * timer call.
 *
 * Members that stayed silent through an earlier round's timeout are still sent `call` and
 * counted if they answer in time, but not waited for (not in `tally.pending`) while at least
 * `minimum` other members are: with a minority of servers down, a split vote among contenders
 * is otherwise decided only by the timeout, and each such attempt costs every contender a full
 * `timeout`, enough to starve a caller. Below `minimum` every member is waited for, so one slow
 * round cannot turn later rounds into failures without waiting.
 */
export function round(
  clients: readonly RedisClient[],
  call: (client: RedisClient) => Promise<unknown>,
  timeout: number,
  granted: (value: number) => boolean,
  done: (tally: Tally) => boolean,
  minimum: number = clients.length,
): Promise<Round> {
  return new Promise((resolve) => {
    const replies: Reply[] = clients.map(() => PENDING);
    let silentCount = 0;
    for (const client of clients) if (silent.has(client)) silentCount++;
    const skipSilent = silentCount > 0 && clients.length - silentCount >= minimum;
    const waited = clients.map((client) => !(skipSilent && silent.has(client)));
    const tally: Tally = {
      granted: 0,
      refused: 0,
      failed: 0,
      pending: clients.length - (skipSilent ? silentCount : 0),
    };
    const list = timerListFor(timeout);
    const entry: TimerEntry = {
      due: 0,
      previous: undefined,
      next: undefined,
      list: undefined,
      fire: () => {
        replies.forEach((reply, index) => {
          if (reply.kind === 'pending') silent.add(clients[index]!);
        });
        finish();
      },
    };
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      list.remove(entry);
      resolve({ replies: replies.slice(), tally: { ...tally } });
    };
    const answered = (index: number): void => {
      if (waited[index]) tally.pending--;
      if (tally.pending === 0 || done(tally)) finish();
    };
    list.add(entry, performance.now() + timeout);
    clients.forEach((client, index) => {
      call(client).then(
        (value) => {
          silent.delete(client);
          if (finished) return;
          const number = Number(value);
          replies[index] = { kind: 'value', value: number };
          if (granted(number)) tally.granted++;
          else tally.refused++;
          answered(index);
        },
        (error: unknown) => {
          if (finished) return;
          replies[index] = { kind: 'error', error };
          tally.failed++;
          answered(index);
        },
      );
    });
    // Every member left to wait for is silent and skipped: nothing more is expected.
    if (tally.pending === 0) finish();
  });
}

/** A readable name for member `index`: its address when the client knows it. */
export function memberName(client: RedisClient, index: number): string {
  const options = (client as { options?: { host?: string; port?: number } }).options;
  return options?.host !== undefined && options.port !== undefined
    ? `${index}:${options.host}:${options.port}`
    : String(index);
}

/**
 * Outcomes for a `QuorumError`: granted members are `ok`; errors, refusals (described by
 * `refusal`) and silence are not.
 */
export function outcomes(
  clients: readonly RedisClient[],
  replies: readonly Reply[],
  granted: (value: number) => boolean,
  refusal = 'held by another client',
): QuorumOutcome[] {
  return replies.map((reply, index) => {
    const member = memberName(clients[index]!, index);
    if (reply.kind === 'value') {
      return granted(reply.value) ? { member, ok: true } : { member, ok: false, error: refusal };
    }
    if (reply.kind === 'error') return { member, ok: false, error: reply.error };
    return {
      member,
      ok: false,
      error: new Error('no answer within the instance timeout (or since an earlier round timed out)'),
    };
  });
}
