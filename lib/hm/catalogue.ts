/**
 * The synthetic article catalogue: products drawn from the real catalogue's joint counts of
 * department × product type (so index, section, garment group and product group keep the real
 * proportions), colour variants per product as in the real file, colours by index group, list
 * prices by product group, and a life cycle (launch, rise, decay) per product. Product codes
 * increase with launch date like the real ones, so articles sorted by id are sorted by launch.
 */

import { Random, WeightedSampler } from './random.ts';
import { csvLine } from './schema.ts';
import {
  COLOUR_INDEX_GROUPS,
  COLOURS,
  DEPARTMENT_TYPE_COUNTS,
  DEPARTMENTS,
  GARMENT_GROUPS,
  GRAPHICS,
  INDEXES,
  LIST_PRICES,
  PRODUCT_TYPES,
  SECTIONS,
  VARIANTS_PER_PRODUCT,
} from './tables.ts';

export interface CatalogueOptions {
  articles: number;
  /** Simulation length in days; launches spread over it plus `preLaunchDays` before it. */
  days: number;
  preLaunchDays?: number;
}

/** Column-oriented catalogue; index i is the i-th article in id order. */
export interface Catalogue {
  size: number;
  articleIds: string[];
  /** Product number (0-based, in launch order) and the product's first article and variant count. */
  product: Int32Array;
  productFirst: Int32Array;
  productVariants: Int32Array;
  /** Indexes into DEPARTMENTS, PRODUCT_TYPES, COLOURS, GRAPHICS. */
  department: Int16Array;
  productType: Int16Array;
  colour: Int16Array;
  graphic: Int16Array;
  /** Latent style 0..STYLES-1 (shared by a product's variants). */
  style: Uint8Array;
  /** Perceived colour master of each article, as an index into `colourMasters`. */
  colourMaster: Int8Array;
  colourMasters: string[];
  listPriceCents: Int32Array;
  /** Day of launch relative to the first simulated day (negative: launched before). */
  launchDay: Int32Array;
  riseDays: Float32Array;
  decayDays: Float32Array;
  /** Base popularity (long-tailed). */
  appeal: Float32Array;
  /** Product name and description per product. */
  productNames: string[];
  productDescriptions: string[];
  productCodes: Int32Array;
}

/**
 * Latent styles (think classic, trendy, sporty, romantic): each product has one, each taste
 * cluster favours some, so clusters buy different articles within the same department; within a
 * style, each cluster's affinity for single products (taste.ts) does the same. Not a column of
 * the files; it is what makes "customers like you bought" differ from "everyone bought".
 */
export const STYLES = 6;

/** Garment groups whose articles sell for a long time (basics). */
const LONG_LIFE_GARMENT_GROUPS = new Set([1002, 1017, 1021, 1016]);

export const DEFAULT_PRE_LAUNCH_DAYS = 150;

function parseDepartmentTypes(): { department: number[]; productType: number[]; count: number[] } {
  const department: number[] = [];
  const productType: number[] = [];
  const count: number[] = [];
  for (const triple of DEPARTMENT_TYPE_COUNTS.split(' ')) {
    const [d, t, n] = triple.split('.').map(Number);
    department.push(d!);
    productType.push(t!);
    count.push(n!);
  }
  return { department, productType, count };
}

export const departmentTypes = parseDepartmentTypes();

const indexGroupOfIndex = new Map(INDEXES.map(([code, , groupNo]) => [code, groupNo]));
/** Index group number of each department. */
export const departmentIndexGroup: number[] = DEPARTMENTS.map(([, , code]) => indexGroupOfIndex.get(code)!);
const garmentGroupRow = new Map(GARMENT_GROUPS.map((g, i) => [g[0], i]));
/** Index into GARMENT_GROUPS of each department. */
export const departmentGarmentGroup: number[] = DEPARTMENTS.map(([, , , , gg]) => garmentGroupRow.get(gg)!);
const sectionRow = new Map(SECTIONS.map((s, i) => [s[0], i]));
/** Index into SECTIONS of each department. */
export const departmentSection: number[] = DEPARTMENTS.map(([, , , section]) => sectionRow.get(section)!);
const indexRow = new Map(INDEXES.map((x, i) => [x[0], i]));
/** Index into INDEXES of each department. */
export const departmentIndex: number[] = DEPARTMENTS.map(([, , code]) => indexRow.get(code)!);

const allListPrices = (() => {
  const merged = new Map<number, number>();
  for (const rows of Object.values(LIST_PRICES))
    for (const [cents, n] of rows) merged.set(cents, (merged.get(cents) ?? 0) + n);
  return [...merged.entries()];
})();

