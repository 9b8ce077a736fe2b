import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import { AuditCheckpoints, AuditLog, AuditSigningKey, PLATFORM_CHAIN } from '@forecourt/audit';
import {
  accessibleWhere,
  type AppAbility,
  Can,
  CurrentAbility,
  type RowColumns,
  WithoutPolicy,
} from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { CheckpointWitness } from './checkpoint-witness';
import { TenantError, TenantErrorCode } from './tenant-error';
import {
  AuditExportQueryDto,
  AuditKeysDto,
  AuditPageDto,
  AuditQueryDto,
  CheckpointDto,
  CheckpointListDto,
  CheckpointRequestDto,
  VerifyReportDto,
} from './audit.dto';
import { TenantParams } from './tenant.dto';
import { Guarded } from './guarded';

const CHECKPOINTS_LISTED = 100;
/** Where an audit event keeps the fields the matrix writes conditions on. */
const AUDIT_ROW: RowColumns = { tenantId: 'tenant_id', actorId: 'actor_id', storeId: 'store_id' };

/**
 * One chain's audit endpoints, the same for a tenant's chain and for the platform's: the two
 * controllers below differ only in where the chain comes from.
 */
@Injectable() // emits the constructor's parameter types, which the two controllers inherit
abstract class ChainEndpoints {
  constructor(
    private readonly log: AuditLog,
    private readonly checkpoints: AuditCheckpoints,
  ) {}

  protected abstract chainOf(ctx: RequestContext): string;

  /** The events the caller may read: all of the chain for an admin or owner, its own for support. */
  protected listEvents(
    ctx: RequestContext,
    ability: AppAbility,
    query: AuditQueryDto,
  ): Promise<AuditPageDto> {
    const visible = accessibleWhere(ability, 'read', 'AuditEvent', AUDIT_ROW, 8);
    return this.log.page(this.chainOf(ctx), query, query.limit ?? 50, query.cursor, visible);
  }

  protected verifyChain(ctx: RequestContext): Promise<VerifyReportDto> {
    return this.log.verify(this.chainOf(ctx));
  }

  protected async exportChain(ctx: RequestContext, query: AuditExportQueryDto): Promise<StreamableFile> {
    const format = query.format ?? 'jsonl';
    const lines = await this.log.export(ctx, this.chainOf(ctx), format);
    return new StreamableFile(Readable.from(lines), {
      type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      disposition: `attachment; filename="audit-${this.chainOf(ctx)}.${format}"`,
    });
  }

  protected async listCheckpoints(ctx: RequestContext): Promise<CheckpointListDto> {
    return { data: await this.checkpoints.list(this.chainOf(ctx), CHECKPOINTS_LISTED) };
  }

  /** Seals the chain and signs its head now (a no-op when the latest checkpoint covers it). */
  protected async signCheckpoint(ctx: RequestContext): Promise<CheckpointDto> {
    const checkpoint = await this.checkpoints.checkpoint(this.chainOf(ctx));
    if (!checkpoint)
      throw new TenantError(TenantErrorCode.NothingToCheckpoint, 'The audit trail has no events yet');
    return { ...checkpoint, mailedTo: 0 };
  }
}

/** A tenant's audit trail, for its dealer_admin. */
@ApiTags('audit')
@Controller('v1/tenants/:tenantId/audit-events')
@Guarded()
export class TenantAuditController extends ChainEndpoints {
  constructor(
    log: AuditLog,
    checkpoints: AuditCheckpoints,
    private readonly witness: CheckpointWitness,
  ) {
    super(log, checkpoints);
  }

  protected chainOf(ctx: RequestContext): string {
    return ctx.tenant!.tenantId;
  }

  @Get()
  @Can('read', 'AuditEvent')
  @ApiOkResponse({ type: AuditPageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: TenantParams,
    @Query() query: AuditQueryDto,
  ) {
    return this.listEvents(ctx, ability, query);
  }

  @Get('verify')
  @Can('verify', 'AuditEvent')
  @ApiOkResponse({ type: VerifyReportDto })
  verify(@Ctx() ctx: RequestContext, @Param() _p: TenantParams) {
    return this.verifyChain(ctx);
  }

  @Get('export')
  @Can('export', 'AuditEvent')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({ description: 'the whole chain: header, checkpoints, events (see docs/security/audit.md)' })
  export(@Ctx() ctx: RequestContext, @Param() _p: TenantParams, @Query() query: AuditExportQueryDto) {
    return this.exportChain(ctx, query);
  }

  @Get('checkpoints')
  @Can('verify', 'AuditEvent')
  @ApiOkResponse({ type: CheckpointListDto })
  checkpointList(@Ctx() ctx: RequestContext, @Param() _p: TenantParams) {
    return this.listCheckpoints(ctx);
  }

  @Post('checkpoints')
  @HttpCode(200)
  @Can('export', 'AuditEvent')
  @ApiOkResponse({ type: CheckpointDto, description: 'with `mail: true`, also mailed to every dealer_admin' })
  checkpoint(@Ctx() ctx: RequestContext, @Param() _p: TenantParams, @Body() body: CheckpointRequestDto) {
    return this.witness.sign(ctx, { mail: body.mail ?? false });
  }
}

/** The platform's own chain (what happened outside any tenant), for platform owners. */
@ApiTags('audit')
@Controller('v1/platform/audit-events')
@Guarded()
export class PlatformAuditController extends ChainEndpoints {
  protected chainOf(): string {
    return PLATFORM_CHAIN;
  }

  @Get()
  @Can('read', 'AuditEvent')
  @ApiOkResponse({ type: AuditPageDto })
  list(@Ctx() ctx: RequestContext, @CurrentAbility() ability: AppAbility, @Query() query: AuditQueryDto) {
    return this.listEvents(ctx, ability, query);
  }

  @Get('verify')
  @Can('verify', 'AuditEvent')
  @ApiOkResponse({ type: VerifyReportDto })
  verify(@Ctx() ctx: RequestContext) {
    return this.verifyChain(ctx);
  }

  @Get('export')
  @Can('export', 'AuditEvent')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({ description: 'the whole chain: header, checkpoints, events (see docs/security/audit.md)' })
  export(@Ctx() ctx: RequestContext, @Query() query: AuditExportQueryDto) {
    return this.exportChain(ctx, query);
  }

  @Get('checkpoints')
  @Can('verify', 'AuditEvent')
  @ApiOkResponse({ type: CheckpointListDto })
  checkpointList(@Ctx() ctx: RequestContext) {
    return this.listCheckpoints(ctx);
  }

  @Post('checkpoints')
  @HttpCode(200)
  @Can('export', 'AuditEvent')
  @ApiOkResponse({ type: CheckpointDto })
  checkpoint(@Ctx() ctx: RequestContext) {
    return this.signCheckpoint(ctx);
  }
}

/** The public keys that sign checkpoints: anyone may fetch them to verify offline. */
@ApiTags('audit')
@WithoutPolicy('public keys, so anyone can verify checkpoints offline')
@Controller('v1/audit/keys')
export class AuditKeysController {
  constructor(private readonly signingKey: AuditSigningKey) {}

  @Get()
  @ApiOkResponse({ type: AuditKeysDto })
  async keys(): Promise<AuditKeysDto> {
    return { keys: await this.signingKey.published() };
  }
}
