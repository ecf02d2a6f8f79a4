import type { LogEntry, LogLevel, LogMetadata } from '@temporalio/worker';
import { DefaultLogger } from '@temporalio/worker';

/** Attribute names under which the SDK and its core put activity task tokens. */
const TOKEN_KEY = /^task_?token$/i;
/** A token written into a message text, e.g. core's `task_token: TaskToken(…)`. */
const TOKEN_IN_TEXT =
  /(task_?token["']?\s*[:=]\s*)("[^"]*"|TaskToken\([^)]*\)|\[[^\]]*\]|[^\s,)}]+)/gi;

/**
 * Removes activity task tokens from a log line. A task token lets whoever holds it complete,
 * fail or heartbeat the activity (`AsyncCompletionClient`), so it is a credential; the SDK puts
 * it on every activity log line (`activityLogAttributes`: "Activity failed" at WARN).
 */
export function withoutTaskTokens(
  message: string,
  meta: LogMetadata | undefined,
): [string, LogMetadata | undefined] {
  const text = message.replace(TOKEN_IN_TEXT, '$1[redacted]');
  if (meta === undefined) return [text, meta];
  const clean: LogMetadata = { ...meta };
  for (const key of Object.keys(clean)) if (TOKEN_KEY.test(key)) delete clean[key];
  return [text, clean];
}

/**
 * The worker runtime's logger: the SDK's default format, at `level`, with task tokens removed
 * from every line (SDK and core lines alike: core's are forwarded through this logger).
 */
export class WorkerLogger extends DefaultLogger {
  constructor(level: LogLevel = 'WARN', write?: (entry: LogEntry) => void) {
    super(level, write);
  }

  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const [text, clean] = withoutTaskTokens(message, meta);
    super.log(level, text, clean);
  }
}
