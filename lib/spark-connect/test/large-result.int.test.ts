import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * 5 million rows of (bigint, array<float>[64]) — 1.3 GB of Arrow — stream through the batch
 * iterator in a Node process limited to a 512 MiB heap. The server must allow results that
 * large (`spark.driver.maxResultSize`, set in spark-conf/spark-defaults.conf).
 */
describe('large results', () => {
  it('streams 5M rows of (bigint, array<float>[64]) with the heap under 512 MiB', () => {
    const rows = Number(process.env['SPARK_CONNECT_LARGE_ROWS'] ?? 5_000_000);
    const script = fileURLToPath(new URL('./large-result.script.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--max-old-space-size=512', '--import', 'tsx', script], {
      encoding: 'utf8',
      env: { ...process.env, ROWS: String(rows), HEAP_LIMIT_MIB: '512' },
      timeout: 600_000,
    });
    expect(result.stderr.slice(-2000)).toBe('');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
      rows: number;
      badRows: number;
      idSum: string;
      lastSum: number;
      maxHeapMiB: number;
    };
    const n = BigInt(rows);
    expect(summary.rows).toBe(rows);
    expect(summary.badRows).toBe(0);
    expect(summary.idSum).toBe(((n * (n - 1n)) / 2n).toString());
    expect(summary.lastSum).toBe(Number((n * (n - 1n)) / 2n + 63n * n));
    expect(summary.maxHeapMiB).toBeLessThan(512);
  }, 900_000);
});
