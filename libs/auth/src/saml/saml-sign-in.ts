import { Injectable, Logger } from '@nestjs/common';
import type { Profile } from '@node-saml/node-saml';
import { randomBytes } from 'node:crypto';
import { AuditTrail } from '@forecourt/audit';
import { type RequestContext } from '@forecourt/core';
import { TenantTransaction, type TenantQueries } from '@forecourt/database';
import { AuthAttempts } from '../auth-attempts';
import { type IssuedSession, Sessions } from '../sessions';
import { SsoAccounts, type SsoIdentity } from './sso-accounts';
import { SsoTests } from './sso-tests';
import type { SsoTestDto, SsoTestStartDto } from './saml-connection.dto';
import { type SamlConnection, SamlConnections } from './saml-connections';
import { SamlError, type SsoFailure } from './saml-error';
import { assertionFacts, type ResponseFacts, responseFacts } from './saml-response-facts';
import { CLOCK_SKEW_MS, serviceProviderFor } from './service-provider';

/** What the ACS did: signed someone in, or finished an admin's connection test. */
export type SsoAcsOutcome = { kind: 'signed-in'; signedIn: SsoSignedIn } | { kind: 'test'; test: SsoTestDto };

/** A signed-in SSO user and where the browser goes next. */
export interface SsoSignedIn extends IssuedSession {
  userId: string;
  /** A path on this origin (never another host), or null for the start page. */
  returnTo: string | null;
}

/** How long an accepted assertion id is kept when the assertion names no end of validity. */
const DEFAULT_ASSERTION_TTL_MS = 10 * 60_000;

/** The fixed reason for a refusal node-saml reports in its own words. */
function failureOf(message: string): SsoFailure {
  const rules: [RegExp, SsoFailure][] = [
    [
      /invalid signature|signature.*(not valid|invalid)|no valid signature|invalid document signature/i,
      'signature',
    ],
    // node-saml's words when every SubjectConfirmationData is past its NotOnOrAfter
    [/No valid subject confirmation/i, 'expired'],
    [/SAML assertion expired|NotOnOrAfter|expired/i, 'expired'],
    [/not yet valid|NotBefore/i, 'not_yet_valid'],
    [/audience/i, 'audience'],
    [/InResponseTo is missing/i, 'idp_initiated'],
    [/InResponseTo/i, 'unknown_request'],
    [/Invalid top level element|not well-formed|Not a valid XML|xml/i, 'unreadable'],
    [/status/i, 'idp_status'],
  ];
  return rules.find(([pattern]) => pattern.test(message))?.[1] ?? 'refused';
}

/**
 * SAML sign-in for one tenant at a time: the login redirect (with its request id and RelayState
 * key kept in PostgreSQL) and the assertion consumer. A response is checked by node-saml against
 * this tenant's connection, then by hand for what node-saml 5.1 leaves out: the Issuer is the
 * tenant's IdP, Destination and Recipient are this tenant's ACS, no SHA-1 unless allowed, one
 * assertion, a NameID without markup inside, and each assertion accepted once (in PostgreSQL, so
 * on every instance). Every refusal is a 401 whose detail an admin can act on, logged with the
 * full reason and audited as `auth.sso.failed`.
 */
@Injectable()
export class SamlSignIn {
  private readonly logger = new Logger('SamlSignIn');

  constructor(
    private readonly connections: SamlConnections,
    private readonly transactions: TenantTransaction,
    private readonly accounts: SsoAccounts,
    private readonly sessions: Sessions,
    private readonly audit: AuditTrail,
    private readonly tests: SsoTests,
    private readonly attempts: AuthAttempts,
  ) {}

  /** SP metadata for the IdP admin. */
  async metadata(slug: string): Promise<string> {
    const connection = await this.connections.forSlug(slug);
    const endpoints = this.connections.endpoints(connection.slug);
    const sp = serviceProviderFor(connection, endpoints, this.queries(connection));
    return sp.generateServiceProviderMetadata(null, null);
  }

