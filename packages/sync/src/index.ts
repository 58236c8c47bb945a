export { AutoResetEvent } from './auto-reset-event.js';
export { Condition } from './condition.js';
export { CountDownLatch } from './count-down-latch.js';
export type { BarrierAction } from './cyclic-barrier.js';
export { CyclicBarrier } from './cyclic-barrier.js';
export type { PrimitiveOptions, WaitOptions } from './internal/options.js';
export { MAX_COUNT } from './internal/options.js';
export { ManualResetEvent } from './manual-reset-event.js';
export type { PhaserAdvanceHook, PhaserOptions } from './phaser.js';
export { Phaser } from './phaser.js';
export type { SemaphoreAcquireOptions, SemaphoreLease, SemaphoreOptions } from './semaphore.js';
export { Semaphore } from './semaphore.js';

// Shared memory
export type { SharedPrimitiveHandle } from './shared/options.js';
export type { SharedBarrierHandle, SharedBarrierOptions } from './shared/shared-barrier.js';
export { SharedBarrier } from './shared/shared-barrier.js';
export type { SharedConditionHandle, SharedConditionLock, SharedConditionOptions } from './shared/shared-condition.js';
export { SharedCondition } from './shared/shared-condition.js';
export type { SharedCountDownLatchHandle, SharedCountDownLatchOptions } from './shared/shared-count-down-latch.js';
export { SharedCountDownLatch } from './shared/shared-count-down-latch.js';
export type { SharedResetEventHandle, SharedResetEventOptions } from './shared/shared-reset-events.js';
export { SharedAutoResetEvent, SharedManualResetEvent } from './shared/shared-reset-events.js';
export type { SharedSemaphoreHandle, SharedSemaphoreOptions } from './shared/shared-semaphore.js';
export { SharedSemaphore, SharedSemaphoreLease } from './shared/shared-semaphore.js';
