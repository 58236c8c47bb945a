import { expect, it } from 'vitest';
it('await using', async () => {
  const log: string[] = [];
  {
    await using x = { async [Symbol.asyncDispose]() { log.push('disposed'); } };
    log.push('body');
  }
  expect(log).toEqual(['body', 'disposed']);
});
