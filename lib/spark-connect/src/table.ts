/** Small Arrow table helpers. */
import * as arrow from 'apache-arrow';
import { type StructType, toArrowType } from './types.ts';

export function arrowSchemaOf(schema: StructType): arrow.Schema {
  return new arrow.Schema(
    schema.fields.map((f) => new arrow.Field(f.name, toArrowType(f.dataType), f.nullable)),
  );
}

/** A table over batches that share one schema. */
export function tableFromBatches(batches: arrow.RecordBatch[]): arrow.Table {
  return new arrow.Table(batches[0]!.schema, batches);
}

/** A zero-row table with the Arrow form of `schema`. */
export function emptyTable(schema: StructType): arrow.Table {
  return new arrow.Table(arrowSchemaOf(schema));
}
