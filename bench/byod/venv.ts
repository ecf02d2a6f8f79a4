import { ensureVenv } from '../../test/python-venv';

/** What the Python baselines of bench:byod run with (pinned: the newest on the index when written). */
export const BYOD_PACKAGES = ['lightgbm==4.7.0', 'scikit-learn==1.9.1', 'pyarrow==26.0.1'];

/**
 * Creates (once) .cache/byod-venv with LightGBM and scikit-learn and returns its python
 * (test/python-venv.ts builds it).
 */
export function ensureByodVenv(): string {
  return ensureVenv({
    name: 'byod-venv',
    packages: BYOD_PACKAGES,
    check: 'import lightgbm, sklearn, pyarrow; print(lightgbm.__version__, sklearn.__version__)',
    stamp: { file: '.agp-packages', content: BYOD_PACKAGES.join(' ') },
    hint: '(bench:byod needs the Python package index once, for its LightGBM and logistic-regression baselines)',
  });
}
