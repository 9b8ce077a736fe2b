import { Controller, Get, HttpCode, Optional, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { DatabaseHealth } from '@forecourt/database';
import { ObjectStore } from '@forecourt/storage';
import { BackupStatus, problem, PROBLEM_CONTENT_TYPE } from '@forecourt/core';
import type { FastifyReply } from 'fastify';
import { ReadinessDto } from './readiness.dto';
import { WithoutPolicy } from '@forecourt/authz';

/** The last verified backup may be this old before readiness reports `degraded` (a day and a margin). */
const BACKUP_STALE_AFTER_MS = 26 * 3_600_000;

type BackupCheck = 'ok' | 'stale' | 'none' | 'unknown';

@ApiTags('operations')
@WithoutPolicy('liveness and readiness probes for load balancers and orchestrators')
@Controller('health')
export class HealthController {
  constructor(
    private readonly database: DatabaseHealth,
    private readonly storage: ObjectStore,
    @Optional() private readonly backups?: BackupStatus,
  ) {}

  /** The process is up. */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * The database answers, its schema is current and object storage takes writes: ready for traffic
   * (else 503). Still 200 but `degraded` when no backup has passed its restore test in the last
   * 26 hours (`backup`: `stale`, `none`, or `unknown` when the records cannot be read): an operator's
   * problem, not a reason to take the instance out of the balancer.
   */
  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ description: 'problem+json with the failing checks' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessDto | object> {
    const [database, storage, backup] = await Promise.all([
      this.database.readiness(),
      this.storage.readiness(),
      this.backupCheck(),
    ]);
    const checks = { ...database, storage, ...(backup ? { backup } : {}) };
    if (checks.database === 'ok' && checks.migrations === 'current' && checks.storage === 'ok') {
      return { status: !backup || backup === 'ok' ? 'ready' : 'degraded', checks };
    }
    void reply.status(503).header('content-type', PROBLEM_CONTENT_TYPE);
    const failing = Object.entries(checks)
      .filter(([name, value]) => name !== 'backup' && value !== 'ok' && value !== 'current')
      .map(([name, value]) => `${name}: ${value}`);
    return { ...problem(503, 'not-ready', `not ready (${failing.join(', ')})`, reply.request.id), checks };
  }

  private async backupCheck(): Promise<BackupCheck | undefined> {
    if (!this.backups) return undefined;
    const summary = await this.backups.summary().catch(() => null);
    if (!summary) return 'unknown';
    if (!summary.lastVerifiedAt) return 'none';
    return Date.now() - summary.lastVerifiedAt.getTime() > BACKUP_STALE_AFTER_MS ? 'stale' : 'ok';
  }
}
