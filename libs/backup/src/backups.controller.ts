import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { SessionGuard } from '@forecourt/auth';
import { AccessGuard, Can, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { BackupListDto, StartedBackupDto } from './backups.dto';
import { PlatformBackups } from './platform-backups';

/** The platform's backups: a platform owner starts one; the owner and support see how they went. */
@ApiTags('platform')
@ApiBearerAuth()
@Controller('v1/platform/backups')
@UseGuards(SessionGuard, AccessGuard)
export class BackupsController {
  constructor(private readonly backups: PlatformBackups) {}

  @Post()
  @HttpCode(202)
  @Can('create', 'Backup')
  @ApiAcceptedResponse({ type: StartedBackupDto, description: 'started; 409 while another backup runs' })
  start(@Ctx() ctx: RequestContext): Promise<StartedBackupDto> {
    return this.backups.start(ctx);
  }

  @Get()
  @Can('read', 'Backup')
  @Redact('Backup')
  @ApiOkResponse({ type: BackupListDto })
  async list(): Promise<BackupListDto> {
    return { data: await this.backups.list() };
  }
}
