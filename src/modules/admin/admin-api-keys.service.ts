import { Injectable } from '@nestjs/common';

import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { Cursors } from '../../core/http/cursors.js';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import { type AuditActor, AuditService } from '../audit/audit.service.js';
import { NEWEST_FIRST } from '../users/users-admin.queries.js';
import type { ApiKeyListQuery, CreateApiKeyDto } from './dto/api-keys.dto.js';
import { type ApiKeyPage, type CreatedApiKeyResponse, toApiKeyResponse, toCreatedApiKeyResponse } from './dto/api-keys.response.js';

const notFound = () => new AppError(ErrorCode.API_KEY_NOT_FOUND, 404, 'No such API key.');
const LIST_SCOPE = 'admin-api-keys';

/**
 * The administration of service API keys (HTTP and CLI): each creation and
 * revocation in one transaction with its audit entry. Apart from
 * AdminService, which is about users.
 */
@Injectable()
export class AdminApiKeysService {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly cursors: Cursors,
  ) {}

  /** A new key; the answer is the only place the whole key ever appears. */
  async create(actor: AuditActor, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    const expiresAt = dto.expiresAt === undefined ? null : new Date(dto.expiresAt);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The request has invalid fields.', [{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    const created = await this.apiKeys.transaction(async (manager) => {
      const made = await this.apiKeys.createWithin(manager, {
        name: dto.name,
        scopes: dto.scopes,
        expiresAt,
        createdBy: actor.type === 'user' ? actor.id : null,
      });
      const { apiKey } = made;
      await this.audit.record(manager, {
        actor,
        action: 'api_key.created',
        targetId: apiKey.id,
        after: { name: apiKey.name, scopes: apiKey.scopes, prefix: apiKey.prefix, expiresAt: apiKey.expiresAt?.toISOString() ?? null },
      });
      return made;
    });
    return toCreatedApiKeyResponse(created.apiKey, created.key);
  }

  async list(query: ApiKeyListQuery): Promise<ApiKeyPage> {
    const { limit, cursor } = query;
    const { keys, next } = await this.apiKeys.list(this.cursors.decode(LIST_SCOPE, NEWEST_FIRST, cursor), limit);
    return { data: keys.map(toApiKeyResponse), meta: { limit, nextCursor: next ? this.cursors.encode(LIST_SCOPE, next) : null } };
  }

  /** Revokes a key; once this resolves, every replica refuses it. Revoking a revoked key changes (and audits) nothing. */
  async revoke(actor: AuditActor, id: string): Promise<void> {
    const revoked = await this.apiKeys.transaction(async (manager) => {
      const result = await this.apiKeys.revokeWithin(manager, id);
      if (!result) throw notFound();
      if (result.revokedNow) {
        await this.audit.record(manager, {
          actor,
          action: 'api_key.revoked',
          targetId: id,
          before: { revokedAt: null },
          after: { name: result.apiKey.name, prefix: result.apiKey.prefix, revokedAt: result.apiKey.revokedAt!.toISOString() },
        });
      }
      return result;
    });
    // Also for a key revoked before: its mark may be what did not reach Redis then.
    await revoked.refuseEverywhere();
  }
}
