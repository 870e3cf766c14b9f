import { randomUUID } from 'node:crypto';

import type { Keyset } from '../../core/http/cursors.js';
import { NEWEST_FIRST_KEYSET } from '../users/users-admin.queries.js';
import { auditLogQuery } from './audit-log.queries.js';

const placeholders = (text: string) => [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));

describe('auditLogQuery', () => {
  it('without filters: every entry, newest first, one row beyond the page', () => {
    const { text, values } = auditLogQuery({}, undefined, 50);

    expect(text).not.toMatch(/\bWHERE\b/);
    expect(text).toContain('FROM audit_entries');
    expect(text).toContain(NEWEST_FIRST_KEYSET);
    expect(text).toMatch(/ORDER BY created_at DESC, id DESC\s+LIMIT \$1$/);
    expect(values).toEqual([51]);
  });

  it('binds every filter and the keyset as parameters, joined with AND', () => {
    const actorId = randomUUID();
    const targetId = randomUUID();
    const after: Keyset = ['2026-11-22T09:00:00.123456Z', randomUUID()];

    const { text, values } = auditLogQuery({ actorId, targetId, action: 'user.role_changed' }, after, 20);

    expect(text).toMatch(/WHERE actor_id = \$1\s+AND target_id = \$2\s+AND action = \$3\s+AND \(created_at, id\) < \(\$4::timestamptz, \$5::uuid\)/);
    expect(text).toMatch(/LIMIT \$6$/);
    expect(values).toEqual([actorId, targetId, 'user.role_changed', after[0], after[1], 21]);
    expect(placeholders(text).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const value of [actorId, targetId, 'user.role_changed', ...after]) expect(text).not.toContain(value);
  });

  it('leaves out the filters that are not given', () => {
    const targetId = randomUUID();

    const { text, values } = auditLogQuery({ targetId }, undefined, 10);

    expect(text).toMatch(/WHERE target_id = \$1\n ORDER BY/);
    expect(text).not.toMatch(/actor_id =|action =|created_at, id\) </);
    expect(values).toEqual([targetId, 11]);
  });
});
