import { query } from './test-app.js';

export interface OutboxRow {
  name: string;
  payload: Record<string, unknown> & { eventId: string; correlationId: string | null };
  published_at: Date | null;
}

/** Events recorded for a user (oldest first), optionally of one name. */
export function outboxEvents(databaseUrl: string, userId: string, name?: string): Promise<OutboxRow[]> {
  return query<OutboxRow>(
    databaseUrl,
    `SELECT name, payload, published_at FROM outbox_events
      WHERE aggregate_id = $1 AND ($2::text IS NULL OR name = $2) ORDER BY id`,
    [userId, name ?? null],
  );
}

/** The token mailed in the latest event of that name (read before the relay strips it). */
export async function mailedToken(databaseUrl: string, userId: string, name: string): Promise<string> {
  const events = await outboxEvents(databaseUrl, userId, name);
  const token = events.at(-1)?.payload.token;
  if (typeof token !== 'string') throw new Error(`no ${name} token for ${userId}`);
  return token;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
