import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { Caller } from '../../core/auth/auth.decorators.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { CacheService } from '../../core/cache/cache.service.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import type { Keyset } from '../../core/http/cursors.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { AuditService, SYSTEM_ACTOR } from '../audit/audit.service.js';
import type { UserLookupResponse } from './dto/lookup-users.dto.js';
import type { UpdateProfileDto } from './dto/update-profile.dto.js';
import { toUserResponse, type UserResponse } from './dto/user.response.js';
import type { UserEntity, UserRole } from './user.entity.js';
import type { AdminUserFilter } from './users-admin.queries.js';
import { UserEvents } from './users.events.js';
import { type LiftedSuspension, type NewUser, UsersRepository, type UserStats, type UserWithPassword } from './users.repository.js';

const notFound = () => new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');

/** Profiles are read far more than written; a write invalidates, the TTL bounds any miss. */
const PROFILE_TTL_MS = 60_000;
// Lower-cased: a UUID written in capitals is the same user, and must hit the key that invalidation drops.
const profileKey = (id: string) => `user:${id.toLowerCase()}`;
const idOfProfileKey = (key: string) => key.slice('user:'.length);


@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Users');

  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly cache: CacheService,
    private readonly events: EventPublisher,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** ADMIN_EMAIL/ADMIN_PASSWORD: the first admin, created once, however many replicas start together. */
  async onApplicationBootstrap(): Promise<void> {
    const { email, password } = this.config.admin;
    if (!email || !password || (await this.users.existsByEmail(email))) return;
    const passwordHash = await this.hasher.hash(password);
    const created = await this.users.transaction(async (manager) => {
      const user = await this.users.insertIfAbsent(manager, {
        email,
        passwordHash,
        name: 'Administrator',
        role: 'admin',
        status: 'active',
        emailVerified: true,
      });
      if (user) await this.events.record(manager, UserEvents.created(toUserResponse(user)));
      return user;
    });
    if (created) this.logger.log('created the bootstrap admin account from ADMIN_EMAIL');
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.users.transaction(work);
  }

  /** Creates an account in the caller's transaction and records user.created. */
  async create(manager: EntityManager, user: NewUser): Promise<UserEntity> {
    const created = await this.users.insert(manager, user);
    await this.events.record(manager, UserEvents.created(toUserResponse(created)));
    return created;
  }

  findForPasswordCheck(where: { email: string } | { id: string }): Promise<UserWithPassword | null> {
    return this.users.findForPasswordCheck(where);
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findByEmail(email);
  }

  /** Same password, new hash (cost changed), in the caller's transaction: not a password change, so no event. */
  rehashPasswordWithin(manager: EntityManager, id: string, passwordHash: string): Promise<void> {
    return this.users.updatePasswordHash(manager, id, passwordHash);
  }

  /**
   * Sets a new password in the caller's transaction (unused reset links stop
   * working) and records user.password_changed; with `replacing`, only if that
   * is still the stored hash (false otherwise: someone changed it meanwhile).
   */
  async setPasswordWithin(manager: EntityManager, id: string, passwordHash: string, replacing?: string): Promise<boolean> {
    if (!(await this.users.replacePassword(manager, id, passwordHash, replacing))) return false;
    await this.events.record(manager, UserEvents.passwordChanged(id));
    return true;
  }

  /** A lapsed suspension ends at the next sign-in at the latest (and at the sweep's next pass). */
  async reactivate(id: string): Promise<void> {
    const lifted = await this.users.transaction((manager) => this.recordLifted(manager, this.users.liftLapsedSuspensions(manager, { userId: id })));
    await Promise.all(lifted.map(({ user }) => this.forget(user.id)));
  }

  /**
   * Lifts every lapsed suspension, in batches, on one replica at a time (the
   * holder of a transaction-scoped advisory lock; the others find it taken and
   * leave the work to it). Returns how many it lifted.
   */
  async liftLapsedSuspensions(batchSize = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const lifted = await this.users.transaction(async (manager) => {
        if (!(await this.users.tryLockSuspensionSweep(manager))) return [];
        return this.recordLifted(manager, this.users.liftLapsedSuspensions(manager, { limit: batchSize }));
      });
      await Promise.all(lifted.map(({ user }) => this.forget(user.id)));
      total += lifted.length;
      if (lifted.length < batchSize) return total;
    }
  }

  private async recordLifted(manager: EntityManager, lifting: Promise<LiftedSuspension[]>): Promise<LiftedSuspension[]> {
    const lifted = await lifting;
    for (const { user, reason, until } of lifted) {
      await this.events.record(manager, UserEvents.statusChanged(user.id, 'active', 'suspension ended', null));
      await this.audit.record(manager, {
        actor: SYSTEM_ACTOR,
        action: 'user.suspension_lifted',
        targetId: user.id,
        reason: 'suspension ended',
        before: { status: 'suspended', statusReason: reason, statusUntil: until.toISOString() },
        after: { status: 'active', statusReason: null, statusUntil: null },
      });
    }
    return lifted;
  }

  /** Sets the role in the caller's transaction and records user.role_changed; null if no such user. */
  async setRoleWithin(manager: EntityManager, id: string, role: UserRole): Promise<UserEntity | null> {
    const user = await this.users.update(manager, id, { role });
    if (user) await this.events.record(manager, UserEvents.roleChanged(id, role));
    return user;
  }

  /**
   * In the caller's transaction: waits for any other change to the set of
   * active admins, then counts the active admins other than `exceptId`.
   */
  async countOtherActiveAdminsWithin(manager: EntityManager, exceptId: string): Promise<number> {
    await this.users.lockAdminSet(manager);
    return this.users.countActiveAdmins(manager, exceptId);
  }

  searchForAdmin(filter: AdminUserFilter, after: Keyset | undefined, limit: number): Promise<{ users: UserEntity[]; next?: Keyset }> {
    return this.users.searchForAdmin(filter, after, limit);
  }

  /** Exact, from counters the database keeps: constant time however many users there are. */
  stats(): Promise<UserStats> {
    return this.users.countByStatusAndRole();
  }

  /** The user as stored (uncached), or null. */
  findById(id: string): Promise<UserEntity | null> {
    return this.users.findById(id);
  }

  /** Locks the user's row in the caller's transaction and returns it (null: no such user). */
  lockWithin(manager: EntityManager, id: string): Promise<UserEntity | null> {
    return this.users.lock(manager, id);
  }

  /** Marks the email verified in the caller's transaction; false if it already was. */
  async markEmailVerifiedWithin(manager: EntityManager, id: string): Promise<boolean> {
    const user = await this.users.lock(manager, id);
    if (!user || user.emailVerified) return false;
    await this.users.update(manager, id, { email_verified: true });
    return true;
  }

  /** Sets a status in the caller's transaction and records user.status_changed; null if no such user. */
  async setStatusWithin(
    manager: EntityManager,
    id: string,
    status: UserEntity['status'],
    reason: string | null,
    until: Date | null,
  ): Promise<UserEntity | null> {
    const user = await this.users.update(manager, id, { status, status_reason: reason, status_until: until });
    if (user) await this.events.record(manager, UserEvents.statusChanged(id, status, reason, until));
    return user;
  }

  /** Drops the cached profile; call after every committed change to a user. */
  forget(id: string): Promise<void> {
    return this.cache.invalidate(profileKey(id));
  }

  /** The user's profile, or null: cached, for the user's own routes and for other services alike. */
  findProfile(id: string): Promise<UserResponse | null> {
    return this.cache.read(profileKey(id), PROFILE_TTL_MS, async () => {
      const entity = await this.users.findById(id);
      return entity ? toUserResponse(entity) : null;
    });
  }

  async getProfile(id: string): Promise<UserResponse> {
    const user = await this.findProfile(id);
    if (!user) throw notFound();
    return user;
  }

  /** The profiles of the users that exist, in the order asked (duplicates too): cached ones from the cache, the rest in one query. */
  async findProfiles(ids: string[]): Promise<UserResponse[]> {
    const profiles = await this.cache.readMany(ids.map(profileKey), PROFILE_TTL_MS, async (keys) => {
      const users = await this.users.findByIds(keys.map(idOfProfileKey));
      return new Map(users.map((user) => [profileKey(user.id), toUserResponse(user)]));
    });
    return profiles.filter((profile): profile is UserResponse => profile !== undefined);
  }

  /** POST /users/lookup: the users found, in request order. */
  async lookup(ids: string[]): Promise<UserLookupResponse> {
    return { data: await this.findProfiles(ids) };
  }

  /**
   * Users see themselves, admins and services (an API key, its users:read scope checked by the guard) see
   * anyone; everyone else gets the same 404 as for a missing id.
   */
  async getVisibleTo(viewer: Caller, id: string): Promise<UserResponse> {
    if ('userId' in viewer && viewer.userId !== id && viewer.role !== 'admin') throw notFound();
    return this.getProfile(id);
  }

  async updateProfile(id: string, changes: UpdateProfileDto): Promise<UserResponse> {
    const updated = await this.users.transaction(async (manager) => {
      const current = await this.users.lock(manager, id);
      if (!current) throw notFound();
      const changed = (['name', 'mobile'] as const).filter(
        (field) => changes[field] !== undefined && changes[field] !== current[field],
      );
      if (changed.length === 0) return toUserResponse(current);
      const user = toUserResponse(
        (await this.users.update(manager, id, Object.fromEntries(changed.map((field) => [field, changes[field]]))))!,
      );
      await this.events.record(manager, UserEvents.updated(user, changed));
      return user;
    });
    await this.forget(id);
    return updated;
  }
}
