/**
 * The online-learning step, pure: how a user's vector moves when they interact with items.
 *
 * Each event pulls the user vector towards the item's vector by an exponential moving average,
 * `u ← (1 − w)·u + w·i`, with a weight per event type (a purchase says more than a click). A user
 * with no vector yet starts from the first item's vector. Folding a burst of events in order gives
 * exactly the vector that applying them one at a time would give, which is what lets the updater
 * coalesce a burst into a single store write.
 */
import type { EventType } from '../../lib/events.ts';
import { emaBlend } from '../../lib/vectors.ts';

export type EventWeights = Record<EventType, number>;

export interface FoldStep {
  itemVector: Float32Array;
  eventType: EventType;
}

/** Folds steps (oldest first) into `start`; null when there is neither a start nor a step. */
export function foldUserVector(
  start: Float32Array | null,
  steps: readonly FoldStep[],
  weights: EventWeights,
): Float32Array | null {
  let vector = start;
  for (const step of steps) {
    vector =
      vector === null
        ? Float32Array.from(step.itemVector)
        : emaBlend(vector, step.itemVector, weights[step.eventType]);
  }
  return vector;
}
