import type { CaseContext } from '../context.js';
import type { ResolvedOptions } from '../options.js';

/** One contract check, before it is bound to a package's options. */
export interface CaseDefinition {
  /** Stable id, e.g. `mutual-exclusion`. */
  readonly id: string;
  /** The `describe` block it belongs to. */
  readonly group: string;
  /** The `it` title. */
  readonly title: string;
  /** Milliseconds (before scaling) the case may take when the lock is correct, generously. */
  readonly budget: number;
  /** Whether the case applies to a lock with these flags (default: always). */
  readonly when?: (options: ResolvedOptions) => boolean;
  /** The check; throws `ConformanceFailure` when the lock breaks the contract. */
  readonly body: (ctx: CaseContext) => Promise<void>;
}
