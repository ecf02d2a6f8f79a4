/** The first rows of a data file and its column types, for `agp inspect`. */
export interface FileSample {
  path: string;
  format: 'csv' | 'parquet' | 'arrow';
  totalRows?: number; // when the file's metadata says it cheaply
  columns: { name: string; fileType: string }[]; // fileType as the file states it (e.g. 'INT64', 'Utf8', 'timestamp[ms]', 'string')
  values: Map<string, unknown[]>; // first maxRows values per column (null = missing)
}
