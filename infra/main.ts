import fs from 'node:fs';
import path from 'node:path';
import { parseInfraConfig } from '../src/config/env';
import { secureClientEnv } from '../src/config/secure-material';
import { ensureS3, stopS3 } from './s3';
import { ensureInfra, infraStatus, stopInfra } from './stack';
import { runMain } from '../src/cli/run-main';

/**
 * `npm run infra:up | infra:down | infra:status [-- --secure]`. `--secure` (or AGP_SECURE=true)
 * manages the secure-mode servers: mTLS Temporal and SASL_SSL Kafka, in `<AGP_DATA_DIR>/secure`
 * on their own ports, next to (not instead of) the default ones. `--s3` also starts (or stops)
 * the embedded S3 server for `AGP_REGISTRY=s3://...` (port AGP_S3_PORT, default 9000).
 */
async function main(command: string | undefined, flags: string[]): Promise<number> {
  const unknown = flags.filter((f) => f !== '--secure' && f !== '--s3');
  const s3 = flags.includes('--s3');
  if (unknown.length) {
    process.stderr.write(`infra: unknown option(s) ${unknown.join(' ')}; only --secure, --s3\n`);
    return 2;
  }
  const config = parseInfraConfig(
    flags.includes('--secure') ? { ...process.env, AGP_SECURE: 'true' } : process.env,
  );
  const say = (line: string): void => void process.stdout.write(`infra: ${line}\n`);
  switch (command) {
    case 'up': {
      for (const s of await ensureInfra(config, say)) {
        say(`${s.component.padEnd(8)} ${s.state.padEnd(8)} ${s.address}  ${s.version}`);
      }
      if (config.temporal.uiUrl) say(`Temporal UI: ${config.temporal.uiUrl}`);
      if (s3) {
        const port = Number.parseInt(process.env['AGP_S3_PORT'] ?? '9000', 10);
        const server = await ensureS3(config.dataDir, { port, log: say });
        // The credentials go to a 0600 file, never to the terminal.
        const envFile = path.join(config.dataDir, 's3', 'client.env');
        const lines = Object.entries(server.env).map(([k, v]) => `${k}=${v}`);
        fs.writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
        say(
          `s3       ${server.state.padEnd(8)} ${server.endpoint}  moto (bucket ${server.bucket})`,
        );
        say(`registry on S3: set the variables in ${envFile} (set -a; . ${envFile}; set +a)`);
      }
      if (config.secure) {
        // Paths only: the password stays in its 0600 file, named by KAFKA_SASL_PASSWORD_FILE.
        const envFile = path.join(config.dataDir, 'client.env');
        const lines = Object.entries(secureClientEnv(config)).map(([k, v]) => `${k}=${v}`);
        fs.writeFileSync(envFile, `${lines.join('\n')}\n`);
        say(`clients: AGP_SECURE=true (same AGP_DATA_DIR), or the variables in ${envFile}:`);
        for (const line of lines) say(`  ${line}`);
      }
      const extra = [config.secure ? '--secure' : '', s3 ? '--s3' : ''].filter(Boolean).join(' ');
      say(`stop with: npm run infra:down${extra ? ` -- ${extra}` : ''}`);
      return 0;
    }
    case 'down': {
      const stopped: string[] = await stopInfra(config);
      if (s3 && (await stopS3(config.dataDir))) stopped.push('s3');
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
      process.stderr.write('usage: tsx infra/main.ts up|down|status [--secure]\n');
      return 2;
  }
}

runMain('infra', () => main(process.argv[2], process.argv.slice(3)));
