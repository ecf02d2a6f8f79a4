/**
 * The distinct rows of one table's column of a batch, numbered in order of first occurrence:
 * the dedupe step of the row-wise Adagrad update. An open-addressing hash over typed arrays,
 * reused from call to call, where a Map cost ~0.1 µs per lookup and a JS array per table per step.
 */
export interface RowSlots {
  /**
   * Numbers the rows `sparse[first]`, `sparse[first + stride]`, … (`count` of them): after the
   * call `slot[b]` is the slot of the b-th row and `rows[0 … distinct)` the distinct rows.
   * @returns the number of distinct rows.
   */
  assign(sparse: Int32Array, first: number, stride: number, count: number): number;
  /** Slot of each of the last call's rows (valid for its first `count` entries). */
  readonly slot: Int32Array;
  /** The distinct rows of the last call in slot order (valid for the first `distinct`). */
  readonly rows: Int32Array;
}

/** A RowSlots whose buffers grow to the largest batch seen. */
export function createRowSlots(): RowSlots {
  let keys = new Int32Array(0);
  let values = new Int32Array(0);
  let shift = 32;
  const self = {
    slot: new Int32Array(0),
    rows: new Int32Array(0),
    assign(sparse: Int32Array, first: number, stride: number, count: number): number {
      if (self.slot.length < count) {
        self.slot = new Int32Array(count);
        self.rows = new Int32Array(count);
        // At most half full: short probe sequences.
        let bits = 4;
        while (1 << bits < 2 * count) bits++;
        keys = new Int32Array(1 << bits);
        values = new Int32Array(1 << bits);
        shift = 32 - bits;
      }
      // Row indices are ≥ 0 (checked by the caller): −1 marks an empty bucket.
      keys.fill(-1);
      const { slot, rows } = self;
      const mask = keys.length - 1;
      let distinct = 0;
      for (let b = 0, k = first; b < count; b++, k += stride) {
        const row = sparse[k] as number;
        // Fibonacci hashing: the product's top bits.
        let h = Math.imul(row, 0x9e3779b1) >>> shift;
        for (;;) {
          const key = keys[h] as number;
          if (key === row) {
            slot[b] = values[h] as number;
            break;
          }
          if (key === -1) {
            keys[h] = row;
            values[h] = distinct;
            rows[distinct] = row;
            slot[b] = distinct++;
            break;
          }
          h = (h + 1) & mask;
        }
      }
      return distinct;
    },
  };
  return self;
}
