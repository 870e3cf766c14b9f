import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager, EntitySubscriberInterface, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';

import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';

export interface DevMail {
  to: string;
  subject: string;
  /** The request that finishes what the mail asks for. */
  route: string;
  body: Record<string, string>;
}

const PENDING = 'devMailbox.pending';

/**
 * Locally there is no mailer, so the tokens of verification and reset mails
 * would only exist in stored events. With PRINT_MAIL (on in development,
 * refused in production) each mail is printed as the command that finishes it,
 * once the transaction that issued its token has committed.
 */
@Injectable()
export class DevMailbox implements EntitySubscriberInterface {
  private readonly enabled: boolean;
  private readonly baseUrl: string;

  constructor(@InjectDataSource() dataSource: DataSource, @Inject(APP_CONFIG) config: AppConfig) {
    this.enabled = config.tokens.printMail;
    this.baseUrl = `http://localhost:${config.port}/api/v1`;
    if (this.enabled) dataSource.subscribers.push(this);
  }

  /** Held on the transaction's query runner until it commits (a rolled-back token is never shown). */
  send(manager: EntityManager, mail: DevMail): void {
    if (!this.enabled) return;
    const data = manager.queryRunner?.data as Record<string, DevMail[] | undefined> | undefined;
    if (!data) return this.print(mail);
    (data[PENDING] ??= []).push(mail);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const data = event.queryRunner.data as Record<string, DevMail[] | undefined>;
    for (const mail of data[PENDING] ?? []) this.print(mail);
    delete data[PENDING];
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    delete (event.queryRunner.data as Record<string, unknown>)[PENDING];
  }

  private print(mail: DevMail): void {
    const command = `curl -si -X POST ${this.baseUrl}${mail.route} -H 'Content-Type: application/json' -d '${JSON.stringify(mail.body)}'`;
    console.log(`[mail to ${mail.to}] ${mail.subject} (PRINT_MAIL, development only):\n  ${command}`);
  }
}