  /** The IdP URL to send the browser to, with a new AuthnRequest and a server-side RelayState key. */
  async loginUrl(slug: string, returnTo: string | null): Promise<string> {
    const connection = await this.connections.forSlug(slug);
    const endpoints = this.connections.endpoints(connection.slug);
    const relay = { key: randomBytes(24).toString('base64url'), returnTo: safeReturnPath(returnTo) };
    const sp = serviceProviderFor(connection, endpoints, this.queries(connection), relay);
    return sp.getAuthorizeUrlAsync(relay.key, undefined, {});
  }

  /**
   * Starts an admin's connection test: a new AuthnRequest to the IdP, marked as a test, whose
   * answer the ACS reports instead of signing anyone in.
   */
  async startTest(ctx: RequestContext): Promise<SsoTestStartDto> {
    const connection = await this.connections.ofCaller(ctx);
    const endpoints = this.connections.endpoints(connection.slug);
    const relay = { key: randomBytes(24).toString('base64url'), returnTo: null };
    const db = this.queries(connection);
    const loginUrl = await serviceProviderFor(connection, endpoints, db, relay).getAuthorizeUrlAsync(
      relay.key,
      undefined,
      {},
    );
    const { rows } = await db.query<{ id: string }>(
      'select id from saml_requests where tenant_id = $1 and relay_key = $2',
      [connection.tenantId, relay.key],
    );
    await this.tests.start(ctx, rows[0]!.id);
    return { id: rows[0]!.id, loginUrl };
  }

  /**
   * The assertion consumer: a session for the mapped user, or a {@link SamlError}. A response to
   * an admin's connection test is checked the same way but signs nobody in: its outcome is kept
   * for the test instead.
   */
  consume(
    ctx: RequestContext,
    slug: string,
    samlResponse: string | undefined,
    relayState: string | undefined,
  ): Promise<SsoAcsOutcome> {
    // Under the sign-in rate limits per client IP: each refused response counts as a failed
    // attempt, and every response costs an XML signature check.
    return this.attempts.guard(ctx, 'sso.acs', () => this.consumeOnce(ctx, slug, samlResponse, relayState));
  }

  private async consumeOnce(
    ctx: RequestContext,
    slug: string,
    samlResponse: string | undefined,
    relayState: string | undefined,
  ): Promise<SsoAcsOutcome> {
    const connection = await this.connections.forSlug(slug);
    // Parsed once: whether it answers a connection test, and (in verify) what it claims.
    const envelope = samlResponse ? envelopeOf(samlResponse) : null;
    const testId = envelope?.inResponseTo
      ? await this.tests.pending(this.queries(connection), envelope.inResponseTo)
      : null;
    try {
      const verified = await this.verify(connection, samlResponse, envelope, relayState);
      if (testId) {
        return {
          kind: 'test',
          test: await this.tests.finish(ctx, connection, testId, verified.identity, null),
        };
      }
      const user = await this.accounts.provision(ctx, connection, verified.identity);
      const session = await this.sessions.issue(user.userId);
      return {
        kind: 'signed-in',
        signedIn: { ...session, userId: user.userId, returnTo: verified.returnTo },
      };
    } catch (error) {
      if (!(error instanceof SamlError)) throw error;
      if (testId)
        return { kind: 'test', test: await this.tests.finish(ctx, connection, testId, null, error) };
      const cause = typeof error.cause === 'string' ? ` (node-saml: ${error.cause})` : '';
      this.logger.warn(
        `SSO sign-in refused for tenant ${connection.tenantId}: ${error.failure ?? error.code}: ${error.message}${cause}`,
      );
      await this.audit.record(ctx, connection.tenantId, {
        action: 'auth.sso.failed',
        subjectType: 'Tenant',
        subjectId: connection.tenantId,
        outcome: 'denied',
        reason: error.failure ?? error.code,
      });
      throw error;
    }
  }