const NAME_WORDS = (
  'Alva Bella Cleo Dana Edie Freja Greta Hanna Ines Juno Kira Lova Maja Nora Olle Pia Rut Saga ' +
  'Tove Uma Vera Wilma Ylva Zelda Atlas Bruno Caspian Dexter Elton Felix Gustav Hugo Iggy Jasper ' +
  'Knut Leo Milo Nils Otto Pelle Rasmus Sixten Tage Viggo Sunset Meadow Harbour Linen Marble ' +
  'Velvet Cloud Ocean Pebble Maple Birch Rosie Skye Nova Luna Stella'
).split(' ');
const FABRICS = (
  'soft cotton jersey; a cotton weave; sweatshirt fabric; a soft, fine knit; washed denim; ' +
  'woven fabric; recycled polyester; a viscose blend; lace; microfibre; a rib knit; bouclé; ' +
  'organic cotton; satin; imitation leather; a linen and cotton blend'
).split('; ');
const FEATURES = (
  'a round neckline; long sleeves; short sleeves; a zip at one side; side pockets; ' +
  'an elasticated waist; press-studs at the front; a concealed zip; adjustable shoulder straps; ' +
  'a ribbed hem; a print motif; raw-edge hems; a drawstring waist; a V-neck; dropped shoulders; ' +
  'an appliqué at the front; a wrapover front; buttons down the front; a yoke at the back; ' +
  'a gently flared hem; narrow shoulder straps; a high waist; wide legs; tapered legs'
).split('; ');
const ENDINGS = ['Lined.', 'Unlined.', 'Soft brushed inside.', 'Regular fit.', 'Relaxed fit.', ''];
const QUOTED_WORDS = ['LOVE', 'PARTY TIME', 'Sunday', 'HELLO', 'Good Vibes'];

function productDescription(rng: Random, typeName: string): string {
  if (rng.chance(0.004)) return '';
  const f = rng.shuffle([...FEATURES]).slice(0, 1 + rng.int(3));
  let features = f[0]!;
  if (f.length === 2) features = `${f[0]} and ${f[1]}`;
  if (f.length === 3) features = `${f[0]}, ${f[1]} and ${f[2]}`;
  const fabric = FABRICS[rng.int(FABRICS.length)]!;
  let text = `${typeName} in ${fabric} with ${features}.`;
  // A few real descriptions quote a printed text, e.g. a "PARTY TIME" text at the top.
  if (rng.chance(0.003)) text += ` With a "${QUOTED_WORDS[rng.int(QUOTED_WORDS.length)]}" text at the front.`;
  const ending = ENDINGS[rng.int(ENDINGS.length)]!;
  return ending ? `${text} ${ending}` : text;
}

