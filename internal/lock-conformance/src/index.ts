export { ConformanceFailure } from './context.js';
export type { LockConformanceOptions } from './options.js';
export type { ConformanceCase } from './suite.js';
export { conformanceCaseIds, describeLockConformance, lockConformanceCases } from './suite.js';
