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
