export type { CreatedLock } from './internal/external-entry.js';
export type {
  LockManagerAcquireOptions,
  LockManagerOptions,
  LockManagerStats,
  LockMode,
  LockStats,
} from './internal/manager-options.js';
export type { LockAcquireOptions, LockOptions } from './internal/options.js';
export type { ReadWritePolicy, WriteLease } from './internal/read-write-state.js';
export { getDefaultLockManager, LockManager } from './lock-manager.js';
export { Mutex } from './mutex.js';
export type { ReadWriteLockOptions, ReadWriteLockSide } from './read-write-lock.js';
export { ReadWriteLock } from './read-write-lock.js';
export { ReentrantMutex } from './reentrant-mutex.js';

// Shared memory
export type { SharedLockAcquireOptions, SharedLockHandleBase } from './shared/options.js';
export type { SharedMutexHandle, SharedMutexOptions } from './shared/shared-mutex.js';
export { SharedMutex, SharedMutexLease } from './shared/shared-mutex.js';
export type {
  SharedLockMode,
  SharedReadWriteLockHandle,
  SharedReadWriteLockOptions,
} from './shared/shared-read-write-lock.js';
export { SharedReadWriteLease, SharedReadWriteLock, SharedReadWriteLockSide } from './shared/shared-read-write-lock.js';
