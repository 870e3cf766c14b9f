import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';

import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { UserEntity, type UserRole, type UserStatus } from './user.entity.js';

export interface NewUser {
  email: string;
  passwordHash: string;
  name: string;
  mobile?: string | null;
  role?: UserRole;
  status?: UserStatus;
  emailVerified?: boolean;
}

export type UserWithPassword = UserEntity & { passwordHash: string };

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = (error as QueryFailedError & { driverError?: { code?: string; constraint?: string } }).driverError;
  return error instanceof QueryFailedError && driverError?.code === '23505' && driverError.constraint === constraint;
}

/** RETURNING * gives column names; map them back onto the entity's properties. */
function toUser(row: Record<string, unknown>): UserEntity {
  return Object.assign(new UserEntity(), {
    id: row.id,
    email: row.email,
    name: row.name,
    mobile: row.mobile,
    role: row.role,
    status: row.status,
    statusReason: row.status_reason,
    statusUntil: row.status_until,
    emailVerified: row.email_verified,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.users.manager.transaction(work);
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ email });
  }

  /** The one query that loads a password hash. */
  findForPasswordCheck(where: { email: string } | { id: string }): Promise<UserWithPassword | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('email' in where ? 'user.email = :email' : 'user.id = :id', where)
      .getOne() as Promise<UserWithPassword | null>;
  }

  async lock(manager: EntityManager, id: string): Promise<UserEntity | null> {
    const [row] = (await manager.query('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id])) as Record<string, unknown>[];
    return row ? toUser(row) : null;
  }

  async insert(manager: EntityManager, user: NewUser): Promise<UserEntity> {
    try {
      const result = await manager
        .createQueryBuilder()
        .insert()
        .into(UserEntity)
        .values({ mobile: null, ...user })
        .returning('*')
        .execute();
      return toUser((result.raw as Record<string, unknown>[])[0]);
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) {
        throw new AppError(ErrorCode.EMAIL_TAKEN, 409, 'An account with this email already exists.');
      }
      throw error;
    }
  }

  /** Inserts unless the email exists; safe when many replicas do it at once. Returns the new row, if any. */
  async insertIfAbsent(manager: EntityManager, user: NewUser): Promise<UserEntity | null> {
    const result = await manager.createQueryBuilder().insert().into(UserEntity).values(user).orIgnore().returning('*').execute();
    const [row] = result.raw as Record<string, unknown>[];
    return row ? toUser(row) : null;
  }

  existsByEmail(email: string): Promise<boolean> {
    return this.users.existsBy({ email });
  }

  /** Applies the given columns (snake_case) and returns the updated row. */
  async update(manager: EntityManager, id: string, columns: Record<string, unknown>): Promise<UserEntity | null> {
    const names = Object.keys(columns);
    const [rows] = (await manager.query(
      `UPDATE users SET ${names.map((name, i) => `${name} = $${i + 2}`).join(', ')}, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id, ...names.map((name) => columns[name])],
    )) as [Record<string, unknown>[], number];
    return rows[0] ? toUser(rows[0]) : null;
  }

  async updatePasswordHash(id: string, passwordHash: string, manager: EntityManager = this.users.manager): Promise<void> {
    await manager.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
  }
}
