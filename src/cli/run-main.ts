import { AgpError } from '../errors';

/**
 * What a command prints for an error that reached its top: our own errors carry messages
 * written for people (what was wrong and where), anything else gets its stack for a bug report.
 */
export function topLevelMessage(error: unknown): string {
  if (error instanceof AgpError) return error.message;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

/**
 * Runs a command's `main` and turns its result into the process exit code; a thrown error is
 * printed as `<label>: <message>` (see {@link topLevelMessage}, or `describe` when given).
 * With `exit`, the process exits at once (for commands that leave clients with open handles).
 */
export function runMain(
  label: string,
  main: () => Promise<number>,
  opts: { exit?: boolean; describe?: (error: unknown) => string } = {},
): void {
  const finish = (code: number): void => {
    if (opts.exit) process.exit(code);
    process.exitCode = code;
  };
  main().then(finish, (error: unknown) => {
    process.stderr.write(`${label}: ${(opts.describe ?? topLevelMessage)(error)}\n`);
    finish(1);
  });
}
