import { parseStrictXml } from './strict-xml';

const SAML_ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAML_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const XML_DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const SHA1_ALGORITHMS = new Set([
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'http://www.w3.org/2000/09/xmldsig#sha1',
  'http://www.w3.org/2000/09/xmldsig#dsa-sha1',
]);

/** What Forecourt checks by hand in a response, read from the XML node-saml verified. */
export interface AssertionFacts {
  assertionId: string;
  issuer: string | null;
  recipients: string[];
  notOnOrAfter: Date | null;
  /** The NameID's text only when it is one plain text node (no comment, no markup inside). */
  nameId: string | null;
  nameIdSplit: boolean;
  attributes: Record<string, string[]>;
}

export interface ResponseFacts {
  destination: string | null;
  inResponseTo: string | null;
  /** Every signature and digest algorithm named anywhere in the document. */
  usesSha1: boolean;
  assertionCount: number;
  /** Some NameID holds more than one text node (a comment or markup inside it). */
  nameIdSplit: boolean;
}

function children(parent: Element, namespace: string, name: string): Element[] {
  const found: Element[] = [];
  for (let node: Node | null = parent.firstChild; node; node = node.nextSibling) {
    const element = node as Element;
    if (node.nodeType === 1 && element.localName === name && element.namespaceURI === namespace)
      found.push(element);
  }
  return found;
}

function descendants(root: Document | Element, namespace: string, name: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(namespace, name));
}

/** The response envelope as posted (before any signature check: for routing decisions only). */
export function responseFacts(xml: string): ResponseFacts {
  const doc = parseStrictXml(xml);
  const root = doc.documentElement;
  const algorithms = [
    ...descendants(doc, XML_DSIG, 'SignatureMethod'),
    ...descendants(doc, XML_DSIG, 'DigestMethod'),
  ].map((element) => element.getAttribute('Algorithm') ?? '');
  return {
    destination: root.getAttribute('Destination') || null,
    inResponseTo: root.getAttribute('InResponseTo') || null,
    usesSha1: algorithms.some((algorithm) => SHA1_ALGORITHMS.has(algorithm)),
    assertionCount: descendants(doc, SAML_ASSERTION, 'Assertion').length,
    nameIdSplit: descendants(doc, SAML_ASSERTION, 'NameID').some((nameId) => !isPlainText(nameId)),
  };
}

/** The facts of the one assertion node-saml validated (`profile.getAssertionXml()`). */
export function assertionFacts(assertionXml: string): AssertionFacts {
  const doc = parseStrictXml(assertionXml);
  const assertion = doc.documentElement;
  if (assertion.localName !== 'Assertion' || assertion.namespaceURI !== SAML_ASSERTION) {
    throw new Error('not a SAML assertion');
  }
  const issuer = children(assertion, SAML_ASSERTION, 'Issuer')[0];
  const subject = children(assertion, SAML_ASSERTION, 'Subject')[0];
  const nameId = subject ? children(subject, SAML_ASSERTION, 'NameID')[0] : undefined;
  const confirmations = subject
    ? children(subject, SAML_ASSERTION, 'SubjectConfirmation').flatMap((confirmation) =>
        children(confirmation, SAML_ASSERTION, 'SubjectConfirmationData'),
      )
    : [];
  const conditions = children(assertion, SAML_ASSERTION, 'Conditions')[0];
  const notOnOrAfter = conditions?.getAttribute('NotOnOrAfter');
  const plain = nameId !== undefined && isPlainText(nameId);
  const attributes: Record<string, string[]> = {};
  for (const statement of children(assertion, SAML_ASSERTION, 'AttributeStatement')) {
    for (const attribute of children(statement, SAML_ASSERTION, 'Attribute')) {
      const name = attribute.getAttribute('Name') ?? '';
      const values = children(attribute, SAML_ASSERTION, 'AttributeValue').map((value) => textOf(value));
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }
  }
  return {
    assertionId: assertion.getAttribute('ID') ?? '',
    issuer: issuer ? textOf(issuer).trim() : null,
    recipients: confirmations.map((data) => data.getAttribute('Recipient') ?? ''),
    notOnOrAfter: notOnOrAfter ? new Date(notOnOrAfter) : null,
    nameId: plain ? (nameId.textContent ?? '').trim() : null,
    nameIdSplit: Boolean(nameId) && !plain,
    attributes,
  };
}

/**
 * One text node and nothing else. A comment splits the text in two, which canonicalization (and
 * so the signature) ignores: `admin@x.test<!---->.evil.test` is signed as the whole address but
 * read as `admin@x.test` by a parser that takes the first text node.
 */
function isPlainText(element: Element): boolean {
  const nodes = Array.from(element.childNodes);
  return nodes.length === 1 && nodes[0]!.nodeType === 3;
}

function textOf(element: Element): string {
  return element.textContent ?? '';
}

export const SAML_NAMESPACES = { assertion: SAML_ASSERTION, protocol: SAML_PROTOCOL };
