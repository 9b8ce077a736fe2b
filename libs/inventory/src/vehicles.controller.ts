import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { ApiConsumes, ApiCreatedResponse, ApiFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppAbility, Can, CurrentAbility, WithoutPolicy } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { uploadOf } from './media-upload';
import { type MediaDownload, VehicleMedia } from './vehicle-media.service';
import {
  CreateVehicleDto,
  InventoryParams,
  MediaDeliveryDto,
  MediaLinkDto,
  MediaLinkParams,
  MediaParams,
  PatchVehicleDto,
  VehicleDetailDto,
  VehicleDto,
  VehicleMediaDto,
  VehicleMediaListDto,
  VehiclePageDto,
  VehicleParams,
  VehicleQueryDto,
} from './vehicle.dto';
import { Vehicles } from './vehicles.service';

/** The bytes of a medium, decrypted as they stream; never shown inline (a PDF could carry script). */
function streamed(download: MediaDownload): StreamableFile {
  return new StreamableFile(download.body, {
    type: download.contentType,
    length: download.size,
    disposition: `attachment; filename="${download.fileName}"`,
  });
}

/** A tenant's vehicles and their media, within the caller's stores. */
@ApiTags('inventory')
@Controller('v1/tenants/:tenantId/vehicles')
@Guarded()
export class VehiclesController {
  constructor(
    private readonly vehicles: Vehicles,
    private readonly media: VehicleMedia,
  ) {}

  @Post()
  @Can('create', 'Vehicle')
  @ApiCreatedResponse({ type: VehicleDto })
  create(
    @Ctx() ctx: RequestContext,
    @Param() _p: InventoryParams,
    @Body() body: CreateVehicleDto,
  ): Promise<VehicleDto> {
    return this.vehicles.create(ctx, body);
  }

  @Get()
  @Can('read', 'Vehicle')
  @ApiOkResponse({ type: VehiclePageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: InventoryParams,
    @Query() query: VehicleQueryDto,
  ): Promise<VehiclePageDto> {
    return this.vehicles.list(ctx, ability, query);
  }

  @Get(':vehicleId')
  @Can('read', 'Vehicle')
  @ApiOkResponse({ type: VehicleDetailDto })
  get(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: VehicleParams,
  ): Promise<VehicleDetailDto> {
    return this.vehicles.get(ctx, ability, params.vehicleId);
  }

  @Patch(':vehicleId')
  @Can('update', 'Vehicle')
  @ApiOkResponse({ type: VehicleDto })
  update(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: VehicleParams,
    @Body() body: PatchVehicleDto,
  ): Promise<VehicleDto> {
    return this.vehicles.update(ctx, ability, params.vehicleId, body);
  }

  @Delete(':vehicleId')
  @Can('delete', 'Vehicle')
  @HttpCode(204)
  async remove(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: VehicleParams,
  ): Promise<void> {
    await this.vehicles.remove(ctx, ability, params.vehicleId);
  }

  @Post(':vehicleId/media')
  @Can('create', 'VehicleMedia')
  @ApiConsumes('multipart/form-data')
  @ApiCreatedResponse({ type: VehicleMediaDto })
  async upload(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: VehicleParams,
    @Req() request: FastifyRequest,
  ): Promise<VehicleMediaDto> {
    const upload = await uploadOf(request, this.media.maxBytes);
    return this.media.upload(ctx, ability, params.vehicleId, upload);
  }

  @Get(':vehicleId/media')
  @Can('read', 'VehicleMedia')
  @ApiOkResponse({ type: VehicleMediaListDto })
  async listMedia(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: VehicleParams,
  ): Promise<VehicleMediaListDto> {
    return { data: await this.media.list(ctx, ability, params.vehicleId) };
  }

  @Get(':vehicleId/media/:mediaId')
  @Can('read', 'VehicleMedia')
  @ApiOkResponse({ description: 'the bytes, decrypted' })
  @ApiFoundResponse({ type: MediaLinkDto, description: 'with ?delivery=link: Location is a signed link' })
  async download(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: MediaParams,
    @Query() query: MediaDeliveryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile | MediaLinkDto> {
    if (query.delivery === 'link') {
      const link = await this.media.link(ctx, ability, params.vehicleId, params.mediaId);
      void reply.status(302).header('location', link.url);
      return link;
    }
    return streamed(await this.media.download(ctx, ability, params.vehicleId, params.mediaId));
  }

  @Delete(':vehicleId/media/:mediaId')
  @Can('delete', 'VehicleMedia')
  @HttpCode(204)
  async removeMedia(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: MediaParams,
  ): Promise<void> {
    await this.media.remove(ctx, ability, params.vehicleId, params.mediaId);
  }
}

/** Signed media links: the link itself is the credential, for a few minutes. */
@ApiTags('inventory')
@WithoutPolicy('a signed, expiring link to one medium is the credential; the download is audited')
@Controller('v1/media-links')
export class MediaLinksController {
  constructor(private readonly media: VehicleMedia) {}

  @Get(':token')
  @ApiOkResponse({ description: 'the bytes, decrypted' })
  async download(@Ctx() ctx: RequestContext, @Param() params: MediaLinkParams): Promise<StreamableFile> {
    return streamed(await this.media.downloadByLink(ctx, params.token));
  }
}
