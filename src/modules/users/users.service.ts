import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import type { UpdateProfileDto } from './dto/update-profile.dto.js';
import { toUserResponse, type UserResponse } from './dto/user.response.js';
import type { UserEntity } from './user.entity.js';
import { type NewUser, UsersRepository, type UserWithPassword } from './users.repository.js';

const notFound = () => new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');

@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Users');

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** ADMIN_EMAIL/ADMIN_PASSWORD: the first admin, created once, however many replicas start together. */
  async onApplicationBootstrap(): Promise<void> {
    const { email, password } = this.config.admin;
    if (!email || !password || (await this.users.existsByEmail(email))) return;
    const created = await this.users.insertIfAbsent({
      email,
      passwordHash: await this.hasher.hash(password),
      name: 'Administrator',
      role: 'admin',
      status: 'active',
      emailVerified: true,
    });
    if (created) this.logger.log('created the bootstrap admin account from ADMIN_EMAIL');
  }

  create(manager: EntityManager, user: NewUser): Promise<UserEntity> {
    return this.users.insert(manager, user);
  }

  findForPasswordCheck(where: { email: string } | { id: string }): Promise<UserWithPassword | null> {
    return this.users.findForPasswordCheck(where);
  }

  updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    return this.users.updatePasswordHash(id, passwordHash);
  }

  /** A lapsed suspension ends at the next sign-in. */
  reactivate(id: string): Promise<void> {
    return this.users.updateStatus(id, 'active');
  }

  async getProfile(id: string): Promise<UserResponse> {
    const user = await this.users.findById(id);
    if (!user) throw notFound();
    return toUserResponse(user);
  }

  /** Users see themselves, admins see anyone; everyone else gets the same 404 as for a missing id. */
  async getVisibleTo(viewer: AuthUser, id: string): Promise<UserResponse> {
    if (viewer.userId !== id && viewer.role !== 'admin') throw notFound();
    return this.getProfile(id);
  }

  async updateProfile(id: string, changes: UpdateProfileDto): Promise<UserResponse> {
    const user =
      changes.name === undefined && changes.mobile === undefined
        ? await this.users.findById(id)
        : await this.users.updateProfile(id, changes);
    if (!user) throw notFound();
    return toUserResponse(user);
  }
}
