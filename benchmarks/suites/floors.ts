/**
 * The floors: the cheapest operations an async primitive can be compared with. An uncontended
 * acquire+release that returns a promise cannot beat an awaited resolved promise; a synchronous
 * fast path cannot beat a boolean check-and-set. Other suites put these same tasks in their
 * groups (`floorTasks`) so their ratios are measured in their own process run.
 */
import { defineSuite, floorTasks } from '../harness.ts';

export default defineSuite({
  name: 'floors',
  title: 'Floors',
  description:
    'The cheapest operations the other suites compare against: one awaited already-resolved promise, ' +
    'one awaited call of an empty async function, one synchronous boolean check-and-set.',
  tasks: floorTasks('floors', 1000),
});
