import type { DataSourceConfigInput } from '../../../schemas/data-source';
import type { ResolvedWindow } from '../../../schemas/training-window';

/** A training window resolved at a nominal time: concrete sources, and what they are. */
export interface ResolvedTrainingData {
  /** The training part: every row of the window but the test slice. */
  train: DataSourceConfigInput;
  /** The newest slice of the window: evaluated on, never trained on. */
  test: DataSourceConfigInput;
  /** Times and offsets or files, for the version's manifest. */
  window: ResolvedWindow;
  /** One line for logs and the workflow's memo. */
  summary: string;
}
