import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Decodes a quoted-printable body (soft line breaks, =XX escapes). */
function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The `.eml` files in a mail folder, oldest first, as raw text. */
export function mailsIn(mailDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(mailDir).filter((name) => name.endsWith('.eml'));
  } catch {
    return [];
  }
  return names.sort().map((name) => readFileSync(join(mailDir, name), 'utf8'));
}

/** The invitation token in the newest mail to `email` (from its `/invite?token=` link). */
export function invitationTokenFor(mailDir: string, email: string): string {
  const mail = mailsIn(mailDir)
    .reverse()
    .find((raw) => new RegExp(`^To: .*${email.replace(/[.+]/g, '\\$&')}`, 'mi').test(raw));
  if (!mail) throw new Error(`no mail to ${email} in ${mailDir}`);
  const decoded = decodeQuotedPrintable(mail);
  const match = /\/invite\?token=([A-Za-z0-9%._-]+)/.exec(decoded);
  if (!match) throw new Error('the mail holds no invitation link');
  return decodeURIComponent(match[1]!);
}
