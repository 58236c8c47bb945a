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

/** Why a round stopped waiting: `done` said so, every member answered, or the timeout. */
interface Round {
  readonly replies: Reply[];
  readonly tally: Tally;
}

/**
 * Sends `call` to every member at once and resolves as soon as `done(tally)` says the outcome is
 * decided, every member answered, or `timeout` ms passed (members that have not answered are
 * then `pending`). The timeout rides on a shared timer list, so a round costs no timer call.
 */
export function round(
  clients: readonly RedisClient[],
  call: (client: RedisClient) => Promise<unknown>,
  timeout: number,
  granted: (value: number) => boolean,
  done: (tally: Tally) => boolean,
): Promise<Round> {
  return new Promise((resolve) => {
    const replies: Reply[] = clients.map(() => PENDING);
    const tally: Tally = { granted: 0, refused: 0, failed: 0, pending: clients.length };
    const list = timerListFor(timeout);
    const entry: TimerEntry = {
      due: 0,
      previous: undefined,
      next: undefined,
      list: undefined,
      fire: () => finish(),
    };
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      list.remove(entry);
      resolve({ replies: replies.slice(), tally: { ...tally } });
    };
    list.add(entry, performance.now() + timeout);
    clients.forEach((client, index) => {
      call(client).then(
        (value) => {
          if (finished) return;
          const number = Number(value);
          replies[index] = { kind: 'value', value: number };
          tally.pending--;
          if (granted(number)) tally.granted++;
          else tally.refused++;
          if (tally.pending === 0 || done(tally)) finish();
        },
        (error: unknown) => {
          if (finished) return;
          replies[index] = { kind: 'error', error };
          tally.pending--;
          tally.failed++;
          if (tally.pending === 0 || done(tally)) finish();
        },
      );
    });
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
    return { member, ok: false, error: new Error('no answer within the instance timeout') };
  });
}
