/**
 * Customer segments: groups of customers that get a trending list of their own, for the users the
 * model has no vector for yet (most of a fashion shop's buyers on any day). Today one kind: the age
 * band from `customers.csv` — what sells differs by age more than by anything else the customer
 * table holds. A segment is a string such as `age:25-34`; the batch computes the lists and each
 * user's segment, the API serves the list of the user's segment (`TRENDING_SEGMENTS`).
 */

/** Age bands, `[from, to]` in years, inclusive; the last one has no upper end. */
export const AGE_BANDS: ReadonlyArray<readonly [number, number | null]> = [
  [16, 24],
  [25, 34],
  [35, 44],
  [45, 54],
  [55, 64],
  [65, null],
];

function label([from, to]: readonly [number, number | null]): string {
  return to === null ? `age:${from}+` : `age:${from}-${to}`;
}

/** Every segment name, in band order. */
export const SEGMENTS: readonly string[] = AGE_BANDS.map(label);

/** The segment of an age, or null (unknown, or below the first band). */
export function ageSegment(age: number | null | undefined): string | null {
  if (age === null || age === undefined || !Number.isFinite(age)) return null;
  for (const band of AGE_BANDS) {
    if (age >= band[0] && (band[1] === null || age < band[1] + 1)) return label(band);
  }
  return null;
}

/** The same as `ageSegment`, as a Spark SQL expression over a numeric `column`. */
export function ageSegmentSql(column: string): string {
  const cases = AGE_BANDS.map(
    (band) =>
      `WHEN ${column} >= ${band[0]}${band[1] === null ? '' : ` AND ${column} < ${band[1] + 1}`} THEN '${label(band)}'`,
  );
  return `CASE ${cases.join(' ')} ELSE NULL END`;
}
