export type { AcquireOptions, Election, Lease, Lock, PriorityLevel, ReadWriteLock, Semaphore } from './contracts.js';
export { Priority } from './contracts.js';
export type { ErrorCode, QuorumOutcome } from './errors.js';
export {
  BackendError,
  BrokenBarrierError,
  ClosedError,
  ConcurrencyError,
  DeadlockError,
  isBackendError,
  isBrokenBarrierError,
  isClosedError,
  isConcurrencyError,
  isDeadlockError,
  isInvalidArgumentError,
  isLeaseLostError,
  isNotHeldError,
  isQuorumError,
  isTimeoutError,
  LeaseLostError,
  NotHeldError,
  QuorumError,
  TimeoutError,
} from './errors.js';
export type { LeaseTrace } from './lease.js';
export { BaseLease } from './lease.js';
export type { LockEvent, LockEventType, LockObserver } from './observer.js';
export { addObserver, emit, observing, resolveOwner, setOwnerResolver } from './observer.js';
export type { TimerHandle } from './timers.js';
export { startTimer, stopTimer } from './timers.js';
export type { InvalidArgumentError } from './validation.js';
export {
  checkAcquireOptions,
  checkDuration,
  checkFunction,
  checkInteger,
  checkName,
  checkOptionsObject,
  checkSignal,
  checkTimeout,
  describeValue,
  invalidArgument,
  MAX_PRIORITY,
  MAX_TIMEOUT,
} from './validation.js';
export type { WaitQueueOptions } from './wait-queue.js';
export { Waiter, WaitQueue } from './wait-queue.js';
export { semaphoreAsLock, withLock, withPermits } from './with-lock.js';
