import { DOMParser } from '@xmldom/xmldom';

/**
 * Parses XML that comes from outside (SAML messages, IdP metadata): a document with a DOCTYPE is
 * refused outright — neither ever needs one, and entity declarations are how XML parsers are
 * attacked — and so is anything xmldom reports as malformed. The error's message says which.
 */
export function parseStrictXml(xml: string): Document {
  if (/<!DOCTYPE/i.test(xml)) throw new Error('a DOCTYPE is not accepted');
  const problems: string[] = [];
  const doc = new DOMParser({
    errorHandler: (level: string, message: unknown) => {
      if (level !== 'warning') problems.push(String(message));
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc.documentElement) throw new Error('not well-formed XML');
  return doc;
}
