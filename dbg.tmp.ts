import { FliteEngine } from './packages/likeness/src/speech/flite-engine.ts';

const engine = new FliteEngine({ processes: 1, onEvent: (e) => console.log('event', e) });
await engine.speak('Warm up.', 'slt');
console.log('warm ok', engine.pool.pids);
const [pid] = engine.pool.pids;
const pending = engine.speak('Nine '.repeat(200), 'slt');
await new Promise((r) => setTimeout(r, 100));
process.kill(pid!, 'SIGSEGV');
try {
  await pending;
  console.log('resolved?!');
} catch (e) {
  console.log('rejected', (e as Error).message);
}
const after = await engine.speak('Still here.', 'slt');
console.log('after', after.samples.length);
await engine.close();
