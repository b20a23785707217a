/**
 * The API contract on the in-process adapters: memory feature store, embedded vector index,
 * memory event bus.
 */
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { MemoryEventBus } from '../lib/stores/memory/event-bus.ts';
import { MemoryFeatureStore } from '../lib/stores/memory/feature-store.ts';
import { apiContractSuite } from './testing/contract.ts';
import { readEventsBack } from './testing/read-back.ts';
import { loadWorld } from './testing/world.ts';

apiContractSuite('memory feature store, embedded index, memory bus', async () => {
  const featureStore = new MemoryFeatureStore();
  const vectorIndex = new EmbeddedVectorIndex();
  const eventBus = new MemoryEventBus({ topics: { events: 'user-events', deadLetter: 'user-events-dlq' } });
  await Promise.all([featureStore.start(), vectorIndex.start(), eventBus.start()]);
  await loadWorld(featureStore, vectorIndex);
  return {
    featureStore,
    vectorIndex,
    eventBus,
    readBack: (ids) => readEventsBack(eventBus, ids, 5000),
    async close() {
      await eventBus.close();
      await vectorIndex.close();
      await featureStore.close();
    },
  };
});
