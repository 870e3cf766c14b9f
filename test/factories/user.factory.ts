import { randomBytes } from 'node:crypto';

import type { TestAgent } from '../utils/test-app.js';

export interface RegisteredUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

let sequence = 0;

/** A valid, unique registration body; override any field. */
export function buildRegistration(overrides: Partial<{ email: string; password: string; name: string; mobile: string }> = {}) {
  sequence += 1;
  return {
    email: `user-${sequence}-${randomBytes(3).toString('hex')}@example.com`,
    password: `Sturdy-${randomBytes(6).toString('hex')}`,
    name: `Test User ${sequence}`,
    ...overrides,
  };
}

/** Registers through the API, as a customer would. */
export async function registerUser(
  http: () => TestAgent,
  overrides: Parameters<typeof buildRegistration>[0] = {},
): Promise<RegisteredUser> {
  const body = buildRegistration(overrides);
  const response = await http().post('/api/v1/auth/register').send(body).expect(201);
  return {
    id: response.body.user.id,
    email: body.email,
    password: body.password,
    accessToken: response.body.accessToken,
    refreshToken: response.body.refreshToken,
  };
}
