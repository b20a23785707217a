/**
 * vitest global setup for the integration and e2e projects: makes sure Redis, Kafka and Spark
 * Connect answer, starting with the local launcher the ones that do not, and stops at the end
 * only what it started. Services already running (a developer's `npm run infra:up`, or
 * docker compose) are reused as they are.
 *
 * INFRA_SERVICES (comma-separated) narrows the set, e.g. `INFRA_SERVICES=redis,kafka`.
 */

import { downService, parseServices, upServices } from '../../infra/local/launcher.ts';
import { loadConfig } from '../../lib/config.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const config = loadConfig();
  const wanted = parseServices(
    (process.env['INFRA_SERVICES'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const log = (line: string) => console.log(`[infra] ${line}`);
  const results = await upServices(config, wanted, log);
  const started = results.filter((r) => r.outcome === 'started').map((r) => r.name);
  return async () => {
    for (const name of [...started].reverse()) await downService(config, name, log);
  };
}
