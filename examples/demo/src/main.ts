// The @cf demo: each section shows one package at work and checks what it prints; a broken
// invariant throws and the demo exits non-zero.
import { runCoreDemo } from './core.ts';

interface Section {
  readonly title: string;
  readonly run: () => Promise<void>;
}

const sections: Section[] = [{ title: '@cf/core: the wait queue, priorities, timeouts, aborts', run: runCoreDemo }];

for (const section of sections) {
  console.log(`\n=== ${section.title}`);
  await section.run();
}
console.log('\nAll demo sections passed their checks.');
