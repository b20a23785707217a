/**
 * `query` as float64 (products of float32 values are exact in float64, so scores do not change;
 * the hot loops then multiply two float64 values instead of converting one each time). The
 * buffer is reused: valid until the next call, which a synchronous search never overlaps.
 */
export function widenQuery(query: Float32Array): Float64Array {
  if (wide.length < query.length) wide = new Float64Array(query.length);
  for (let j = 0; j < query.length; j++) wide[j] = query[j]!;
  return wide;
}

let wide = new Float64Array(64);
