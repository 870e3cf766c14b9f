import { randomBytes } from 'node:crypto';

import type { TestAgent } from '../utils/test-app.js';

export interface CreatedApiKey {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  key: string;
}

let sequence = 0;

/** A valid, unique body for POST /admin/api-keys; override any field. */
export function buildApiKeyRequest(overrides: Partial<{ name: string; scopes: string[]; expiresAt: string }> = {}) {
  sequence += 1;
  return { name: `service-${sequence}-${randomBytes(3).toString('hex')}`, scopes: ['users:read'], ...overrides };
}

/** Creates a key through the admin API, as an admin would (fails the test unless 201). */
export async function createApiKey(
  http: () => TestAgent,
  adminAccessToken: string,
  overrides: Parameters<typeof buildApiKeyRequest>[0] = {},
): Promise<CreatedApiKey> {
  const response = await http()
    .post('/api/v1/admin/api-keys')
    .set('Authorization', `Bearer ${adminAccessToken}`)
    .send(buildApiKeyRequest(overrides))
    .expect(201);
  return response.body as CreatedApiKey;
}
