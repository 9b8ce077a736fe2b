import { parseStrictXml } from './strict-xml';

const METADATA = 'urn:oasis:names:tc:SAML:2.0:metadata';
const XML_DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** What a connection takes from an IdP's metadata document. */
export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** The signing certificates, base64 DER as the document holds them. */
  certificates: string[];
}

export class IdpMetadataError extends Error {
  constructor(message: string) {
    super(`idpMetadataXml: ${message}`);
    this.name = 'IdpMetadataError';
  }
}

/**
 * The entity id, the HTTP-Redirect single sign-on URL and the signing certificates of the IdP an
 * EntityDescriptor describes (Okta, Entra ID, Google Workspace and ADFS all export one), parsed
 * strictly (no DOCTYPE).
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  let doc: Document;
  try {
    doc = parseStrictXml(xml);
  } catch (error) {
    throw new IdpMetadataError((error as Error).message);
  }
  const descriptors = Array.from(doc.getElementsByTagNameNS(METADATA, 'EntityDescriptor')).filter(
    (entity) => entity.getElementsByTagNameNS(METADATA, 'IDPSSODescriptor').length > 0,
  );
  if (descriptors.length !== 1) {
    throw new IdpMetadataError(`expected one EntityDescriptor of an IdP, found ${descriptors.length}`);
  }
  const entity = descriptors[0]!;
  const idp = entity.getElementsByTagNameNS(METADATA, 'IDPSSODescriptor')[0]!;
  const entityId = entity.getAttribute('entityID') ?? '';
  if (!entityId) throw new IdpMetadataError('the EntityDescriptor has no entityID');
  const redirect = Array.from(idp.getElementsByTagNameNS(METADATA, 'SingleSignOnService')).find(
    (service) => service.getAttribute('Binding') === REDIRECT_BINDING,
  );
  const ssoUrl = redirect?.getAttribute('Location') ?? '';
  if (!ssoUrl) throw new IdpMetadataError('no SingleSignOnService with the HTTP-Redirect binding');
  const certificates = Array.from(idp.getElementsByTagNameNS(METADATA, 'KeyDescriptor'))
    .filter((key) => (key.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((key) => Array.from(key.getElementsByTagNameNS(XML_DSIG, 'X509Certificate')))
    .map((certificate) => (certificate.textContent ?? '').replace(/\s+/g, ''))
    .filter((certificate) => certificate.length > 0);
  if (certificates.length === 0) throw new IdpMetadataError('no signing certificate in the IDPSSODescriptor');
  return { entityId, ssoUrl, certificates: [...new Set(certificates)] };
}
