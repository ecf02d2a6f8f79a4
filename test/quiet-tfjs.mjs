/**
 * Preloaded by every test process (`node --import tsx --import ./test/quiet-tfjs.mjs --test`):
 * drops the one console.warn that tfjs' cpu backend prints at its first tensor in Node ("install
 * our node backend"), once per test file. The tests use the cpu backend on purpose, and the
 * project provisions TensorFlow its own way (`npm run setup:tensorflow`). Every other warning
 * still shows: only a message containing that sentence is filtered.
 *
 * Plain JavaScript, not TypeScript: Temporal's workflow worker threads inherit the process's
 * `--import` flags but not tsx's loader, and a `.ts` preload fails to load there.
 */
const BANNER = 'To speed things up dramatically, install our node backend';
const warn = console.warn.bind(console);
console.warn = (...args) => {
  if (args.some((a) => typeof a === 'string' && a.includes(BANNER))) return;
  warn(...args);
};
