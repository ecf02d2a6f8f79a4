import { runMain } from './run-main';

/**
 * The `agp` command. Each subcommand lives in its own file and is loaded only when used,
 * so `agp registry ls` does not pay for loading TensorFlow.js.
 */
const subcommands: Record<
  string,
  { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }
> = {};

/** Registers a subcommand; called below for every command file. */
function register(
  name: string,
  summary: string,
  load: () => Promise<{ run(argv: string[]): Promise<number> }>,
): void {
  subcommands[name] = { summary, load };
}

register('train', 'train a DLRM offline with AGP (--config <file>)', () => import('./train'));
register(
  'registry',
  'list, show, promote and roll back model versions',
  () => import('./registry'),
);
register(
  'inspect',
  'columns, types, label rate and a feature spec of a data file',
  () => import('./inspect'),
);
register('replay', 'stream a dataset into a Kafka topic as click events', () => import('./replay'));
register(
  'serve',
  "score events over HTTP with the registry's models (TF Serving REST)",
  () => import('./serve'),
);

function usage(): string {
  const lines = Object.entries(subcommands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: agp <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = subcommands[name];
  if (!command) {
    process.stderr.write(`agp: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}

runMain('agp', () => main(process.argv.slice(2)));
