/**
 * The live demo page at `/demo`: plain HTML, CSS and a small browser script from `serve/demo/`,
 * read once at start-up and served from memory. The page uses only the public endpoints.
 */
import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';

const DEMO_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'demo.js': 'text/javascript; charset=utf-8',
  'demo.css': 'text/css; charset=utf-8',
} as const;

type DemoFile = keyof typeof DEMO_FILES;

function load(): Record<DemoFile, string> {
  const out = {} as Record<DemoFile, string>;
  for (const name of Object.keys(DEMO_FILES) as DemoFile[]) {
    out[name] = readFileSync(new URL(`../demo/${name}`, import.meta.url), 'utf8');
  }
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app variant (OpenAPIHono included)
export function registerDemoRoutes(app: Hono<any>): void {
  const files = load();
  const send =
    (name: DemoFile) => (c: { body: (b: string, s: 200, h: Record<string, string>) => Response }) =>
      c.body(files[name], 200, { 'content-type': DEMO_FILES[name], 'cache-control': 'no-cache' });
  app.get('/demo', send('index.html'));
  app.get('/demo/', send('index.html'));
  app.get('/demo/demo.js', send('demo.js'));
  app.get('/demo/demo.css', send('demo.css'));
}
