import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { DatabaseHealth } from '@forecourt/database';
import { ObjectStore } from '@forecourt/storage';
import { problem, PROBLEM_CONTENT_TYPE } from '@forecourt/core';
import type { FastifyReply } from 'fastify';
import { ReadinessDto } from './readiness.dto';
import { WithoutPolicy } from '@forecourt/authz';

@ApiTags('operations')
@WithoutPolicy('liveness and readiness probes for load balancers and orchestrators')
@Controller('health')
export class HealthController {
  constructor(
    private readonly database: DatabaseHealth,
    private readonly storage: ObjectStore,
  ) {}

  /** The process is up. */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The database answers, its schema is current and object storage takes writes: ready for traffic. */
  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ description: 'problem+json with the failing checks' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessDto | object> {
    const [database, storage] = await Promise.all([this.database.readiness(), this.storage.readiness()]);
    const checks = { ...database, storage };
    if (checks.database === 'ok' && checks.migrations === 'current' && checks.storage === 'ok') {
      return { status: 'ready', checks };
    }
    void reply.status(503).header('content-type', PROBLEM_CONTENT_TYPE);
    const failing = Object.entries(checks)
      .filter(([, value]) => value !== 'ok' && value !== 'current')
      .map(([name, value]) => `${name}: ${value}`);
    return { ...problem(503, 'not-ready', `not ready (${failing.join(', ')})`, reply.request.id), checks };
  }
}
