import { Worker } from 'node:worker_threads';
import { SharedMutex } from '@cf/locks';
const N = 2_000_000, T = Number(process.argv[2] ?? 2);
const src = `const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(({ SharedMutex }) => {
  const m = SharedMutex.from(workerData.h); const f = new Int32Array(workerData.f); const c = new Int32Array(workerData.c);
  const lock = () => { let x = Atomics.compareExchange(f, 0, 0, 1); if (x !== 0) { if (x !== 2) x = Atomics.exchange(f, 0, 2); while (x !== 0) { Atomics.wait(f, 0, 2); x = Atomics.exchange(f, 0, 2); } } };
  const unlock = () => { if (Atomics.sub(f, 0, 1) !== 1) { Atomics.store(f, 0, 0); Atomics.notify(f, 0, 1); } };
  Atomics.add(c, 1, 1); while (Atomics.load(c, 2) === 0);
  const t = performance.now();
  if (workerData.mode === 'hand') for (let i = 0; i < ${N}; i++) { lock(); c[0]++; unlock(); }
  else for (let i = 0; i < ${N}; i++) { m.lockSync(); c[0]++; m.unlock(); }
  parentPort.postMessage(performance.now() - t); });`;
for (const mode of ['hand', 'ours', 'hand', 'ours', 'hand', 'ours']) {
  const m = new SharedMutex(); const f = new SharedArrayBuffer(64); const c = new SharedArrayBuffer(64); const ci = new Int32Array(c);
  const ws = Array.from({ length: T }, () => new Worker(src, { eval: true, workerData: { url: import.meta.resolve('@cf/locks'), h: m.handle, f, c, mode } }));
  while (Atomics.load(ci, 1) < T) await new Promise((r) => setTimeout(r, 1));
  const t = performance.now(); Atomics.store(ci, 2, 1);
  await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
  const dt = performance.now() - t;
  console.log(mode, (T * N / dt / 1e3).toFixed(1), 'M/s', ci[0] === T * N);
  await Promise.all(ws.map((w) => w.terminate()));
}
