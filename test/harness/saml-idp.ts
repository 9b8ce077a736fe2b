/**
 * A real SAML 2.0 identity provider for tests: samlify builds and signs the responses with keys made at run
 * time by the openssl CLI, so the service provider under test verifies genuine XML signatures and nothing
 * secret is ever committed. The attack helpers edit signed responses the way an attacker would.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import * as samlify from 'samlify';

export interface SigningKey {
  privateKeyPem: string;
  certificatePem: string;
}

export interface CertificateValidity {
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error: unknown) {
    // execFileSync's error carries openssl's own explanation on stderr; the bare exit code says nothing.
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr || String(error)}`);
  }
}

/** `openssl ca` wants GeneralizedTime; four-digit years keep dates past 2049 unambiguous. */
function generalizedTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** In `-subj`, `/`, `=`, `+` and `,` would start a new RDN or attribute unless escaped. */
function subjectFor(commonName: string): string {
  return `/CN=${commonName.replace(/[\\/=+,]/g, (char) => `\\${char}`)}`;
}

/**
 * An RSA 2048 key and a self-signed sha256 certificate for it. OpenSSL 3.0's `req -x509` and `x509` cannot
 * back-date a certificate, and tests need expired and not-yet-valid ones, so the certificate is issued by
 * `openssl ca -selfsign`, which takes explicit start and end dates.
 */
export function generateSigningKey(commonName: string, validity: CertificateValidity = {}): SigningKey {
  const notBefore = validity.notBefore ?? new Date(Date.now() - DAY_MS);
  const notAfter = validity.notAfter ?? new Date(Date.now() + 365 * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) throw new Error('notAfter must be later than notBefore');

  const dir = mkdtempSync(join(tmpdir(), 'saml-idp-key-'));
  try {
    writeFileSync(join(dir, 'index.txt'), '');
    // A random positive serial, so two test IdPs never issue certificates that look alike.
    const serial = randomBytes(16);
    serial[0] = serial[0]! & 0x7f;
    writeFileSync(join(dir, 'serial'), `${serial.toString('hex')}\n`);
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = test_ca',
        '[ test_ca ]',
        `database = ${join(dir, 'index.txt')}`,
        `serial = ${join(dir, 'serial')}`,
        `new_certs_dir = ${dir}`,
        'default_md = sha256',
        'policy = policy_anything',
        'copy_extensions = copy',
        // The throwaway database must not refuse a second certificate for the same name.
        'unique_subject = no',
        'x509_extensions = signing_cert',
        '[ policy_anything ]',
        'commonName = supplied',
        '[ signing_cert ]',
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
    );
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'], dir);
    openssl(
      ['req', '-new', '-key', 'key.pem', '-subj', subjectFor(commonName), '-sha256', '-out', 'req.csr'],
      dir,
    );
    openssl(
      [
        'ca',
        '-config',
        'ca.cnf',
        '-selfsign',
        '-keyfile',
        'key.pem',
        '-in',
        'req.csr',
        '-out',
        'cert.pem',
        '-startdate',
        generalizedTime(notBefore),
        '-enddate',
        generalizedTime(notAfter),
        '-batch',
        '-notext',
      ],
      dir,
    );
    return {
      privateKeyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificatePem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestIdpOptions {
  entityId: string;
  ssoUrl: string;
  key?: SigningKey;
}

export interface TestIdpResponseOptions {
  spEntityId: string;
  acsUrl: string;
  nameId: string;
  /** Omitted for an IdP-initiated response: then no InResponseTo attribute is written at all. */
  inResponseTo?: string;
  /** One saml:Attribute per name, one saml:AttributeValue per value. */
  attributes?: Record<string, string[]>;
  /** Response and Assertion Issuer; a different value forges the issuer under a valid signature. */
  issuer?: string;
  audience?: string;
  destination?: string;
  recipient?: string;
  /** Conditions/@NotBefore (the Web SSO profile forbids NotBefore on SubjectConfirmationData). */
  notBefore?: Date;
  /** Conditions/@NotOnOrAfter and SubjectConfirmationData/@NotOnOrAfter. */
  notOnOrAfter?: Date;
  /** AuthnStatement/@SessionNotOnOrAfter; omitted unless given. */
  sessionNotOnOrAfter?: Date;
  /** IssueInstant of Response and Assertion, and AuthnInstant. */
  issueInstant?: Date;
  sessionIndex?: string;
  nameIdFormat?: string;
  assertionId?: string;
  responseId?: string;
  signAssertion?: boolean;
  signResponse?: boolean;
  /** Sign with this key (its certificate goes into KeyInfo) instead of the IdP's own. */
  signingKey?: SigningKey;
  signatureAlgorithm?: 'sha256' | 'sha1';
}

const SIGNATURE_ALGORITHMS = {
  sha256: samlify.Constants.algorithms.signature.RSA_SHA256,
  sha1: samlify.Constants.algorithms.signature.RSA_SHA1,
} as const;

const EMAIL_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/**
 * Every value goes in through samlify's `replaceTagsByValue`, which XML-escapes it and drops an attribute
 * whose value is undefined (that is how InResponseTo and SessionNotOnOrAfter disappear). `{Attributes}` is
 * markup, so it is spliced in beforehand with its own escaping. samlify signs the assertion after its Issuer and the response
 * after its Issuer, which are the places the schema allows.
 */
const LOGIN_RESPONSE_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"' +
  ' ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer>' +
  '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema"' +
  ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer>' +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
  '<saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Recipient}" InResponseTo="{InResponseTo}"/>' +
  '</saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}">' +
  '<saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}" SessionNotOnOrAfter="{SessionNotOnOrAfter}">' +
  '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' +
  '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
  '{Attributes}' +
  '</saml:Assertion></samlp:Response>';

/** SAML IDs are xs:ID, so they must not start with a digit. */
function samlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** Braces too, so an attribute value can never be mistaken for one of the template's `{Tag}`s. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"'{}]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function attributeStatement(attributes: Record<string, string[]>): string {
  const elements = Object.entries(attributes).map(
    ([name, values]) =>
      `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
      values
        .map((value) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(value)}</saml:AttributeValue>`)
        .join('') +
      '</saml:Attribute>',
  );
  // The schema wants at least one statement inside, so no attributes means no AttributeStatement at all.
  return elements.length === 0
    ? ''
    : `<saml:AttributeStatement>${elements.join('')}</saml:AttributeStatement>`;
}

