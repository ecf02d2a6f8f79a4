import { parseInfraConfig } from '../src/config/env';
import { ensureInfra, infraStatus, stopInfra } from './stack';
import { runMain } from '../src/cli/run-main';

/** `npm run infra:up | infra:down | infra:status`. */
async function main(command: string | undefined): Promise<number> {
  const config = parseInfraConfig();
  const say = (line: string): void => void process.stdout.write(`infra: ${line}\n`);
  switch (command) {
    case 'up': {
      for (const s of await ensureInfra(config, say)) {
        say(`${s.component.padEnd(8)} ${s.state.padEnd(8)} ${s.address}  ${s.version}`);
      }
      if (config.temporal.uiUrl) say(`Temporal UI: ${config.temporal.uiUrl}`);
      say('stop with: npm run infra:down');
      return 0;
    }
    case 'down': {
      const stopped = await stopInfra(config);
      say(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing of ours was running');
      return 0;
    }
    case 'status': {
      const lines = await infraStatus(config);
      for (const s of lines) {
        const pid = s.pid === undefined ? '' : ` pid ${s.pid}`;
        const log = s.log === undefined ? '' : ` log ${s.log}`;
        say(`${s.component.padEnd(8)} ${s.state} at ${s.address}${pid}  ${s.version}${log}`);
      }
      if (config.temporal.uiUrl) say(`Temporal UI: ${config.temporal.uiUrl}`);
      return lines.every((s) => s.state.startsWith('up') || s.state === 'external, reachable')
        ? 0
        : 3;
    }
    default:
      process.stderr.write('usage: tsx infra/main.ts up|down|status\n');
      return 2;
  }
}

runMain('infra', () => main(process.argv[2]));
