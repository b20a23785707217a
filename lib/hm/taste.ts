/**
 * Latent taste clusters: who buys what. Each cluster leans toward one index group (and a
 * second one), a few sections, indexes and departments within them, latent styles, a colour
 * palette, and products of its own (an affinity per product). The leanings are random per seed,
 * then scaled (iterative proportional fitting) so that the mixture of all clusters buys
 * departments in the real proportions: taste moves purchases between customers, not between
 * departments.
 */

import { departmentIndex, departmentIndexGroup, departmentSection, STYLES } from './catalogue.ts';
import { Random } from './random.ts';
import { AGES, DEPARTMENTS, INDEXES, SECTIONS } from './tables.ts';

export interface TasteOptions {
  clusters: number;
  /** Departments that have articles in the catalogue (others get no demand). */
  departmentsPresent: readonly boolean[];
  /** Number of colour masters (perceived colour master names) in the catalogue. */
  colourMasters: number;
  /** Number of products in the catalogue (each cluster has an affinity for each). */
  products: number;
  strength?: Partial<TasteStrength>;
}

/** How strongly clusters differ; log-scale boosts. */
export interface TasteStrength {
  primaryGroup: number;
  secondaryGroup: number;
  index: number;
  section: number;
  department: number;
  colour: number;
  /** Spread of the clusters' style weights (log scale). */
  style: number;
  /** Spread of a cluster's affinity for each product (log scale). */
  product: number;
}

export const DEFAULT_TASTE: TasteStrength = {
  primaryGroup: 1.9,
  secondaryGroup: 0.8,
  index: 0.6,
  section: 0.7,
  department: 0.6,
  colour: 1.0,
  style: 2.0,
  product: 2.5,
};

export interface TasteCluster {
  id: number;
  /** index_group_no the cluster leans toward most. */
  indexGroup: number;
  /** Share of customers. */
  share: number;
  /** Purchase probability over DEPARTMENTS (sums to 1). */
  departments: Float64Array;
  /** Weights of the latent styles (sum 1). */
  styles: Float64Array;
  /**
   * How much the cluster likes each product, as a factor on the product's appeal (log-normal,
   * mean 1): the cluster's own favourites within a department and style, so that "customers like
   * you" buy other articles than "everyone" does, while popular articles stay popular overall.
   */
  affinity: Float32Array;
  /** Probability of keeping a drawn article of each colour master (max 1). */
  colourAccept: Float64Array;
  /** Age distribution in 5-year bins from AGES.start. */
  ages: Float64Array;
  /** Shift of the log-odds of fashion-news subscription and of a full club membership. */
  engagement: number;
  /** Mean share of baskets bought online. */
  onlineMean: number;
}

/** Real demand per department, restricted to the departments present, summing to 1. */
export function departmentDemand(present: readonly boolean[]): Float64Array {
  const d = new Float64Array(DEPARTMENTS.length);
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    d[i] = present[i] ? DEPARTMENTS[i]![5] : 0;
    sum += d[i]!;
  }
  if (sum === 0) throw new RangeError('no department has articles');
  for (let i = 0; i < d.length; i++) d[i]! /= sum;
  return d;
}