function decode(samlResponse: string): string {
  return Buffer.from(samlResponse, 'base64').toString('utf8');
}

function encode(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

// samlify consults the schema validator only when it parses an incoming message, which this IdP never
// does: it answers whatever a test asks for instead of reading AuthnRequests. The pass-through only keeps
// samlify's guard quiet; it is process-wide, so nothing in a test process may rely on samlify to parse.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

/**
 * samlify warns on every IdP it builds without a SingleLogoutService. This IdP has no logout endpoint on
 * purpose (metadata claiming one would be false), and the warning would bury test output.
 */
function withoutLogoutWarning<T>(build: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!(typeof args[0] === 'string' && args[0].includes('SingleLogoutService'))) warn(...args);
  };
  try {
    return build();
  } finally {
    console.warn = warn;
  }
}

export class TestIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly certificatePem: string;
  private readonly key: SigningKey;

  constructor(options: TestIdpOptions) {
    this.entityId = options.entityId;
    this.ssoUrl = options.ssoUrl;
    this.key = options.key ?? generateSigningKey(`Test IdP ${options.entityId}`);
    this.certificatePem = this.key.certificatePem;
  }

  /** IdP metadata with the signing certificate and the SSO endpoint for both browser bindings. */
  metadataXml(): string {
    return this.identityProvider(this.key, 'sha256').getMetadata();
  }

  /** The base64 `SAMLResponse` form value for an HTTP-POST to the ACS. */
  async response(options: TestIdpResponseOptions): Promise<string> {
    const now = Date.now();
    const issueInstant = options.issueInstant ?? new Date(now);
    const responseId = options.responseId ?? samlId();
    const tags: Record<string, string | undefined> = {
      ID: responseId,
      AssertionID: options.assertionId ?? samlId(),
      IssueInstant: issueInstant.toISOString(),
      Destination: options.destination ?? options.acsUrl,
      InResponseTo: options.inResponseTo,
      Issuer: options.issuer ?? this.entityId,
      NameIDFormat: options.nameIdFormat ?? EMAIL_NAME_ID,
      NameID: options.nameId,
      Recipient: options.recipient ?? options.acsUrl,
      NotBefore: (options.notBefore ?? new Date(now - 60_000)).toISOString(),
      NotOnOrAfter: (options.notOnOrAfter ?? new Date(now + 5 * 60_000)).toISOString(),
      Audience: options.audience ?? options.spEntityId,
      SessionIndex: options.sessionIndex ?? samlId(),
      SessionNotOnOrAfter: options.sessionNotOnOrAfter?.toISOString(),
    };
    const render = (template: string): string =>
      samlify.SamlLib.replaceTagsByValue(
        template.replace('{Attributes}', attributeStatement(options.attributes ?? {})),
        tags,
      );

    const signAssertion = options.signAssertion ?? true;
    const signResponse = options.signResponse ?? true;
    // samlify always signs something (it signs the response whenever the SP does not want signed
    // assertions), so a wholly unsigned response is the rendered template itself.
    if (!signAssertion && !signResponse) return encode(render(LOGIN_RESPONSE_TEMPLATE));

    // samlify decides what to sign from the SP's metadata: WantAssertionsSigned signs the assertion, and
    // wantMessageSigned (or not wanting signed assertions) signs the whole response.
    const sp = samlify.ServiceProvider({
      entityID: options.spEntityId,
      assertionConsumerService: [
        { Binding: samlify.Constants.namespace.binding.post, Location: options.acsUrl },
      ],
      wantAssertionsSigned: signAssertion,
      wantMessageSigned: signResponse,
    });
    const idp = this.identityProvider(options.signingKey ?? this.key, options.signatureAlgorithm ?? 'sha256');
    const result = await idp.createLoginResponse(
      sp,
      { extract: {} },
      'post',
      {},
      { customTagReplacement: (template) => ({ id: responseId, context: render(template) }) },
    );
    return result.context;
  }

  /**
   * Puts an empty comment into the NameID text right after `insertAfter`. Exclusive canonicalization drops
   * comments, so every signature still verifies; a consumer that reads only the first text node of NameID
   * sees a shorter, different identity.
   */
  withCommentInNameId(samlResponse: string, insertAfter: string): string {
    const xml = decode(samlResponse);
    const nameId = /(<(?:\w+:)?NameID\b[^>]*>)([^<]*)(<\/(?:\w+:)?NameID>)/.exec(xml);
    if (!nameId) throw new Error('the response holds no NameID');
    const [whole, open = '', text = '', close = ''] = nameId;
    const at = text.indexOf(insertAfter);
    if (at < 0) throw new Error(`the NameID "${text}" does not contain "${insertAfter}"`);
    const cut = at + insertAfter.length;
    const edited = `${open}${text.slice(0, cut)}<!---->${text.slice(cut)}${close}`;
    return encode(xml.slice(0, nameId.index) + edited + xml.slice(nameId.index + whole.length));
  }

  /**
   * Signature wrapping: an unsigned copy of the assertion (new ID, NameID replaced, Signature removed) is
   * put in front of the signed one, as its sibling in the Response, leaving the signed one untouched. A
   * consumer that checks one assertion's signature but reads another's content is fooled.
   */
  withWrappedAssertion(samlResponse: string, evilNameId: string): string {
    const xml = decode(samlResponse);
    const assertion = /<(\w+:)?Assertion\b[\s\S]*?<\/\1Assertion>/.exec(xml);
    if (!assertion) throw new Error('the response holds no Assertion');
    const evil = assertion[0]
      .replace(/^(<(?:\w+:)?Assertion\b[^>]*?\sID=")[^"]*(")/, `$1${samlId()}$2`)
      .replace(/<(\w+:)?Signature\b[\s\S]*?<\/\1Signature>/, '')
      .replace(
        /(<(?:\w+:)?NameID\b[^>]*>)[^<]*(<\/(?:\w+:)?NameID>)/,
        (_whole, open: string, close: string) => `${open}${escapeXml(evilNameId)}${close}`,
      );
    return encode(xml.slice(0, assertion.index) + evil + xml.slice(assertion.index));
  }

  private identityProvider(key: SigningKey, algorithm: 'sha256' | 'sha1'): samlify.IdentityProviderInstance {
    return withoutLogoutWarning(() =>
      samlify.IdentityProvider({
        entityID: this.entityId,
        privateKey: key.privateKeyPem,
        signingCert: key.certificatePem,
        requestSignatureAlgorithm: SIGNATURE_ALGORITHMS[algorithm],
        nameIDFormat: [EMAIL_NAME_ID],
        singleSignOnService: [
          { Binding: samlify.Constants.namespace.binding.redirect, Location: this.ssoUrl },
          { Binding: samlify.Constants.namespace.binding.post, Location: this.ssoUrl },
        ],
        // An empty attribute list keeps samlify from splicing its own one-value-per-attribute statement in.
        loginResponseTemplate: { context: LOGIN_RESPONSE_TEMPLATE, attributes: [] },
      }),
    );
  }
}

function queryParameter(location: string, name: string): string | null {
  // Relative Location headers are fine: only the query matters.
  return new URL(location, 'http://relative.invalid').searchParams.get(name);
}

/** The ID of the AuthnRequest in an SP-initiated HTTP-Redirect (`SAMLRequest` = base64 of raw DEFLATE). */
export function spAuthnRequestId(redirectLocation: string): string {
  const request = queryParameter(redirectLocation, 'SAMLRequest');
  if (request === null) throw new Error(`no SAMLRequest in ${redirectLocation}`);
  const xml = inflateRawSync(Buffer.from(request, 'base64')).toString('utf8');
  const id = /<(?:\w+:)?AuthnRequest\b[^>]*?\sID="([^"]+)"/.exec(xml)?.[1];
  if (id === undefined) throw new Error(`the SAMLRequest is not an AuthnRequest with an ID: ${xml}`);
  return id;
}

/** The RelayState of an SP-initiated redirect, or null when it carries none. */
export function relayStateOf(location: string): string | null {
  return queryParameter(location, 'RelayState');
}
