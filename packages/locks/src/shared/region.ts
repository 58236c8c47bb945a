/**
 * Milliseconds between liveness checks of a robust lock's holder while waiting: the longest a
 * waiter sleeps before noticing that the holder was reported dead.
 */
export const LIVENESS_INTERVAL = 50;
