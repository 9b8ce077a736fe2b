import { Inject, Injectable } from '@nestjs/common';
import { KeyStore } from '@forecourt/auth';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { isUuid } from '@forecourt/core';
import { InventoryError, InventoryErrorCode } from './inventory-error';

/** What a media link grants: one medium of one tenant, on behalf of the person who asked for it. */
export interface MediaLinkGrant {
  tenantId: string;
  mediaId: string;
  issuerId: string;
}

/**
 * Short-lived download links: `<keyId>.<tenantId>.<mediaId>.<issuerId>.<expires>.<mac>`, the MAC
 * by the identity HMAC ring (so rotation and retirement apply) over a message that starts with
 * `media-link.`, which no session or MFA token starts with. The link names no object key: the
 * medium is looked up again in its tenant when the link is used, so it stops working once the
 * medium or its vehicle is gone.
 */
@Injectable()
export class MediaLinks {
  constructor(
    private readonly keys: KeyStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  issue(grant: MediaLinkGrant, now = Date.now()): { url: string; expiresAt: string } {
    const expires = Math.floor(now / 1000) + this.config.mediaLinkSeconds;
    const keyId = this.keys.ring.currentKeyId;
    const fields = `${keyId}.${grant.tenantId}.${grant.mediaId}.${grant.issuerId}.${expires}`;
    const mac = this.keys.ring.sign(Buffer.from(`media-link.${fields}`)).mac.toString('base64url');
    return {
      url: `/v1/media-links/${fields}.${mac}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  /** The grant of a genuine, unexpired link; otherwise a 404 (forged) or 410 (expired). */
  async verify(token: string, now = Date.now()): Promise<MediaLinkGrant> {
    const invalid = new InventoryError(InventoryErrorCode.LinkInvalid, 'No such link');
    const parts = token.length <= 512 ? token.split('.') : [];
    if (parts.length !== 6) throw invalid;
    const [keyId, tenantId, mediaId, issuerId, expires, mac] = parts as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (![tenantId, mediaId, issuerId].every(isUuid) || !/^\d{1,12}$/.test(expires)) throw invalid;
    await this.keys.ensureKnown(keyId);
    const message = Buffer.from(`media-link.${keyId}.${tenantId}.${mediaId}.${issuerId}.${expires}`);
    if (!this.keys.ring.verify(keyId, message, Buffer.from(mac, 'base64url'))) throw invalid;
    if (Number(expires) * 1000 <= now) {
      throw new InventoryError(
        InventoryErrorCode.LinkExpired,
        'This link has expired; ask the API for a new one',
      );
    }
    return { tenantId, mediaId, issuerId };
  }
}
