/**
 * A shopper simulator: an endless, seeded stream of v1 user events that looks like shop traffic.
 *
 * Many shopping sessions run at once and their events interleave, as on a real site. A session
 * belongs to one user (a few users are far more active than most: Zipf over users) and browses
 * one product group: clicks on items of that group (popular items more often: Zipf within the
 * group), sometimes puts the last clicked item in the cart, and sometimes buys what is in the
 * cart. With the default knobs about 85 % of events are clicks, 9 % add-to-carts and 6 % purchases
 * (two carts in three end in a purchase). Pure apart from the event ids (crypto UUIDs by default).
 */
import { randomUUID } from 'node:crypto';
import type { EventType, UserEvent } from '../../lib/events.ts';
import { type Random, seededRandom } from '../../lib/stores/random.ts';

export interface CatalogItem {
  item_idx: number;
  product_group_name: string;
}

/** What the simulator draws from: the ids of a trained model. */
export interface Catalog {
  users: readonly number[];
  /** Items, most popular first when popularity is known (it sets the Zipf ranks). */
  items: readonly CatalogItem[];
}

export interface SimulatorOptions {
  /** @default 42 */
  seed?: number;
  /** Value of `source` on every event. @default 'simulator' */
  source?: string;
  /** Sessions running at once (interleaved). @default 64 */
  concurrentSessions?: number;
  /** Zipf exponent over users and over items within a group. @default 1.0 */
  zipf?: number;
  /** Chance that a click is followed by putting that item in the cart. @default 0.2 */
  addToCartRate?: number;
  /** Chance, at each step with a full cart, of buying it (which ends the session). @default 0.2 */
  purchaseRate?: number;
  /** Event id source. @default crypto.randomUUID */
  newEventId?: () => string;
}

export interface EventSimulator {
  /** The next event, stamped with `now`. */
  next(now?: Date): UserEvent;
}

