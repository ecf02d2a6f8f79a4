/**
 * The one columnar batch type that every reader (Criteo TSV, Parquet, Arrow IPC, synthetic,
 * MovieLens, Kafka events) yields and that the trainer consumes. Row-major typed arrays so a
 * batch goes to tensors without copying per row.
 */
export interface ColumnarBatch {
  /** Number of rows, B. */
  readonly size: number;
  /** Dense features after their transforms (log1p, clipping, missing → 0): [B, numDense] row-major. */
  readonly dense: Float32Array;
  /** Categorical features already hashed into each table's bucket range: [B, numSparse] row-major. */
  readonly sparse: Int32Array;
  /** Click labels, 0 or 1: [B]. */
  readonly labels: Float32Array;
  /** Width of a dense row. */
  readonly numDense: number;
  /** Width of a sparse row (number of embedding tables). */
  readonly numSparse: number;
}
