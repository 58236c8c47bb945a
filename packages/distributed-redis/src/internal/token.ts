import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 16;
const POOL_TOKENS = 256;
const pool = Buffer.allocUnsafe(TOKEN_BYTES * POOL_TOKENS);
let hex = '';
let next = POOL_TOKENS;

/** Length in characters of every token: 128 bits as lower-case hex. */
export const TOKEN_LENGTH: number = TOKEN_BYTES * 2;

/**
 * A 128-bit random token as 32 hex characters, from the operating system's CSPRNG. Tokens only
 * have to be unique (they are not secrets); filling and encoding 256 at a time keeps this off the
 * acquire path's profile.
 */
export function randomToken(): string {
  if (next === POOL_TOKENS) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    next = 0;
  }
  const start = next++ * TOKEN_LENGTH;
  return hex.slice(start, start + TOKEN_LENGTH);
}
