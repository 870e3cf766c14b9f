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

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  /** The one query that loads a password hash. */
  findForPasswordCheck(where: { email: string } | { id: string }): Promise<UserWithPassword | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('email' in where ? 'user.email = :email' : 'user.id = :id', where)
      .getOne() as Promise<UserWithPassword | null>;
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
      return manager.create(UserEntity, mapRow((result.raw as Record<string, unknown>[])[0]));
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) {
        throw new AppError(ErrorCode.EMAIL_TAKEN, 409, 'An account with this email already exists.');
      }
      throw error;
    }
  }

  /** Inserts unless the email exists; safe when many replicas do it at once. */
  async insertIfAbsent(user: NewUser): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .insert()
      .into(UserEntity)
      .values(user)
      .orIgnore()
      .returning('id')
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  existsByEmail(email: string): Promise<boolean> {
    return this.users.existsBy({ email });
  }

  async updateProfile(id: string, changes: Partial<Pick<UserEntity, 'name' | 'mobile'>>): Promise<UserEntity | null> {
    const result = await this.users
      .createQueryBuilder()
      .update(UserEntity)
      .set({ ...changes, updatedAt: () => 'now()' })
      .where('id = :id', { id })
      .returning('*')
      .execute();
    const [row] = result.raw as Record<string, unknown>[];
    return row ? this.users.create(mapRow(row)) : null;
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.users.update({ id }, { passwordHash });
  }

  async updateStatus(id: string, status: UserStatus): Promise<void> {
    await this.users.update({ id }, { status, statusReason: null, statusUntil: null });
  }
}

/** RETURNING * gives column names; map them back onto the entity's properties. */
function mapRow(row: Record<string, unknown>): Partial<UserEntity> {
  return {
    id: row.id as string,
    email: row.email as string,
    name: row.name as string,
    mobile: row.mobile as string | null,
    role: row.role as UserRole,
    status: row.status as UserStatus,
    statusReason: row.status_reason as string | null,
    statusUntil: row.status_until as Date | null,
    emailVerified: row.email_verified as boolean,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}