export function buildCatalogue(seed: number, options: CatalogueOptions): Catalogue {
  const { articles, days } = options;
  if (!Number.isInteger(articles) || articles < 1)
    throw new RangeError('articles must be a positive integer');
  const preLaunch = options.preLaunchDays ?? DEFAULT_PRE_LAUNCH_DAYS;
  const rng = new Random(seed, 'catalogue');

  // Products and their variant counts, until the article budget is used.
  const variantSampler = new WeightedSampler(VARIANTS_PER_PRODUCT);
  const variantCounts: number[] = [];
  let total = 0;
  while (total < articles) {
    const v = Math.min(variantSampler.sample(rng) + 1, articles - total);
    variantCounts.push(v);
    total += v;
  }
  const products = variantCounts.length;

  // Launch day per product, then product codes in launch order.
  const launch = Array.from({ length: products }, () =>
    Math.floor(-preLaunch + rng.next() * (preLaunch + days)),
  );
  const order = Array.from({ length: products }, (_, i) => i).sort(
    (a, b) => launch[a]! - launch[b]! || a - b,
  );
  const counts = [...variantCounts];
  const launchSorted = order.map((i) => launch[i]!);
  const variantsSorted = order.map((i) => counts[i]!);

  const productCodes = new Int32Array(products);
  const codeSpan = 959_000 - 110_000;
  const meanGap = Math.max(1, Math.floor(codeSpan / products));
  let code = 108_000 + rng.int(meanGap);
  for (let p = 0; p < products; p++) {
    code += 1 + rng.int(2 * meanGap - 1);
    productCodes[p] = Math.min(code, 9_999_999);
  }

  const typeSampler = new WeightedSampler(departmentTypes.count);
  const graphicSampler = new WeightedSampler(GRAPHICS.map((g) => g[2]));
  const colourSamplers = COLOUR_INDEX_GROUPS.map(
    (_, gi) => new WeightedSampler(COLOURS.map((c) => c[6][gi]!)),
  );
  const priceSamplers = new Map<string, { cents: number[]; sampler: WeightedSampler }>();
  const priceFor = (group: string) => {
    let entry = priceSamplers.get(group);
    if (!entry) {
      const rows = LIST_PRICES[group] ?? allListPrices;
      entry = { cents: rows.map((r) => r[0]), sampler: new WeightedSampler(rows.map((r) => r[1])) };
      priceSamplers.set(group, entry);
    }
    return entry.cents[entry.sampler.sample(rng)]!;
  };
  const masterNames: string[] = [];
  const masterOfColour = COLOURS.map((c) => {
    let m = masterNames.indexOf(c[5]);
    if (m < 0) m = masterNames.push(c[5]) - 1;
    return m;
  });

  const cat: Catalogue = {
    size: articles,
    articleIds: new Array<string>(articles),
    product: new Int32Array(articles),
    productFirst: new Int32Array(products),
    productVariants: new Int32Array(products),
    department: new Int16Array(articles),
    productType: new Int16Array(articles),
    colour: new Int16Array(articles),
    graphic: new Int16Array(articles),
    style: new Uint8Array(articles),
    colourMaster: new Int8Array(articles),
    colourMasters: masterNames,
    listPriceCents: new Int32Array(articles),
    launchDay: new Int32Array(articles),
    riseDays: new Float32Array(articles),
    decayDays: new Float32Array(articles),
    appeal: new Float32Array(articles),
    productNames: new Array<string>(products),
    productDescriptions: new Array<string>(products),
    productCodes,
  };

  let a = 0;
  for (let p = 0; p < products; p++) {
    const combo = typeSampler.sample(rng);
    const dept = departmentTypes.department[combo]!;
    const ptype = departmentTypes.productType[combo]!;
    const [, typeName, groupName] = PRODUCT_TYPES[ptype]!;
    const groupIdx = Math.max(0, COLOUR_INDEX_GROUPS.indexOf(departmentIndexGroup[dept]!));
    const price = priceFor(groupName);
    const rise = 4 + rng.next() * 17;
    const longLife = LONG_LIFE_GARMENT_GROUPS.has(DEPARTMENTS[dept]![4]);
    const decay = rng.logNormal(Math.log(40), 0.7) * (longLife ? 3 : 1);
    const productAppeal = rng.logNormal(0, 1.0);
    const firstGraphic = graphicSampler.sample(rng);
    const style = rng.int(STYLES);
    const word = NAME_WORDS[rng.int(NAME_WORDS.length)]!;
    cat.productNames[p] = rng.chance(0.15)
      ? `${word.toUpperCase()} ${typeName}`
      : `${word} ${typeName.toLowerCase()}`;
    cat.productDescriptions[p] = productDescription(rng, typeName);
    cat.productFirst[p] = a;
    cat.productVariants[p] = variantsSorted[p]!;
    const used = new Set<number>();
    let variantNo = 0;
    for (let v = 0; v < variantsSorted[p]!; v++) {
      let colour = colourSamplers[groupIdx]!.sample(rng);
      for (let tries = 0; tries < 6 && used.has(colour); tries++)
        colour = colourSamplers[groupIdx]!.sample(rng);
      used.add(colour);
      const remaining = variantsSorted[p]! - v;
      variantNo = Math.min(variantNo + 1 + (rng.chance(0.3) ? rng.int(8) : 0), 999 - remaining + 1);
      cat.articleIds[a] = String(productCodes[p]).padStart(7, '0') + String(variantNo).padStart(3, '0');
      cat.product[a] = p;
      cat.department[a] = dept;
      cat.productType[a] = ptype;
      cat.colour[a] = colour;
      cat.colourMaster[a] = masterOfColour[colour]!;
      cat.style[a] = style;
      cat.graphic[a] = rng.chance(0.8) ? firstGraphic : graphicSampler.sample(rng);
      cat.listPriceCents[a] = price;
      cat.launchDay[a] = launchSorted[p]!;
      cat.riseDays[a] = rise;
      cat.decayDays[a] = decay;
      cat.appeal[a] = productAppeal * rng.logNormal(0, 0.6);
      a++;
    }
  }
  return cat;
}

/** How much an article sells on `day` relative to its peak: 0 before launch, rise, then decay. */
export function lifeCycle(cat: Catalogue, article: number, day: number): number {
  const age = day - cat.launchDay[article]!;
  if (age < 0) return 0;
  const rise = cat.riseDays[article]!;
  if (age < rise) return (age + 1) / (rise + 1);
  const w = Math.exp(-(age - rise) / cat.decayDays[article]!);
  return w < 0.01 ? 0 : w;
}

/** The 25 fields of one articles.csv row, in column order. */
export function articleRow(cat: Catalogue, i: number): string {
  const dept = DEPARTMENTS[cat.department[i]!]!;
  const [typeNo, typeName, groupName] = PRODUCT_TYPES[cat.productType[i]!]!;
  const [gNo, gName] = GRAPHICS[cat.graphic[i]!]!;
  const [cCode, cName, vId, vName, mId, mName] = COLOURS[cat.colour[i]!]!;
  const index = INDEXES[departmentIndex[cat.department[i]!]!]!;
  const section = SECTIONS[departmentSection[cat.department[i]!]!]!;
  const garment = GARMENT_GROUPS[departmentGarmentGroup[cat.department[i]!]!]!;
  const p = cat.product[i]!;
  return csvLine([
    cat.articleIds[i]!,
    String(cat.productCodes[p]),
    cat.productNames[p]!,
    String(typeNo),
    typeName,
    groupName,
    String(gNo),
    gName,
    String(cCode),
    cName,
    String(vId),
    vName,
    String(mId),
    mName,
    String(dept[0]),
    dept[1],
    index[0],
    index[1],
    String(index[2]),
    index[3],
    String(section[0]),
    section[1],
    String(garment[0]),
    garment[1],
    cat.productDescriptions[p]!,
  ]);
}
