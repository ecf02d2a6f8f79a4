import type { ModelVersion } from '../../schemas/manifest';
import { AgpError } from '../errors';

/**
 * A publish lost the compare-and-set on the model's head: the publisher expected `expected` to
 * be the newest version of the served lineage, but it is `actual` (another attempt of the same
 * window published first, or an operator rolled back or handed over). Publishing anyway would
 * fork the chain, so nothing was published. Retriable: the caller re-reads the registry and
 * resumes from what is there (see `resumePoint` in src/registry/lineage.ts).
 */
export class PublishConflictError extends AgpError {
  override readonly name = 'PublishConflictError';
  constructor(
    readonly model: string,
    readonly expected: ModelVersion | null,
    readonly actual: ModelVersion | null,
    what: 'head' | 'latest' = 'head',
  ) {
    super(
      'PublishConflict',
      `${model}: publish refused: expected ${what === 'head' ? 'the head of the served lineage' : 'latest'} to be ` +
        `${expected ?? '(no version)'}, but it is ${actual ?? '(no version)'}; ` +
        'another publisher got there first (a stale attempt, a promotion, a rollback or a ' +
        'hand-over). Nothing was published; resume from the registry.',
      // Retried, the window re-reads the registry and resumes from what is there (or stops
      // with a ConfigError when its lineage was superseded).
      { retriable: true },
    );
  }
}
