import { Inject, Injectable } from '@nestjs/common';
import { AuditLog, AuditTrail } from '@forecourt/audit';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { newId, type RequestContext } from '@forecourt/core';
import { tenantScopeOf, TenantTransaction, type TenantQueries, type TenantWork } from '@forecourt/database';
import { certificateInfo, checkedCertificates, IdpCertificateError } from './idp-certificates';
import { type IdpMetadata, IdpMetadataError, parseIdpMetadata } from './idp-metadata';
import type {
  PutSamlConnectionDto,
  SamlConnectionDto,
  SsoFailureDto,
  SsoGrantDto,
  SsoRoleRuleDto,
} from './saml-connection.dto';
import { SamlError, SamlErrorCode, SSO_FAILURES, type SsoFailure } from './saml-error';

/** A tenant's connection as the sign-in flows use it. */
export interface SamlConnection {
  tenantId: string;
  slug: string;
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  enforce: boolean;
  allowIdpInitiated: boolean;
  wantResponseSigned: boolean;
  allowSha1: boolean;
  roleMapping: SsoRoleRuleDto[];
  defaultRole: SsoGrantDto | null;
  breakGlassUserIds: string[];
}

/** This service provider's URLs for one tenant. */
export interface SpEndpoints {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
  loginUrl: string;
}

/** How many refused sign-ins the failure list shows. */
const RECENT_FAILURES = 50;

const CONNECTION_COLUMNS = `c.tenant_id as "tenantId", t.slug, c.idp_entity_id as "idpEntityId",
  c.idp_sso_url as "idpSsoUrl", c.idp_certificates as "idpCertificates", c.enforce,
  c.allow_idp_initiated as "allowIdpInitiated", c.want_response_signed as "wantResponseSigned",
  c.allow_sha1 as "allowSha1", c.role_mapping as "roleMapping", c.default_role as "defaultRole",
  c.break_glass_user_ids as "breakGlassUserIds"`;

/**
 * Each tenant's SAML connection: stored by its dealer_admin, read by the sign-in flows. Every
 * change is audited (`sso.update`, naming the fields that changed, never their values).
 */