  /** Every check of a posted response; the identity it vouches for, and where to return. */
  private async verify(
    connection: SamlConnection,
    samlResponse: string | undefined,
    envelope: ResponseFacts | null,
    relayState: string | undefined,
  ): Promise<{ identity: SsoIdentity; returnTo: string | null }> {
    if (!samlResponse) throw refused('missing_response');
    const endpoints = this.connections.endpoints(connection.slug);
    const db = this.queries(connection);
    if (!envelope) throw refused('unreadable');
    if (envelope.usesSha1 && !connection.allowSha1) throw refused('sha1');
    if (envelope.nameIdSplit) throw refused('name_id_markup');
    if (envelope.assertionCount !== 1) throw refused('assertion_count');
    if (!envelope.inResponseTo && !connection.allowIdpInitiated) throw refused('idp_initiated');
    const returnTo = envelope.inResponseTo
      ? await this.returnPathOf(db, envelope.inResponseTo, relayState)
      : null;

    let profile: Profile | null;
    try {
      const sp = serviceProviderFor(connection, endpoints, db);
      ({ profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (error) {
      if (error instanceof SamlError) throw error;
      // The library's own words go to the log with the refusal (below), never to the caller.
      const message = (error as Error).message;
      throw Object.assign(refused(failureOf(message)), { cause: message });
    }
    const assertionXml = profile?.getAssertionXml?.();
    if (!profile || !assertionXml) throw refused('no_assertion');
    const facts = assertionFacts(assertionXml);
    if (facts.issuer !== connection.idpEntityId) throw refused('issuer');
    if (envelope.destination !== null && envelope.destination !== endpoints.acsUrl)
      throw refused('destination');
    if (
      facts.recipients.length === 0 ||
      facts.recipients.some((recipient) => recipient !== endpoints.acsUrl)
    ) {
      throw refused('recipient');
    }
    if (facts.nameIdSplit || !facts.nameId) throw refused('name_id_markup');
    if (!facts.assertionId) throw refused('no_assertion_id');
    await this.acceptOnce(db, facts.assertionId, facts.notOnOrAfter);
    return {
      identity: {
        email: facts.nameId,
        name: first(facts.attributes, [
          'displayName',
          'name',
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
        ]),
        groups: groupsOf(facts.attributes),
      },
      returnTo,
    };
  }

  /** Records the assertion id until its end of validity; a second use is a replay. */
  private async acceptOnce(db: TenantQueries, assertionId: string, notOnOrAfter: Date | null): Promise<void> {
    const until = new Date(
      Math.max(notOnOrAfter?.getTime() ?? Date.now() + DEFAULT_ASSERTION_TTL_MS, Date.now()) + CLOCK_SKEW_MS,
    );
    const { rowCount } = await db.query(
      `insert into saml_assertions (tenant_id, id, expires_at) values ($1, $2, $3) on conflict do nothing`,
      [db.scope.tenantId, assertionId, until],
    );
    if (rowCount === 0) throw refused('replayed');
  }

  /** Where an SP-initiated sign-in returns: only when the RelayState is the key its login issued. */
  private async returnPathOf(
    db: TenantQueries,
    requestId: string,
    relayState: string | undefined,
  ): Promise<string | null> {
    if (!relayState) return null;
    const { rows } = await db.query<{ return_to: string | null }>(
      'select return_to from saml_requests where tenant_id = $1 and id = $2 and relay_key = $3',
      [db.scope.tenantId, requestId, relayState],
    );
    return rows[0]?.return_to ?? null;
  }

  private queries(connection: SamlConnection): TenantQueries {
    return this.transactions.queries({ tenantId: connection.tenantId, stores: 'all' });
  }
}

const refused = (failure: SsoFailure): SamlError => SamlError.refused(failure);

/** The posted envelope's facts, or null when it is not XML this service reads. */
function envelopeOf(samlResponse: string): ResponseFacts | null {
  try {
    return responseFacts(Buffer.from(samlResponse, 'base64').toString('utf8'));
  } catch {
    return null;
  }
}

/** A path on this origin: `/…` but not `//…` or `/\…` (which browsers treat as another host). */
export function safeReturnPath(value: string | null | undefined): string | null {
  if (!value || value.length > 1024) return null;
  return /^\/(?![/\\])[^\s]*$/.test(value) ? value : null;
}

const GROUP_ATTRIBUTES = [
  'groups',
  'Groups',
  'memberOf',
  'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
];

function groupsOf(attributes: Record<string, string[]>): string[] {
  return [
    ...new Set(GROUP_ATTRIBUTES.flatMap((name) => attributes[name] ?? []).map((group) => group.trim())),
  ];
}

function first(attributes: Record<string, string[]>, names: readonly string[]): string | null {
  for (const name of names) {
    const value = attributes[name]?.[0]?.trim();
    if (value) return value;
  }
  return null;
}
