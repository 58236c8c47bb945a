export type { RedisClient } from './internal/client.js';
export type { CommonOptions } from './internal/options.js';
export type { RedisLockKeys, RedisLockOptions } from './redis-lock.js';
export { RedisLock } from './redis-lock.js';
export { RedisLease } from './redis-lease.js';