@Injectable()
export class SamlConnections {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly log: AuditLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The tenant's most recent refused sign-ins, newest first: when and why (the fixed reason and
   * its sentence), never the response, so an admin can fix the IdP side without a ticket.
   */
  async failures(ctx: RequestContext): Promise<SsoFailureDto[]> {
    const { tenantId } = tenantScopeOf(ctx);
    const page = await this.log.page(tenantId, { action: 'auth.sso.failed' }, RECENT_FAILURES);
    return page.data.map((event) => {
      const reason = event.reason ?? 'refused';
      return {
        at: event.at,
        reason,
        detail: reason in SSO_FAILURES ? SSO_FAILURES[reason as SsoFailure] : SSO_FAILURES.refused,
        requestId: event.requestId,
      };
    });
  }

  /** The URLs the IdP is given for the tenant with `slug`. */
  endpoints(slug: string): SpEndpoints {
    const base = `${this.config.publicUrl}/v1/sso/saml/${encodeURIComponent(slug)}`;
    return {
      entityId: `${base}/metadata`,
      acsUrl: `${base}/acs`,
      metadataUrl: `${base}/metadata`,
      loginUrl: `${base}/login`,
    };
  }

  /** The connection of the active tenant with `slug`, or a 404 problem. */
  async forSlug(slug: string): Promise<SamlConnection> {
    // Read as nobody in particular: the function returns an id and nothing else.
    const { rows } = await this.transactions.statement<{ id: string | null }>(
      { tenantId: null, stores: [], userId: newId() },
      'select app.sso_tenant($1) as id',
      [slug],
    );
    const tenantId = rows[0]?.id;
    if (!tenantId) throw new SamlError(SamlErrorCode.UnknownConnection, 'No SSO connection for this tenant');
    const connection = await this.read(this.transactions.queries({ tenantId, stores: 'all' }));
    if (!connection)
      throw new SamlError(SamlErrorCode.UnknownConnection, 'No SSO connection for this tenant');
    return connection;
  }

  /** The caller's tenant's connection, or a 404 problem. */
  async ofCaller(ctx: RequestContext): Promise<SamlConnection> {
    const connection = await this.read(this.transactions.queries(tenantScopeOf(ctx)));
    if (!connection)
      throw new SamlError(SamlErrorCode.NotConfigured, 'SSO is not configured for this tenant');
    return connection;
  }

  async get(ctx: RequestContext): Promise<SamlConnectionDto> {
    const scope = tenantScopeOf(ctx);
    const connection = await this.read(this.transactions.queries(scope));
    if (!connection)
      throw new SamlError(SamlErrorCode.NotConfigured, 'SSO is not configured for this tenant');
    return this.view(connection);
  }

  async put(ctx: RequestContext, body: PutSamlConnectionDto): Promise<SamlConnectionDto> {
    const scope = tenantScopeOf(ctx);
    let metadata: IdpMetadata | null = null;
    if (body.idpMetadataXml) {
      try {
        metadata = parseIdpMetadata(body.idpMetadataXml);
      } catch (error) {
        if (error instanceof IdpMetadataError) throw invalid(error.message);
        throw error;
      }
    }
    // Fields given in the body win over the metadata document's.
    const given = {
      ...body,
      idpEntityId: body.idpEntityId ?? metadata?.entityId,
      idpSsoUrl: body.idpSsoUrl ?? metadata?.ssoUrl,
      idpCertificates: body.idpCertificates ?? metadata?.certificates,
    };
    if (!given.idpEntityId) throw invalid('idpEntityId is required (or idpMetadataXml)');
    if (!given.idpSsoUrl) throw invalid('idpSsoUrl is required (or idpMetadataXml)');
    if (!/^https?:\/\//.test(given.idpSsoUrl)) throw invalid('idpSsoUrl must be an http(s) URL');
    if (!given.idpCertificates?.length) {
      throw invalid('idpCertificates needs at least one certificate (or idpMetadataXml)');
    }
    const idp = { entityId: given.idpEntityId, ssoUrl: given.idpSsoUrl };
    let certificates: string[];
    try {
      certificates = checkedCertificates(given.idpCertificates);
    } catch (error) {
      if (error instanceof IdpCertificateError) throw invalid(error.message);
      throw error;
    }
    const mapping = given.roleMapping.map((rule) => ({
      group: rule.group,
      ...grantOf(rule, `roleMapping ${rule.group}`),
    }));
    const defaultRole = given.defaultRole ? grantOf(given.defaultRole, 'defaultRole') : null;
    const breakGlass = [...new Set(given.breakGlassUserIds ?? [])];
    const saved = await this.transactions.run(scope, async (tx) => {
      await assertStores(tx, [...mapping, ...(defaultRole ? [defaultRole] : [])]);
      await assertBreakGlassAdmins(tx, breakGlass);
      const before = await this.read(tx);
      const values = {
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: certificates,
        enforce: given.enforce,
        allowIdpInitiated: given.allowIdpInitiated ?? before?.allowIdpInitiated ?? false,
        wantResponseSigned: given.wantResponseSigned ?? before?.wantResponseSigned ?? true,
        allowSha1: given.allowSha1 ?? before?.allowSha1 ?? false,
        roleMapping: mapping,
        defaultRole,
        breakGlassUserIds: breakGlass,
      };
      await tx.query(
        `insert into sso_connections (tenant_id, idp_entity_id, idp_sso_url, idp_certificates, enforce,
           allow_idp_initiated, want_response_signed, allow_sha1, role_mapping, default_role, break_glass_user_ids)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (tenant_id) do update set idp_entity_id = excluded.idp_entity_id,
           idp_sso_url = excluded.idp_sso_url, idp_certificates = excluded.idp_certificates,
           enforce = excluded.enforce, allow_idp_initiated = excluded.allow_idp_initiated,
           want_response_signed = excluded.want_response_signed, allow_sha1 = excluded.allow_sha1,
           role_mapping = excluded.role_mapping, default_role = excluded.default_role,
           break_glass_user_ids = excluded.break_glass_user_ids, updated_at = now()`,
        [
          scope.tenantId,
          values.idpEntityId,
          values.idpSsoUrl,
          values.idpCertificates,
          values.enforce,
          values.allowIdpInitiated,
          values.wantResponseSigned,
          values.allowSha1,
          JSON.stringify(values.roleMapping),
          values.defaultRole === null ? null : JSON.stringify(values.defaultRole),
          values.breakGlassUserIds,
        ],
      );
      const changed = (Object.keys(values) as (keyof typeof values)[])
        .filter((field) => canonical(values[field]) !== canonical(before?.[field]))
        .sort();
      await this.audit.append(tx, ctx, {
        action: before ? 'sso.update' : 'sso.create',
        subjectType: 'Tenant',
        subjectId: scope.tenantId,
        changedFields: changed,
      });
      return (await this.read(tx))!;
    });
    return this.view(saved);
  }

  private async read(tx: TenantQueries | TenantWork): Promise<SamlConnection | null> {
    const { rows } = await tx.query<SamlConnection>(
      `select ${CONNECTION_COLUMNS} from sso_connections c join tenants t on t.id = c.tenant_id
        where c.tenant_id = $1`,
      [tx.scope.tenantId],
    );
    return rows[0] ?? null;
  }

  private view(connection: SamlConnection): SamlConnectionDto {
    const endpoints = this.endpoints(connection.slug);
    return {
      idpEntityId: connection.idpEntityId,
      idpSsoUrl: connection.idpSsoUrl,
      idpCertificates: connection.idpCertificates,
      certificates: connection.idpCertificates.map((pem) => certificateInfo(pem)),
      enforce: connection.enforce,
      allowIdpInitiated: connection.allowIdpInitiated,
      wantResponseSigned: connection.wantResponseSigned,
      allowSha1: connection.allowSha1,
      roleMapping: connection.roleMapping,
      defaultRole: connection.defaultRole,
      breakGlassUserIds: connection.breakGlassUserIds,
      spEntityId: endpoints.entityId,
      acsUrl: endpoints.acsUrl,
      metadataUrl: endpoints.metadataUrl,
      loginUrl: endpoints.loginUrl,
    };
  }
}

