/**
 * Interactive API docs at `/docs`: Swagger UI over `/openapi.json`, with its script and style
 * served by the API itself from the `swagger-ui-dist` package, so the page works without internet
 * access (no CDN). The two assets are read on first use and kept in memory.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { Hono } from 'hono';

/** Where the page loads its assets from; Swagger UI's helper appends `/swagger-ui-dist/<file>`. */
export const DOCS_ASSET_BASE = '/docs/assets';

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;

type Asset = keyof typeof ASSETS;

const distDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// biome-ignore lint/suspicious/noExplicitAny: any Hono app variant (OpenAPIHono included)
export function registerDocsRoutes(app: Hono<any>, title: string): void {
  app.get('/docs', swaggerUI({ url: '/openapi.json', title, baseUrl: DOCS_ASSET_BASE }));
  const cache = new Map<Asset, Promise<string>>();
  for (const name of Object.keys(ASSETS) as Asset[]) {
    app.get(`${DOCS_ASSET_BASE}/swagger-ui-dist/${name}`, async (c) => {
      let body = cache.get(name);
      if (body === undefined) {
        body = readFile(join(distDir, name), 'utf8');
        cache.set(name, body);
      }
      return c.body(await body, 200, {
        'content-type': ASSETS[name],
        'cache-control': 'public, max-age=86400',
      });
    });
  }
}
