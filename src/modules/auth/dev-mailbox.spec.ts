import type { DataSource, EntityManager, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';

import { loadConfig } from '../../core/config/config.js';
import { DevMailbox } from './dev-mailbox.js';

const mail = { to: 'ann@example.com', subject: 'Verify your email', route: '/auth/verify-email', body: { token: 'tkn' } };

function setUp(env: Record<string, string>) {
  const dataSource = { subscribers: [] as unknown[] } as unknown as DataSource;
  const mailbox = new DevMailbox(dataSource, loadConfig(env));
  const queryRunner = { data: {} };
  const manager = { queryRunner } as unknown as EntityManager;
  const printed: string[] = [];
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
  return { dataSource, mailbox, manager, event: { queryRunner } as unknown as TransactionCommitEvent & TransactionRollbackEvent, printed };
}

describe('DevMailbox', () => {
  afterEach(() => jest.restoreAllMocks());

  it('prints a mail once its transaction commits, as a command for the API', () => {
    const { dataSource, mailbox, manager, event, printed } = setUp({ PORT: '4100' });
    expect(dataSource.subscribers).toContain(mailbox);
    mailbox.send(manager, mail);
    expect(printed).toEqual([]);
    mailbox.afterTransactionCommit(event);
    expect(printed).toEqual([
      "[mail to ann@example.com] Verify your email (PRINT_MAIL, development only):\n" +
        "  curl -si -X POST http://localhost:4100/api/v1/auth/verify-email -H 'Content-Type: application/json' -d '{\"token\":\"tkn\"}'",
    ]);
    mailbox.afterTransactionCommit(event);
    expect(printed).toHaveLength(1);
  });

  it('never prints the token of a rolled-back transaction', () => {
    const { mailbox, manager, event, printed } = setUp({});
    mailbox.send(manager, mail);
    mailbox.afterTransactionRollback(event);
    mailbox.afterTransactionCommit(event);
    expect(printed).toEqual([]);
  });

  it('does nothing, and subscribes to nothing, without PRINT_MAIL', () => {
    const { dataSource, mailbox, manager, event, printed } = setUp({ NODE_ENV: 'test' });
    expect(dataSource.subscribers).toEqual([]);
    mailbox.send(manager, mail);
    mailbox.afterTransactionCommit(event);
    expect(printed).toEqual([]);
  });
});
