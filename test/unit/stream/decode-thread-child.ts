/**
 * Run as a child process by decode-thread.test.ts: starts the decode thread the way the product
 * does, decodes one event, closes it, and ends on its own (a thread left running would keep the
 * process alive and time the test out).
 */
import { createDecodePool } from '../../../src/stream/decode-pool';
import { encodeEvent } from '../../../src/stream/event-codec';
import { event, spec } from './fixtures';

async function main(): Promise<void> {
  const pool = createDecodePool({ spec });
  try {
    const chunk = await pool.decode([encodeEvent(event(7))], Date.now());
    console.log(`decoded ${chunk.eventIds[0]} in a worker thread (${chunk.rows.size} row)`);
  } finally {
    await pool.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
