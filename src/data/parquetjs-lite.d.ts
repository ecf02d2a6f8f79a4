// The parts of parquetjs-lite (which ships no types) that src/data uses.
declare module 'parquetjs-lite' {
  export interface ParquetField {
    name: string;
    primitiveType?: string;
    originalType?: string;
    repetitionType: string;
  }
  export interface ParquetColumnChunkData {
    dlevels: number[];
    values: unknown[];
    count: number;
  }
  export interface ParquetRowGroupBuffer {
    rowCount: number;
    columnData: Record<string, ParquetColumnChunkData>;
  }
  export interface ParquetRowGroupMeta {
    num_rows: number | bigint | { toNumber(): number };
  }
  export class ParquetSchema {
    constructor(fields: Record<string, { type: string; optional?: boolean }>);
    fieldList: ParquetField[];
    fields: Record<string, ParquetField>;
  }
  export class ParquetEnvelopeReader {
    readRowGroup(
      schema: ParquetSchema,
      rowGroup: ParquetRowGroupMeta,
      columnList: string[][],
    ): Promise<ParquetRowGroupBuffer>;
  }
  export class ParquetReader {
    static openFile(path: string): Promise<ParquetReader>;
    metadata: { row_groups: ParquetRowGroupMeta[] };
    schema: ParquetSchema;
    envelopeReader: ParquetEnvelopeReader;
    close(): Promise<void>;
  }
  export class ParquetWriter {
    static openFile(
      schema: ParquetSchema,
      path: string,
      opts?: { rowGroupSize?: number },
    ): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
  }
}
