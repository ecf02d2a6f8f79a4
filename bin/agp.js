#!/usr/bin/env node
// Entry point of the `agp` command: runs the TypeScript CLI under tsx's loader, so there is no
// build step. A child process, because tsx's ESM hooks (needed for the CLI's lazy imports) must
// be installed before the entry module loads.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(__dirname, '..', 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (result.error) throw result.error;
process.exitCode = result.status ?? 1;