/** Samples indexes 0..n-1 with weight 1/(i+1)^s by binary search over the cumulative weights. */
export function zipfSampler(n: number, s: number, random: Random): () => number {
  if (n < 1) throw new RangeError('zipfSampler: need at least one value');
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s;
    cumulative[i] = total;
  }
  return () => {
    const x = random.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Session {
  user: number;
  group: number;
  clicksLeft: number;
  lastItem: number | null;
  cart: number | null;
}

export function createEventSimulator(catalog: Catalog, options: SimulatorOptions = {}): EventSimulator {
  if (catalog.users.length === 0) throw new RangeError('simulator: the catalog has no users');
  if (catalog.items.length === 0) throw new RangeError('simulator: the catalog has no items');
  const random = seededRandom(options.seed ?? 42);
  const zipf = options.zipf ?? 1.0;
  const addToCartRate = options.addToCartRate ?? 0.2;
  const purchaseRate = options.purchaseRate ?? 0.2;
  const source = options.source ?? 'simulator';
  const newEventId = options.newEventId ?? randomUUID;

  // Users: a seeded shuffle decides who the heavy shoppers are.
  const users = [...catalog.users];
  for (let i = users.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [users[i], users[j]] = [users[j]!, users[i]!];
  }
  const pickUser = zipfSampler(users.length, zipf * 0.8, random);

  // Items per group, in catalogue (popularity) order; groups weighted by their size.
  const groupItems = new Map<string, number[]>();
  for (const item of catalog.items) {
    const list = groupItems.get(item.product_group_name);
    if (list) list.push(item.item_idx);
    else groupItems.set(item.product_group_name, [item.item_idx]);
  }
  const groups = [...groupItems.values()];
  const pickInGroup = groups.map((items) => zipfSampler(items.length, zipf, random));
  const pickGroup = () => {
    // A group in proportion to its number of items.
    let x = random.int(catalog.items.length);
    for (let g = 0; g < groups.length; g++) {
      x -= groups[g]!.length;
      if (x < 0) return g;
    }
    return groups.length - 1;
  };

  const newSession = (): Session => ({
    user: users[pickUser()]!,
    group: pickGroup(),
    clicksLeft: 1 + random.int(6),
    lastItem: null,
    cart: null,
  });
  const sessions = Array.from({ length: Math.max(1, options.concurrentSessions ?? 64) }, newSession);

  const step = (s: Session): { type: EventType; item: number; ended: boolean } => {
    if (s.cart !== null && random.next() < purchaseRate) {
      return { type: 'purchase', item: s.cart, ended: true };
    }
    if (s.lastItem !== null && s.cart === null && random.next() < addToCartRate) {
      s.cart = s.lastItem;
      return { type: 'add_to_cart', item: s.lastItem, ended: false };
    }
    const items = groups[s.group]!;
    const item = items[pickInGroup[s.group]!()]!;
    s.lastItem = item;
    s.clicksLeft--;
    // A session with a full cart lingers until it buys or gives up with the clicks.
    return { type: 'click', item, ended: s.clicksLeft <= 0 && s.cart === null };
  };

  return {
    next(now = new Date()) {
      const slot = random.int(sessions.length);
      const session = sessions[slot]!;
      const { type, item, ended } = step(session);
      if (ended || (session.clicksLeft <= -3 && session.cart !== null)) sessions[slot] = newSession();
      return {
        event_id: newEventId(),
        event_type: type,
        user_idx: session.user,
        item_idx: item,
        ts: now.toISOString(),
        source,
      };
    },
  };
}

/** A customer the model has never seen, numbered by the caller as the API numbers one. */
export interface NewCustomer {
  customer_id: string;
  user_idx: number;
}

export interface NewCustomerOptions {
  /** Share of the events that come from new customers, 0..1. */
  fraction: number;
  /**
   * The next new customer (already numbered, e.g. by `FeatureStore.assignIds`); null when none
   * is at hand, and that event then comes from the base simulator's known users.
   */
  newCustomer: () => NewCustomer | null;
  /** @default 7 */
  seed?: number;
  /** New customers shopping at once (interleaved). @default 16 */
  concurrentCustomers?: number;
  /** Events a new customer sends after the first purchase: 1..maxFollowUps, uniform. @default 3 */
  maxFollowUps?: number;
}

export interface NewCustomerStats {
  /** New customers whose first event was emitted. */
  customers: number;
  /** Events from new customers. */
  events: number;
  /** Events meant for a new customer that went to a known user (`newCustomer()` had none). */
  fallbacks: number;
}

/**
 * Mixes new customers into a simulator's stream: a `fraction` of the events come from customers
 * the model never saw. Each new customer starts with a purchase and sends 1..`maxFollowUps` more
 * events; several shop at once. Their events carry the customer's `user_idx` and `customer_id`
 * (as the API publishes them); items and the types after the first come from the base stream,
 * so they follow its popularity and mix.
 */
export function withNewCustomers(
  base: EventSimulator,
  options: NewCustomerOptions,
): EventSimulator & { readonly stats: NewCustomerStats } {
  const fraction = options.fraction;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in 0..1, got ${fraction}`);
  const random = seededRandom(options.seed ?? 7);
  const maxFollowUps = Math.max(1, options.maxFollowUps ?? 3);
  const slots: Array<{ customer: NewCustomer; left: number } | null> = Array.from(
    { length: Math.max(1, options.concurrentCustomers ?? 16) },
    () => null,
  );
  const stats: NewCustomerStats = { customers: 0, events: 0, fallbacks: 0 };
  return {
    stats,
    next(now = new Date()) {
      const event = base.next(now);
      if (fraction === 0 || random.next() >= fraction) return event;
      const slot = random.int(slots.length);
      let session = slots[slot] ?? null;
      let first = false;
      if (session === null) {
        const customer = options.newCustomer();
        if (customer === null) {
          stats.fallbacks++;
          return event;
        }
        session = { customer, left: 1 + random.int(maxFollowUps) };
        slots[slot] = session;
        stats.customers++;
        first = true;
      } else if (--session.left <= 0) {
        slots[slot] = null;
      }
      stats.events++;
      return {
        ...event,
        event_type: first ? 'purchase' : event.event_type,
        user_idx: session.customer.user_idx,
        customer_id: session.customer.customer_id,
      };
    },
  };
}
