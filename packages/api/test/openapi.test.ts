import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createApiServer, openApiDocument } from '../src/index.js';
import { fakeManager } from './support/fake-manager.js';

const METHODS = ['get', 'head', 'post', 'put', 'delete', 'patch'];

describe('the OpenAPI document', () => {
  it("lists exactly the server's routes, and packages/api/openapi.json is up to date (pnpm --filter @netmode/api openapi)", async () => {
    const server = createApiServer(fakeManager().netmode);
    const routes: string[] = [];
    server.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push(`${method.toLowerCase()} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    });
    const document = (await openApiDocument(server)) as { paths: Record<string, Record<string, unknown>>; info: { version: string } };
    await server.close();
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.sort());
    const committed = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });
});
