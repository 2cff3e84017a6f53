/** Writes private/config.sample.ini from src/config/schema.ts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSample } from '../src/config/sample.ts';

writeFileSync(join(import.meta.dirname, '..', 'private', 'config.sample.ini'), renderSample());
