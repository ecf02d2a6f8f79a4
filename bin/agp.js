#!/usr/bin/env node
// Entry point of the `agp` command: runs the TypeScript CLI through tsx, so there is no build step.
require('tsx/cjs');
require('../src/cli/main.ts');
