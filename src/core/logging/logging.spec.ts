import { Writable } from 'node:stream';

import pino from 'pino';

import { REDACTED_PATHS } from './logging.module.js';

function capture(): { logger: pino.Logger; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' } }, stream), lines: () => chunks.join('') };
}

describe('log redaction', () => {
  it('censors credentials and tokens wherever the logging config says they may appear', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer eyJ.secret.sig', cookie: 'sid=abc', 'idempotency-key': 'k-1' } },
        body: { password: 'hunter2-password', newPassword: 'n3w-password', currentPassword: 'old-password' },
        tokens: { accessToken: 'eyJ.access', refreshToken: 'opaque-refresh', token: 'verify-token' },
        user: { passwordHash: '$2b$12$abcdefghijklmnopqrstuv' },
      },
      'request',
    );
    const output = lines();
    for (const secret of ['eyJ.secret.sig', 'sid=abc', 'k-1', 'hunter2', 'n3w-password', 'old-password', 'eyJ.access', 'opaque-refresh', 'verify-token', '$2b$12$']) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain('[REDACTED]');
  });
});
