import { publishConformance } from './conformance/publish.ts';
import { EmbeddedVectorIndex } from './embedded/vector-index.ts';
import { MemoryFeatureStore } from './memory/feature-store.ts';

publishConformance('memory feature store + embedded index', async () => {
  const featureStore = new MemoryFeatureStore();
  const vectorIndex = new EmbeddedVectorIndex();
  await featureStore.start();
  await vectorIndex.start();
  return {
    featureStore,
    vectorIndex,
    close: async () => {
      await vectorIndex.close();
      await featureStore.close();
    },
  };
});
