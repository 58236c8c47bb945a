import { invalidArgument } from '@cf/core';
import type { Cluster, Redis } from 'ioredis';

/** What the Redis primitives accept: an ioredis `Redis` or `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Checks that `value` looks like an ioredis client (the package never imports ioredis itself). */
export function checkClient(value: unknown, argument: string): RedisClient {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as RedisClient).evalsha !== 'function' ||
    typeof (value as RedisClient).duplicate !== 'function' ||
    typeof (value as RedisClient).on !== 'function'
  ) {
    throw invalidArgument('type', argument, value, 'an ioredis Redis or Cluster client');
  }
  return value as RedisClient;
}

/** `true` for the integer reply 1 (scripts answer 1 for done, 0 for not ours). */
export function isOne(reply: unknown): boolean {
  return reply === 1;
}