function invalid(message: string): SamlError {
  return new SamlError(SamlErrorCode.InvalidConnection, message);
}

/** A grant as stored: a dealer_admin always covers every store (as memberships require). */
function grantOf(grant: SsoGrantDto, where: string): SsoGrantDto {
  if (grant.role === 'dealer_admin' && !grant.allStores) {
    throw invalid(`${where}: a dealer_admin covers every store (allStores must be true)`);
  }
  if (!grant.allStores && grant.storeIds.length === 0) {
    throw invalid(`${where}: name storeIds or set allStores`);
  }
  return {
    role: grant.role,
    allStores: grant.allStores,
    storeIds: grant.allStores ? [] : [...new Set(grant.storeIds)],
  };
}

async function assertStores(tx: TenantWork, grants: readonly SsoGrantDto[]): Promise<void> {
  const named = [...new Set(grants.flatMap((grant) => grant.storeIds))];
  if (named.length === 0) return;
  const { rows } = await tx.query<{ id: string }>(
    'select id from stores where tenant_id = $1 and id = any($2::uuid[])',
    [tx.scope.tenantId, named],
  );
  const known = new Set(rows.map((row) => row.id));
  const unknown = named.filter((id) => !known.has(id));
  if (unknown.length > 0) throw invalid(`storeIds: ${unknown.join(', ')} not a store of this tenant`);
}

async function assertBreakGlassAdmins(tx: TenantWork, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const { rows } = await tx.query<{ user_id: string }>(
    `select user_id from memberships
      where tenant_id = $1 and user_id = any($2::uuid[]) and role = 'dealer_admin' and status = 'active'`,
    [tx.scope.tenantId, userIds],
  );
  const admins = new Set(rows.map((row) => row.user_id));
  const others = userIds.filter((id) => !admins.has(id));
  if (others.length > 0)
    throw invalid(`breakGlassUserIds: ${others.join(', ')} not an active dealer_admin here`);
}

/** JSON with object keys sorted: a value read back from jsonb compares equal to the one written. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}
