// Writes packages/api/openapi.json from the routes' schemas (run after
// `tsc -b`); test/openapi.test.ts fails when the file and the routes differ.
import { writeFileSync } from 'node:fs';
import { createApiServer, openApiDocument } from '../dist/index.js';

// Routes only reach the manager when they answer a request: none does here.
const server = createApiServer(/** @type {never} */ ({}));
const document = await openApiDocument(server);
await server.close();
writeFileSync(new URL('../openapi.json', import.meta.url), `${JSON.stringify(document, null, 2)}\n`);
