/**
 * Preloaded by every test process (`node --import tsx --import ./test/quiet-tfjs.ts --test`):
 * drops the one console.warn that tfjs' cpu backend prints at its first tensor in Node ("install
 * our node backend"), once per test file. The tests use the cpu backend on purpose, and the
 * project provisions TensorFlow its own way (`npm run setup:tensorflow`). Every other warning
 * still shows: only a message containing that sentence is filtered.
 */
const BANNER = 'To speed things up dramatically, install our node backend';
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (args.some((a) => typeof a === 'string' && a.includes(BANNER))) return;
  warn(...args);
};
