import type { NamedRegionHandle } from '@cf/atomics';

/** What every shared coordination primitive's handle carries: its region and its resource name. */
export interface SharedPrimitiveHandle extends NamedRegionHandle {}
