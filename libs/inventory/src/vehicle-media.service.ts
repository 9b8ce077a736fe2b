import { Inject, Injectable, Logger } from '@nestjs/common';
import { pipeline, type Readable } from 'node:stream';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import { type AppAbility, RowPolicy } from '@forecourt/authz';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { newId, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction } from '@forecourt/database';
import { ObjectDeletions, objectKeyOf, ObjectStore } from '@forecourt/storage';
import { InventoryError, InventoryErrorCode } from './inventory-error';
import { MediaLinks } from './media-links';
import { contentTypeCheck, mediaKindOf, type MediaType, unsupportedType } from './media-type';
import type { MediaLinkDto, VehicleMediaDto } from './vehicle.dto';

export const MEDIA_COLUMNS = `vm.id, vm.vehicle_id as "vehicleId", vm.kind, vm.content_type as "contentType",
  vm.size::float8 as size, encode(vm.sha256, 'hex') as sha256, vm.file_name as "fileName",
  ${isoTimestampSql('vm.created_at')} as "createdAt"`;

/** Enough for a full photo set and its paperwork; a bound on what one vehicle can pile up. */
export const MAX_MEDIA_PER_VEHICLE = 100;

const EXTENSIONS: Record<MediaType, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/heic': 'heic',
  'application/pdf': 'pdf',
};

/** A file as it arrives: its bytes (not yet read) and the name the client gave it. */
export interface MediaUpload {
  file: Readable;
  fileName: string | null;
}

/** A medium on its way out: decrypted bytes, authenticated chunk by chunk as they stream. */
export interface MediaDownload {
  body: Readable;
  contentType: string;
  size: number;
  fileName: string;
}

interface MediaRow extends VehicleMediaDto {
  storeId: string;
  objectKey: string;
}

/**
 * Photos and documents of a vehicle. Their bytes are encrypted under the tenant's key by the
 * object store; their rows (type, size, SHA-256, object key) live with the vehicle, in its store.
 * An object's key is reserved for deletion before it is written and claimed with its row, so an
 * object no row owns does not outlive a failed or cut-off upload (see `ObjectDeletions`).
 * Uploads and downloads are audited; a download's event is durable before the first byte leaves.
 */
@Injectable()
export class VehicleMedia {
  private readonly log = new Logger(VehicleMedia.name);

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
    private readonly objects: ObjectStore,
    private readonly deletions: ObjectDeletions,
    private readonly links: MediaLinks,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Largest accepted upload, in bytes. */
  get maxBytes(): number {
    return this.config.mediaMaxBytes;
  }

