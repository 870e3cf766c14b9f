import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

import type { UpdatePreferencesDto } from './dto/preferences.dto.js';
import { UserPreferencesEntity } from './user-preferences.entity.js';

const COLUMNS: Record<keyof UpdatePreferencesDto, string> = {
  emailNotifications: 'email_notifications',
  pushNotifications: 'push_notifications',
  smsNotifications: 'sms_notifications',
  marketingEmails: 'marketing_emails',
  language: 'language',
  timezone: 'timezone',
  pushToken: 'push_token',
};

function toEntity(row: Record<string, unknown>): UserPreferencesEntity {
  return Object.assign(new UserPreferencesEntity(), {
    userId: row.user_id,
    emailNotifications: row.email_notifications,
    pushNotifications: row.push_notifications,
    smsNotifications: row.sms_notifications,
    marketingEmails: row.marketing_emails,
    language: row.language,
    timezone: row.timezone,
    pushToken: row.push_token,
    updatedAt: row.updated_at,
  });
}

@Injectable()
export class PreferencesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The user's row (null: the defaults still apply), or undefined when there is no such user. */
  async findForUser(userId: string): Promise<UserPreferencesEntity | null | undefined> {
    const [row] = (await this.dataSource.query(
      'SELECT p.* FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id WHERE u.id = $1',
      [userId],
    )) as Record<string, unknown>[];
    if (!row) return undefined;
    return row.user_id ? toEntity(row) : null;
  }

  /** Creates the row with defaults where needed, applies the changes, returns the result (null: no such user). */
  async upsert(manager: EntityManager, userId: string, changes: UpdatePreferencesDto): Promise<UserPreferencesEntity | null> {
    const fields = (Object.keys(COLUMNS) as (keyof UpdatePreferencesDto)[]).filter((field) => changes[field] !== undefined);
    const columns = fields.map((field) => COLUMNS[field]);
    const values = fields.map((field) => changes[field]);
    const updates = columns.length ? columns.map((column) => `${column} = EXCLUDED.${column}`).join(', ') + ', ' : '';
    const rows = (await manager.query(
      `INSERT INTO user_preferences (user_id${columns.map((c) => `, ${c}`).join('')})
       SELECT id${columns.map((_, i) => `, $${i + 2}`).join('')} FROM users WHERE id = $1
       ON CONFLICT (user_id) DO UPDATE SET ${updates}updated_at = now()
       RETURNING *`,
      [userId, ...values],
    )) as Record<string, unknown>[];
    return rows[0] ? toEntity(rows[0]) : null;
  }
}
