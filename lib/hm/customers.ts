/**
 * The synthetic customer population: one taste cluster per customer, with age, club status and
 * fashion-news subscription drawn from the cluster (so they correlate with taste), a purchase
 * frequency (heavy-tailed, lower for PRE-CREATE members, higher for news readers, as in the real
 * data), a preferred channel, and three favourite departments of their own.
 * Customers are numbered in `customer_id` order, like the real customers.csv.
 */

import { Random, WeightedSampler } from './random.ts';
import { csvLine } from './schema.ts';
import {
  AGES,
  CLUB_STATUS,
  CUSTOMER_NEWS,
  NEWS_ACTIVITY,
  ONLINE_SHARE,
  TOP_POSTAL_SHARE,
  VISITS,
} from './tables.ts';
import type { TasteCluster } from './taste.ts';

export const FAVOURITES = 3;

export interface Population {
  size: number;
  ids: string[];
  cluster: Uint8Array;
  /** Relative purchase frequency (mean 1). */
  activity: Float64Array;
  /** Probability that a basket is bought online. */
  online: Float32Array;
  /** FAVOURITES department indexes per customer. */
  favourites: Int16Array;
  /** Favourite perceived colour master (index into the catalogue's colour masters). */
  favouriteColour: Int8Array;
}

/** The real file has LEFT CLUB members too, too rare to show up in the sample. */
const LEFT_CLUB_SHARE = 0.0003;

/** Builds the population; `onRow` receives each customers.csv line (no newline) in id order. */
export function buildPopulation(
  seed: number,
  size: number,
  clusters: readonly TasteCluster[],
  /** Share of the catalogue in each colour master, to pick favourite colours in proportion. */
  colourShares: readonly number[],
  onRow: (line: string) => void = () => {},
): Population {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('customers must be a positive integer');
  const rng = new Random(seed, 'customers');
  const ids = Array.from({ length: size }, () => rng.hex64()).sort();
  for (let i = 1; i < size; i++) if (ids[i] === ids[i - 1]) ids[i] = rng.hex64(); // astronomically rare
  ids.sort();

  const clusterSampler = new WeightedSampler(clusters.map((c) => c.share));
  const deptSamplers = clusters.map((c) => new WeightedSampler(c.departments));
  const ageSamplers = clusters.map((c) => new WeightedSampler(c.ages));
  const colourSamplers = clusters.map(
    (c) => new WeightedSampler(Array.from(c.colourAccept, (a, m) => a * (colourShares[m] ?? 0))),
  );
  const bigPostal = rng.hex64();
  const postalPool = Math.max(1, Math.round(size * 0.26));
  const postalSeed = rng.uint32();

  const noneActivity = NEWS_ACTIVITY.find(([f]) => f === 'NONE')?.[2] ?? 1;
  const newsActivity = new Map(NEWS_ACTIVITY.map(([f, , mean]) => [f, mean / noneActivity]));
  const activeActivity = CLUB_STATUS.find(([s]) => s === 'ACTIVE')?.[2] ?? 1;
  const clubActivity = new Map(CLUB_STATUS.map(([s, , mean]) => [s, mean / activeActivity]));
  clubActivity.set('LEFT CLUB', 0.5);
  // Gamma shape so that visits (Poisson around the activity) have the real spread.
  const shape = Math.max(0.2, VISITS.mean ** 2 / (VISITS.variance - VISITS.mean));

  const pop: Population = {
    size,
    ids,
    cluster: new Uint8Array(size),
    activity: new Float64Array(size),
    online: new Float32Array(size),
    favourites: new Int16Array(size * FAVOURITES),
    favouriteColour: new Int8Array(size),
  };
  const k = ONLINE_SHARE.k;
  let activitySum = 0;
  for (let c = 0; c < size; c++) {
    const ci = clusterSampler.sample(rng);
    const cluster = clusters[ci]!;
    pop.cluster[c] = ci;
    // News subscription (FN, Active, frequency) and club status lean with the cluster.
    const newsWeights = CUSTOMER_NEWS.map(
      ([, , freq, n]) => n * (freq === 'Regularly' ? Math.exp(cluster.engagement) : 1),
    );
    const news = CUSTOMER_NEWS[pickIndex(rng, newsWeights)]!;
    const clubWeights = CLUB_STATUS.map(
      ([s, n]) => n * (s === 'PRE-CREATE' ? Math.exp(-cluster.engagement) : 1),
    );
    let club = CLUB_STATUS[pickIndex(rng, clubWeights)]![0];
    if (rng.chance(LEFT_CLUB_SHARE)) club = 'LEFT CLUB';
    const activity =
      rng.gamma(shape) *
      (newsActivity.get(news[2]) ?? 1) *
      (clubActivity.get(club) ?? 1) *
      rng.logNormal(0, 0.2);
    pop.activity[c] = activity;
    activitySum += activity;
    const mean = cluster.onlineMean;
    pop.online[c] = rng.beta(Math.max(0.05, mean * k), Math.max(0.05, (1 - mean) * k));
    pop.favouriteColour[c] = colourSamplers[ci]!.sample(rng);
    for (let f = 0; f < FAVOURITES; f++) pop.favourites[c * FAVOURITES + f] = deptSamplers[ci]!.sample(rng);
    let age = '';
    if (!rng.chance(AGES.missing)) {
      const bin = ageSamplers[ci]!.sample(rng);
      age = `${Math.max(16, AGES.start + bin * AGES.width + rng.int(AGES.width))}.0`;
    }
    const postal = rng.chance(TOP_POSTAL_SHARE) ? bigPostal : poolPostal(postalSeed, rng.int(postalPool));
    onRow(csvLine([ids[c]!, news[0], news[1], club, news[2], age, postal]));
  }
  for (let c = 0; c < size; c++) pop.activity[c] = (pop.activity[c]! * size) / activitySum;
  return pop;
}

function pickIndex(rng: Random, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Postal code number `n` of the pool, as 64 hex characters (shared by about four customers). */
function poolPostal(seed: number, n: number): string {
  return new Random(seed ^ n, 'postal').hex64();
}