  /**
   * Streams the upload into encrypted storage — its type proven by its first bytes, its size
   * bounded — then records it. A refused or broken upload leaves neither an object nor a row.
   */
  async upload(
    ctx: RequestContext,
    ability: AppAbility,
    vehicleId: string,
    upload: MediaUpload,
  ): Promise<VehicleMediaDto> {
    const scope = tenantScopeOf(ctx);
    const tenantId = scope.tenantId;
    const { rows } = await this.transactions.statement<{ storeId: string; media: number }>(
      scope,
      `select v.store_id as "storeId",
          (select count(*)::int from vehicle_media vm where vm.tenant_id = v.tenant_id and vm.vehicle_id = v.id) as media
        from vehicles v where v.tenant_id = $1 and v.id = $2`,
      [tenantId, vehicleId],
    );
    const vehicle = rows[0];
    if (!vehicle) throw vehicleNotFound();
    await this.rows.assert(ctx, ability, 'create', 'VehicleMedia', { tenantId, storeId: vehicle.storeId });
    if (vehicle.media >= MAX_MEDIA_PER_VEHICLE) {
      throw new InventoryError(
        InventoryErrorCode.TooManyMedia,
        `A vehicle holds at most ${MAX_MEDIA_PER_VEHICLE} photos and documents`,
      );
    }

    const mediaId = newId();
    const path = `vehicles/${vehicleId}/media/${mediaId}`;
    let type: MediaType | null = null;
    const sniffed = pipeline(
      upload.file,
      contentTypeCheck((found) => (type = found)),
      () => undefined,
    );
    const objectKey = objectKeyOf({ tenantId }, path);
    await this.deletions.reserve(tenantId, objectKey);
    const stored = await this.objects.put({ tenantId }, path, sniffed).catch(async (error: unknown) => {
      await this.deletions.carryOut(tenantId, [objectKey]);
      throw error;
    });
    const contentType = type as MediaType | null;
    if (!contentType) {
      // Unreachable while the type check fails every stream it cannot type; kept so it stays so.
      await this.deletions.carryOut(tenantId, [stored.key]);
      throw unsupportedType();
    }

    try {
      return await this.transactions.run(scope, async (tx) => {
        const inserted = await tx.query<VehicleMediaDto>(
          `insert into vehicle_media as vm (tenant_id, id, vehicle_id, store_id, object_key, kind, content_type, size,
             sha256, file_name, uploaded_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, decode($9, 'hex'), $10, $11) returning ${MEDIA_COLUMNS}`,
          [
            tenantId,
            mediaId,
            vehicleId,
            vehicle.storeId,
            stored.key,
            mediaKindOf(contentType),
            contentType,
            stored.size,
            stored.sha256,
            cleanFileName(upload.fileName),
            ctx.principal?.userId ?? null,
          ],
        );
        await this.deletions.claim(tx, stored.key);
        await this.audit.append(tx, ctx, {
          action: 'vehicle_media.upload',
          subjectType: 'VehicleMedia',
          subjectId: mediaId,
          subjectIds: [vehicleId],
          storeId: vehicle.storeId,
        });
        return inserted.rows[0]!;
      });
    } catch (error) {
      // The row could not be written (the vehicle was deleted or moved meanwhile): drop the bytes.
      await this.deletions.carryOut(tenantId, [stored.key]);
      if (error instanceof DatabaseError && error.code === '23503') throw vehicleNotFound();
      throw error;
    }
  }

