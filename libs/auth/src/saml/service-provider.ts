import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { TenantQueries } from '@forecourt/database';
import type { SamlConnection, SpEndpoints } from './saml-connections';
import { REQUEST_TTL_MS, SamlRequestCache } from './saml-request-cache';
import { isValidAt } from './idp-certificates';
import { SamlError } from './saml-error';

/** Accepted clock difference between the IdP and this host. */
export const CLOCK_SKEW_MS = 5_000;
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/**
 * node-saml configured for one tenant's connection, and only for it: a response is checked
 * against this tenant's certificates, audience and ACS URL, never another's. Assertions must be
 * signed; the response too unless the tenant switched that off (IdPs that sign only assertions).
 * Issuer, Destination/Recipient, replay and SHA-1 are checked by `SamlSignIn` (node-saml 5.1
 * does not).
 */
export function serviceProviderFor(
  connection: SamlConnection,
  endpoints: SpEndpoints,
  db: TenantQueries,
  relay: { key: string; returnTo: string | null } | null = null,
): SAML {
  // node-saml never looks at a certificate's dates: one that expired since it was stored no
  // longer vouches for anything.
  const current = connection.idpCertificates.filter((pem) => isValidAt(pem));
  if (current.length === 0) {
    throw SamlError.refused('certificates_expired');
  }
  return new SAML({
    callbackUrl: endpoints.acsUrl,
    entryPoint: connection.idpSsoUrl,
    issuer: endpoints.entityId,
    audience: endpoints.entityId,
    idpCert: current,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: connection.wantResponseSigned,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    // IdP-initiated responses carry no InResponseTo: accepted only where the tenant allows them;
    // a response that names a request must name one this service sent.
    validateInResponseTo: connection.allowIdpInitiated
      ? ValidateInResponseTo.ifPresent
      : ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: new SamlRequestCache(db, relay),
    identifierFormat: EMAIL_FORMAT,
    // The IdP decides how its users authenticate (and owns MFA); asking for a password context
    // would refuse users who signed in with a passkey or MFA.
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
  });
}
