/**
 * The API contract against the production adapters: Redis feature store and Kafka event bus (real
 * servers, unique key prefix and topics per run), with the embedded vector index. Published
 * events are read back from the Kafka topic itself.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { EmbeddedVectorIndex } from '../lib/stores/embedded/vector-index.ts';
import { KafkaEventBus } from '../lib/stores/kafka/event-bus.ts';
import { RedisFeatureStore } from '../lib/stores/redis/feature-store.ts';
import { apiContractSuite } from './testing/contract.ts';
import { readEventsBack } from './testing/read-back.ts';
import { loadWorld } from './testing/world.ts';

apiContractSuite('redis feature store, embedded index, kafka bus', async () => {
  const run = randomUUID().slice(0, 8);
  const config = loadConfig({
    ...process.env,
    KAFKA_TOPIC_EVENTS: `test-api-events-${run}`,
    KAFKA_TOPIC_DLQ: `test-api-dlq-${run}`,
  });
  const logger = createLogger({ level: 'silent' });
  const keyPrefix = `test:api:${run}:`;
  const featureStore = new RedisFeatureStore({ url: config.redis.url, keyPrefix, readTimeoutMs: 2000 });
  const vectorIndex = new EmbeddedVectorIndex();
  const eventBus = new KafkaEventBus({ config: config.kafka, logger });
  await featureStore.start();
  await vectorIndex.start();
  await eventBus.start();
  await eventBus.ensureTopics();
  await loadWorld(featureStore, vectorIndex);
  return {
    featureStore,
    vectorIndex,
    eventBus,
    readBack: (ids) => readEventsBack(eventBus, ids, 60_000),
    async close() {
      await eventBus.close();
      await vectorIndex.close();
      await featureStore.close();
      // Remove what this run wrote.
      const admin = new Redis(config.redis.url);
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.unlink(...keys);
      } while (cursor !== '0');
      await admin.quit();
    },
  };
});
