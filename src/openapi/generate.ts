import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createApp } from '../app';
import { loadConfig } from '../config/config';
import { buildOpenApiDocument, serialiseOpenApiDocument } from './openapi';

/** Where `npm run openapi` writes the committed document: the repository root. */
const OPENAPI_FILE = resolve(__dirname, '..', '..', '..', 'openapi.json');

/**
 * Writes the OpenAPI document the service serves at /openapi.json to `openapi.json`. The app is
 * built but never listens, on a throw-away DATA_DIR so ./data is never opened or created.
 */
async function generate(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rapidly-openapi-'));
  try {
    // Nothing from the caller's environment: the document must not depend on it.
    const { app } = await createApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error' }));
    try {
      const document = buildOpenApiDocument(app);
      writeFileSync(OPENAPI_FILE, serialiseOpenApiDocument(document));
      const paths = Object.keys(document.paths).length;
      const shown = relative(process.cwd(), OPENAPI_FILE);
      console.log(`Wrote ${shown.startsWith('..') ? OPENAPI_FILE : shown} (${paths} paths)`);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

generate().catch((error: unknown) => {
  console.error('Failed to generate openapi.json:', error instanceof Error ? error.stack : error);
  process.exit(1);
});