export function buildTaste(seed: number, options: TasteOptions): TasteCluster[] {
  const rng = new Random(seed, 'taste');
  const strength = { ...DEFAULT_TASTE, ...options.strength };
  const K = options.clusters;
  if (!Number.isInteger(K) || K < 1 || K > 250) throw new RangeError('clusters must be an integer in 1..250');
  const demand = departmentDemand(options.departmentsPresent);
  const D = demand.length;

  // Demand per index group, and clusters allotted to groups in proportion (at least one each).
  const groupDemand = new Map<number, number>();
  for (let d = 0; d < D; d++) {
    const g = departmentIndexGroup[d]!;
    groupDemand.set(g, (groupDemand.get(g) ?? 0) + demand[d]!);
  }
  const groups = [...groupDemand.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  const allotted = new Map<number, number>(groups.map(([g]) => [g, K >= groups.length ? 1 : 0]));
  for (let k = [...allotted.values()].reduce((s, x) => s + x, 0); k < K; k++) {
    // Give the next cluster to the group with the most demand per cluster.
    let best = groups[0]![0];
    let bestScore = -1;
    for (const [g, v] of groups) {
      const score = v / ((allotted.get(g) ?? 0) + 1);
      if (score > bestScore) {
        bestScore = score;
        best = g;
      }
    }
    allotted.set(best, (allotted.get(best) ?? 0) + 1);
  }

  const clusters: TasteCluster[] = [];
  // A stream of its own, so the catalogue size does not change the clusters' other draws.
  const affinityRng = new Random(seed, 'affinity');
  const ageBins = AGES.all.length;
  for (const [group, count] of allotted) {
    // Cluster sizes within a group vary (Gamma weights), the group keeps its demand share.
    const weights = Array.from({ length: count }, () => rng.gamma(4));
    const wsum = weights.reduce((s, x) => s + x, 0);
    for (let c = 0; c < count; c++) {
      const others = groups.filter(([g]) => g !== group);
      let secondary = group;
      if (others.length > 0) {
        const total = others.reduce((s, [, v]) => s + v, 0);
        let u = rng.next() * total;
        for (const [g, v] of others) {
          secondary = g;
          u -= v;
          if (u < 0) break;
        }
      }
      const sectionBoost = Array.from({ length: SECTIONS.length }, () => rng.normal() * strength.section);
      const indexBoost = Array.from({ length: INDEXES.length }, () => rng.normal() * strength.index);
      const departments = new Float64Array(D);
      for (let d = 0; d < D; d++) {
        if (demand[d] === 0) continue;
        const g = departmentIndexGroup[d]!;
        const boost =
          (g === group ? strength.primaryGroup : 0) +
          (g === secondary ? strength.secondaryGroup : 0) +
          indexBoost[departmentIndex[d]!]! +
          sectionBoost[departmentSection[d]!]! +
          rng.normal() * strength.department;
        departments[d] = demand[d]! * Math.exp(boost);
      }
      const colourAccept = new Float64Array(options.colourMasters);
      let max = 0;
      for (let m = 0; m < colourAccept.length; m++) {
        colourAccept[m] = Math.exp(rng.normal() * strength.colour);
        max = Math.max(max, colourAccept[m]!);
      }
      for (let m = 0; m < colourAccept.length; m++) colourAccept[m]! /= max;
      // Ages: the real distribution of customers who buy most from this index group.
      const byGroup = (AGES.byIndexGroup as Record<string, number[]>)[String(group)] ?? AGES.all;
      const nGroup = byGroup.reduce((s, x) => s + x, 0);
      const nAll = AGES.all.reduce((s, x) => s + x, 0);
      const ages = new Float64Array(ageBins);
      for (let b = 0; b < ageBins; b++) ages[b] = (byGroup[b]! + (20 * AGES.all[b]!) / nAll) / (nGroup + 20);
      const styles = Float64Array.from({ length: STYLES }, () => Math.exp(rng.normal() * strength.style));
      normalise(styles);
      clusters.push({
        id: clusters.length,
        indexGroup: group,
        share: (groupDemand.get(group)! * weights[c]!) / wsum,
        departments,
        styles,
        affinity: productAffinity(affinityRng, options.products, strength.product),
        colourAccept,
        ages,
        engagement: rng.normal() * 0.6,
        onlineMean: rng.normal() * 0.5, // a log-odds offset until centred below
      });
    }
  }

  centreOnlineShare(clusters, ONLINE_BASKET_SHARE);

  // Iterative proportional fitting: the cluster mixture must buy departments as the real data.
  for (const c of clusters) normalise(c.departments);
  for (let iter = 0; iter < 30; iter++) {
    const mix = new Float64Array(D);
    for (const c of clusters) for (let d = 0; d < D; d++) mix[d]! += c.share * c.departments[d]!;
    for (const c of clusters) {
      for (let d = 0; d < D; d++) if (mix[d]! > 0) c.departments[d]! *= demand[d]! / mix[d]!;
      normalise(c.departments);
    }
  }
  return clusters;
}

/** Log-normal factors with mean 1 and log-scale spread `sigma`, one per product. */
function productAffinity(rng: Random, products: number, sigma: number): Float32Array {
  return Float32Array.from({ length: products }, () => Math.exp(sigma * rng.normal() - (sigma * sigma) / 2));
}

/** Real share of baskets bought online. */
export const ONLINE_BASKET_SHARE = 0.6;

/** Turns the clusters' log-odds offsets into online shares whose mixture is `target`. */
function centreOnlineShare(clusters: TasteCluster[], target: number): void {
  const offsets = clusters.map((c) => c.onlineMean);
  const mixture = (shift: number) =>
    clusters.reduce((s, c, i) => s + c.share / (1 + Math.exp(-(shift + offsets[i]!))), 0);
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mixture(mid) < target) lo = mid;
    else hi = mid;
  }
  clusters.forEach((c, i) => {
    c.onlineMean = 1 / (1 + Math.exp(-(lo + offsets[i]!)));
  });
}

function normalise(v: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]!;
  if (sum > 0) for (let i = 0; i < v.length; i++) v[i]! /= sum;
}