  async list(ctx: RequestContext, ability: AppAbility, vehicleId: string): Promise<VehicleMediaDto[]> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<VehicleMediaDto & { storeId: string }>(
      scope,
      `select v.store_id as "storeId", m.* from vehicles v
         left join lateral (select ${MEDIA_COLUMNS} from vehicle_media vm
                             where vm.tenant_id = v.tenant_id and vm.vehicle_id = v.id) m on true
        where v.tenant_id = $1 and v.id = $2
        order by m."createdAt", m.id`,
      [scope.tenantId, vehicleId],
    );
    if (!rows[0]) throw vehicleNotFound();
    await this.rows.assert(ctx, ability, 'read', 'VehicleMedia', {
      tenantId: scope.tenantId,
      storeId: rows[0].storeId,
    });
    return rows.filter((row) => row.id !== null).map(({ storeId: _store, ...medium }) => medium);
  }

  /** The medium's bytes, through the API, for a caller who may read it. */
  async download(
    ctx: RequestContext,
    ability: AppAbility,
    vehicleId: string,
    mediaId: string,
  ): Promise<MediaDownload> {
    const medium = await this.medium(ctx, ability, 'read', vehicleId, mediaId);
    await this.audit.record(ctx, tenantScopeOf(ctx).tenantId, {
      action: 'vehicle_media.download',
      subjectType: 'VehicleMedia',
      subjectId: mediaId,
      subjectIds: [vehicleId],
      storeId: medium.storeId,
    });
    return this.bytesOf(tenantScopeOf(ctx).tenantId, medium);
  }

  /** A link that downloads the medium without a session for a few minutes. */
  async link(
    ctx: RequestContext,
    ability: AppAbility,
    vehicleId: string,
    mediaId: string,
  ): Promise<MediaLinkDto> {
    const tenantId = tenantScopeOf(ctx).tenantId;
    const medium = await this.medium(ctx, ability, 'read', vehicleId, mediaId);
    await this.audit.record(ctx, tenantId, {
      action: 'vehicle_media.link',
      subjectType: 'VehicleMedia',
      subjectId: mediaId,
      subjectIds: [vehicleId],
      storeId: medium.storeId,
    });
    return this.links.issue({ tenantId, mediaId, issuerId: ctx.principal!.userId });
  }

  /** What a signed link grants: the medium's bytes, recorded on behalf of whoever asked for the link. */
  async downloadByLink(ctx: RequestContext, token: string): Promise<MediaDownload> {
    const grant = await this.links.verify(token);
    const { rows } = await this.transactions.statement<MediaRow>(
      { tenantId: grant.tenantId, stores: 'all' },
      `select ${MEDIA_COLUMNS}, vm.store_id as "storeId", vm.object_key as "objectKey"
         from vehicle_media vm where vm.tenant_id = $1 and vm.id = $2`,
      [grant.tenantId, grant.mediaId],
    );
    const medium = rows[0];
    if (!medium) throw new InventoryError(InventoryErrorCode.LinkInvalid, 'No such link');
    await this.audit.record(ctx, grant.tenantId, {
      action: 'vehicle_media.download',
      subjectType: 'VehicleMedia',
      subjectId: medium.id,
      subjectIds: [medium.vehicleId],
      storeId: medium.storeId,
      actorId: grant.issuerId,
      actorRole: 'signed_link',
      reason: 'signed link',
    });
    return this.bytesOf(grant.tenantId, medium);
  }

  async remove(ctx: RequestContext, ability: AppAbility, vehicleId: string, mediaId: string): Promise<void> {
    const scope = tenantScopeOf(ctx);
    const medium = await this.medium(ctx, ability, 'delete', vehicleId, mediaId);
    await this.transactions.run(scope, async (tx) => {
      const deleted = await tx.query('delete from vehicle_media where tenant_id = $1 and id = $2', [
        scope.tenantId,
        mediaId,
      ]);
      if (deleted.rowCount !== 1) throw mediumNotFound();
      await this.deletions.schedule(tx, medium.objectKey);
      await this.audit.append(tx, ctx, {
        action: 'vehicle_media.delete',
        subjectType: 'VehicleMedia',
        subjectId: mediaId,
        subjectIds: [vehicleId],
        storeId: medium.storeId,
      });
    });
    await this.objects
      .delete({ tenantId: scope.tenantId }, pathOf(scope.tenantId, medium.objectKey))
      .catch((error: unknown) =>
        this.log.error(`could not remove a deleted medium's object: ${String(error)}`),
      );
  }

  private async medium(
    ctx: RequestContext,
    ability: AppAbility,
    action: 'read' | 'delete',
    vehicleId: string,
    mediaId: string,
  ): Promise<MediaRow> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<MediaRow>(
      scope,
      `select ${MEDIA_COLUMNS}, vm.store_id as "storeId", vm.object_key as "objectKey"
         from vehicle_media vm where vm.tenant_id = $1 and vm.vehicle_id = $2 and vm.id = $3`,
      [scope.tenantId, vehicleId, mediaId],
    );
    const medium = rows[0];
    if (!medium) throw mediumNotFound();
    await this.rows.assert(ctx, ability, action, 'VehicleMedia', {
      tenantId: scope.tenantId,
      storeId: medium.storeId,
      id: mediaId,
    });
    return medium;
  }

  private async bytesOf(tenantId: string, medium: MediaRow): Promise<MediaDownload> {
    const body = await this.objects.open({ tenantId }, pathOf(tenantId, medium.objectKey));
    if (!body) {
      this.log.error(`the object of medium ${medium.id} is missing from storage`);
      throw mediumNotFound();
    }
    return {
      body,
      contentType: medium.contentType,
      size: medium.size,
      fileName: `${medium.id}.${EXTENSIONS[medium.contentType as MediaType]}`,
    };
  }
}

function pathOf(tenantId: string, objectKey: string): string {
  return objectKey.slice(`tenants/${tenantId}/`.length);
}

/** The client's file name, kept for people to recognise the file: printable, no path, bounded. */
function cleanFileName(name: string | null): string | null {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim()
    .slice(0, 255);
  return clean === '' ? null : clean;
}

function vehicleNotFound(): InventoryError {
  return new InventoryError(InventoryErrorCode.VehicleNotFound, 'No such vehicle');
}

function mediumNotFound(): InventoryError {
  return new InventoryError(InventoryErrorCode.MediaNotFound, 'No such medium');
}
