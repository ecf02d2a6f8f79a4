#!/usr/bin/env node
// Entry point of the `agp` command. An installed package (npm pack → npm install) ships the CLI
// built by `npm run build` in dist/ and runs it directly. A checkout of the repository runs the
// TypeScript sources under tsx's loader instead, so a developer never runs a stale build; a
// child process, because tsx's ESM hooks (needed for the CLI's lazy imports) must be installed
// before the entry module loads.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src', 'cli', 'main.ts');
if (existsSync(source)) {
  const { spawn } = require('node:child_process');
  const { pathToFileURL } = require('node:url');
  // tsx found from this package, not from the working directory (agp may run from anywhere).
  const tsx = pathToFileURL(require.resolve('tsx', { paths: [root] })).href;
  const child = spawn(process.execPath, ['--import', tsx, source, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // A service manager stops `agp serve` with SIGTERM to this process: pass it on, so the CLI
  // shuts down instead of being orphaned. Ctrl-C already reaches the child (same process
  // group): this process only waits for it, so the child does not see it twice.
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => undefined);
  child.on('error', (error) => {
    throw error;
  });
  child.on('exit', (code, signal) => {
    process.exitCode =
      code ?? (signal ? 128 + (require('node:os').constants.signals[signal] ?? 0) : 1);
  });
} else {
  require(join(root, 'dist', 'src', 'cli', 'main.js'));
}
