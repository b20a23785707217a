/**
 * Profile aggregation: a user's purchase counters turned into ranked category shares.
 */

export interface CategoryShare {
  name: string;
  count: number;
  /** Share of the user's purchases in percent, one decimal. */
  percentage: number;
}

/**
 * The `limit` most bought categories, by count (ties by name, so the order is stable), each with
 * its share of all counted purchases.
 */
export function topCategories(counts: Readonly<Record<string, number>>, limit: number): CategoryShare[] {
  const entries = Object.entries(counts).filter(([, count]) => count > 0);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return [];
  entries.sort(([nameA, a], [nameB, b]) => b - a || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0));
  return entries.slice(0, Math.max(0, limit)).map(([name, count]) => ({
    name,
    count,
    percentage: Math.round((count / total) * 1000) / 10,
  }));
}
