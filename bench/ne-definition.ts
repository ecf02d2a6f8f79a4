/**
 * What a bench results file's NE figures are (its top-level `neDefinition`), so every file says
 * which NE it holds: the standard NE divides the log loss by the entropy of the TRAINING rows'
 * base rate (He et al. 2014; README "Metrics"); files written before issue 24 divided by the
 * test set's own rate, which flatters a model where the rate shifts.
 */

/** Offline test NE as `agp train` reports it since issue 24. */
export const STANDARD_NE = 'standard NE: training base rate';

/** How files written before issue 24 are labelled. */
export const TEST_RATE_NE_BEFORE_24 =
  "test-rate NE: log loss / entropy of the test set's base rate (before issue 24)";

/** bench:agp: the report's test NE is standard; figures it scores itself are over their rows' rate. */
export const AGP_BENCH_NE =
  "standard NE: training base rate for test.ne (agp train's report); test-rate NE (log loss / entropy of the evaluated rows' own base rate) for continued.testNe and progressive NE";

/** The lifecycle bench: offline test NE standard; continued, validation and progressive NE over their rows' rate. */
export const LIFECYCLE_BENCH_NE =
  "standard NE: training base rate for offlineTestNe (agp train's report); test-rate NE (log loss / entropy of the evaluated rows' own base rate) for continuedTestNe, the validation checkpoints' NE and progressive NE";

/** bench:gate scores versions against each other on the same held-out events. */
export const GATE_BENCH_NE =
  "test-rate NE: log loss / entropy of the held-out events' own base rate (versions are compared on the same events, where the denominator is common to all and cancels in the ratios)";
