/** Writes docs/admin-api.md from the OpenAPI document (gateway/http/openapi.ts). */
import { writeFileSync } from 'node:fs';
import { renderAdminApiMarkdown } from '../gateway/http/openapi.ts';

writeFileSync(new URL('../docs/admin-api.md', import.meta.url), renderAdminApiMarkdown());
