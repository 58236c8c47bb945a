import { createHash } from 'node:crypto';
import type { RedisClient } from './client.js';

/**
 * A Lua script run with EVALSHA. When the server answers NOSCRIPT (first use on that server,
 * after SCRIPT FLUSH, a restart or a failover) it is sent once with EVAL, which also caches it,
 * so later calls go back to EVALSHA.
 */
export class Script {
  /** SHA1 of the source, as Redis names it. */
  readonly sha: string;
  /** The Lua source. */
  readonly source: string;
  readonly #keys: number;

  constructor(source: string, keys: number) {
    this.source = source;
    this.#keys = keys;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script. `args` holds the KEYS first, then ARGV; user-supplied names only ever
   * travel here, as data.
   */
  run(client: RedisClient, args: readonly (string | number)[]): Promise<unknown> {
    return client.evalsha(this.sha, this.#keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, this.#keys, ...args);
    });
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
