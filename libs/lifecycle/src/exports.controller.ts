import { Body, Controller, Get, HttpCode, Param, Post, StreamableFile } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Can, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { CreateExportDto, ExportDto, ExportParams, ExportQueuedDto, ExportTenantParams } from './exports.dto';
import { Exports } from './exports.service';

/** A tenant's data as its owner's: an archive of everything, written in the background. */
@ApiTags('exports')
@Controller('v1/tenants/:tenantId/exports')
@Guarded()
export class ExportsController {
  constructor(private readonly exports: Exports) {}

  @Post()
  @HttpCode(202)
  @Can('create', 'Export')
  @ApiAcceptedResponse({ type: ExportQueuedDto })
  create(
    @Ctx() ctx: RequestContext,
    @Param() _p: ExportTenantParams,
    @Body() body: CreateExportDto,
  ): Promise<ExportQueuedDto> {
    return this.exports.create(ctx, body);
  }

  @Get(':exportId')
  @Can('read', 'Export')
  @Redact('Export')
  @ApiOkResponse({ type: ExportDto })
  get(@Ctx() ctx: RequestContext, @Param() params: ExportParams): Promise<ExportDto> {
    return this.exports.get(ctx, params.exportId);
  }

  @Get(':exportId/download')
  @Can('download', 'Export')
  @ApiProduces('application/zip')
  @ApiOkResponse({ description: 'the archive: a zip of one file per table, media and manifest.json' })
  async download(@Ctx() ctx: RequestContext, @Param() params: ExportParams): Promise<StreamableFile> {
    const archive = await this.exports.download(ctx, params.exportId);
    return new StreamableFile(archive.body, {
      type: 'application/zip',
      length: archive.size,
      disposition: `attachment; filename="${archive.fileName}"`,
    });
  }
}
