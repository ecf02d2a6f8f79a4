// npm runs this before `npm test` and `npm start` (the `pretest` and `prestart` scripts). Both run
// on tsx, which is itself a dependency, so on a fresh clone without node_modules they could not
// even start: install the locked dependencies first. With node_modules present it does nothing
// (run `npm ci` yourself after changing package-lock.json).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  process.stderr.write('agp: no node_modules yet; running npm ci\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
