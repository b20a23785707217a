/**
 * Three test projects:
 * - unit: `*.test.ts` — no I/O beyond the file system, fast.
 * - integration: `*.int.test.ts` — real Redis, Kafka and Spark Connect; the global setup starts
 *   them with the local launcher when they are not already reachable, and stops what it started.
 * - e2e: `*.e2e.test.ts` — whole pipelines on tiny generated data.
 *
 * The projects run one after the other (unit, then integration, then e2e), and the two that use
 * the servers run their files one at a time: two cores and one Spark server leave no room for
 * Spark-heavy files side by side.
 */
import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', 'data/**', 'infra/jvm/**', '.run/**'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.e2e.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts'],
          exclude,
          globalSetup: ['test/setup/infra.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores run one JVM-heavy Spark server: run files one at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['**/*.e2e.test.ts'],
          exclude,
          globalSetup: ['test/setup/infra.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
