import type { QuorumOutcome } from '@cf/core';
import type { RedisClient } from './client.js';

/** One member's answer to a quorum round; `pending` when it had not answered when the round ended. */
export type Reply =
  | { readonly kind: 'value'; readonly value: number }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'pending' };

const PENDING: Reply = { kind: 'pending' };

/**
 * Sends `call` to every member at once and resolves as soon as `done(replies)` says the outcome
 * is decided, or after `timeout` ms (members that have not answered are then `pending`). One
 * timer per round, not per member.
 */
export function round(
  clients: readonly RedisClient[],
  call: (client: RedisClient) => Promise<unknown>,
  timeout: number,
  done: (replies: readonly Reply[], answered: number) => boolean,
): Promise<Reply[]> {
  return new Promise((resolve) => {
    const replies: Reply[] = clients.map(() => PENDING);
    let answered = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve(replies.slice());
    };
    const timer = setTimeout(finish, timeout);
    clients.forEach((client, index) => {
      call(client).then(
        (value) => {
          if (finished) return;
          replies[index] = { kind: 'value', value: Number(value) };
          answered++;
          if (answered === clients.length || done(replies, answered)) finish();
        },
        (error: unknown) => {
          if (finished) return;
          replies[index] = { kind: 'error', error };
          answered++;
          if (answered === clients.length || done(replies, answered)) finish();
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

/** Outcomes for a `QuorumError`: granted members are `ok`; errors, refusals and silence are not. */
export function outcomes(
  clients: readonly RedisClient[],
  replies: readonly Reply[],
  granted: (value: number) => boolean,
): QuorumOutcome[] {
  return replies.map((reply, index) => {
    const member = memberName(clients[index]!, index);
    if (reply.kind === 'value') {
      return granted(reply.value) ? { member, ok: true } : { member, ok: false, error: 'held by another client' };
    }
    if (reply.kind === 'error') return { member, ok: false, error: reply.error };
    return { member, ok: false, error: new Error('no answer within the instance timeout') };
  });
}
