/**
 * Every message Forecourt sends, in one place. Each template is a typed function that returns the
 * subject, a plain-text body and an HTML body. HTML is built only with the `markup` tag below, which
 * escapes every interpolated value, so no caller-supplied string reaches the markup raw.
 */

/** One rendered message. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** Data of the invitation mail. */
export interface InvitationMailData {
  /** The full link, `<PUBLIC_URL>/invite?token=…`; must be http(s). */
  inviteUrl: string;
  /** The dealer group's name; null for an invitation to the platform staff. */
  tenantName: string | null;
  /** A role name such as `dealer_admin`; known ones are shown by their label. */
  role: string;
  inviterName: string;
  expiresAt: Date;
}

/** Data of the audit checkpoint mail: a witness copy of a signed checkpoint for the tenant's admins. */
export interface AuditCheckpointMailData {
  tenantName: string;
  seq: number;
  /** The signed note, verbatim: the whole point is that the recipient keeps it unchanged. */
  note: string;
  /** The verifier key strings that check the note's signature. */
  verifierKeys: string[];
}

/** Data of the break-glass mail: a password sign-in past a group's SSO-only rule, told to the other admins. */
export interface BreakGlassMailData {
  tenantName: string;
  /** The break-glass admin who signed in. */
  adminEmail: string;
  at: Date;
  /** The sign-in's request id, to find it in the audit trail. */
  requestId: string;
}

/** Data of the certificate mail: an IdP signing certificate of a group's SSO connection expires soon. */
export interface SsoCertificateMailData {
  tenantName: string;
  subject: string;
  fingerprint: string;
  validTo: Date;
}

/** Data of the deletion mail: the signed certificate of a dealer group's deletion, for its admins. */
export interface TenantDeletedMailData {
  /** The group's name as it was (the mail is the last place it appears). */
  tenantName: string;
  /** The certificate, verbatim JSON, and its base64 Ed25519 signature. */
  certificate: string;
  signature: string;
  /** The verifier key strings (`/v1/audit/keys`) that check the signature. */
  verifierKeys: string[];
}

/** A template and its data; `Mailer.send` takes one of these plus a recipient. */
export type TemplateMessage =
  | { template: 'invitation'; data: InvitationMailData }
  | { template: 'audit-checkpoint'; data: AuditCheckpointMailData }
  | { template: 'break-glass-sign-in'; data: BreakGlassMailData }
  | { template: 'sso-certificate-expiring'; data: SsoCertificateMailData }
  | { template: 'tenant-deleted'; data: TenantDeletedMailData };

/** The name of a template. */
export type MailTemplate = TemplateMessage['template'];

/** Renders the template a message names. */
export function renderMail(message: TemplateMessage): MailContent {
  switch (message.template) {
    case 'invitation':
      return invitationMail(message.data);
    case 'audit-checkpoint':
      return auditCheckpointMail(message.data);
    case 'break-glass-sign-in':
      return breakGlassMail(message.data);
    case 'sso-certificate-expiring':
      return ssoCertificateMail(message.data);
    case 'tenant-deleted':
      return tenantDeletedMail(message.data);
  }
}

const ROLE_LABELS: Record<string, string> = {
  platform_owner: 'platform owner',
  platform_support: 'platform support',
  dealer_admin: 'administrator',
  dealer_manager: 'manager',
  dealer_sales: 'salesperson',
  dealer_marketing: 'marketing',
};

/** An invitation to a dealer group (or, with `tenantName: null`, to the platform staff). */
export function invitationMail(data: InvitationMailData): MailContent {
  const url = webUrl(data.inviteUrl);
  const inviter = oneLine(data.inviterName);
  const tenant = data.tenantName === null ? null : oneLine(data.tenantName);
  const role = ROLE_LABELS[data.role] ?? data.role;
  const expires = formatUtc(data.expiresAt);

  const subject = tenant === null ? 'Join the Forecourt platform team' : `Join ${tenant} on Forecourt`;
  const where = tenant === null ? 'the Forecourt platform team' : `${tenant} on Forecourt`;

  const text = [
    'Hello,',
    '',
    `${inviter} has invited you to join ${where} as ${role}.`,
    '',
    'Accept the invitation:',
    url,
    '',
    `The link works once, only for this email address, and expires on ${expires}.`,
    'If you did not expect this invitation, you can ignore this message.',
    '',
    'Forecourt',
    '',
  ].join('\n');

  const whereHtml =
    tenant === null ? markup`the Forecourt platform team` : markup`<strong>${tenant}</strong> on Forecourt`;
  const small = 'font-size: 13px; color: #57606a;';
  const button =
    'display: inline-block; padding: 10px 18px; background: #1f4e8c; color: #ffffff; text-decoration: none; border-radius: 4px;';
  const body = mailPage(
    subject,
    markup`<p>${inviter} has invited you to join ${whereHtml} as ${role}.</p>
<p><a href="${url}" style="${button}">Accept the invitation</a></p>
<p style="${small}">Or open this link: <a href="${url}">${url}</a></p>
<p style="${small}">The link works once, only for this email address, and expires on ${expires}.
If you did not expect this invitation, you can ignore this message.</p>`,
  );

  return { subject, text, html: body };
}

/**
 * A signed checkpoint of the tenant's audit trail, for its admins to keep: with it they can later
 * prove that the trail up to `seq` was not rewritten or cut short.
 */
export function auditCheckpointMail(data: AuditCheckpointMailData): MailContent {
  const tenant = oneLine(data.tenantName);
  const subject = `Audit checkpoint ${data.seq} for ${tenant}`;
  const text = [
    'Hello,',
    '',
    `This is a signed checkpoint of the audit trail of ${tenant} on Forecourt: it covers the first`,
    `${data.seq} events. Keep this message unchanged. To check later that the trail was not rewritten or`,
    'shortened, export the trail and verify it against this checkpoint and the key below',
    '(npm run cli -- audit:verify --file <export> --public-key <key file>).',
    '',
    '----- checkpoint -----',
    data.note.trimEnd(),
    ...verifierKeysClosing(data.verifierKeys),
  ].join('\n');
  const html = mailPage(
    subject,
    markup`<p>This is a signed checkpoint of the audit trail of <strong>${tenant}</strong> on Forecourt: it covers the
first ${String(data.seq)} events. Keep this message unchanged: with it you can later check that the trail
was not rewritten or shortened.</p>
<pre style="${PRE_STYLE}">${data.note.trimEnd()}</pre>
<p>Verifier keys:</p>
<pre style="${PRE_STYLE}">${data.verifierKeys.join('\n')}</pre>`,
  );
  return { subject, text, html };
}

/**
 * The end of a dealer group on Forecourt: its data is deleted, and the signed certificate says
 * what went (counts only) and when.
 */
export function tenantDeletedMail(data: TenantDeletedMailData): MailContent {
  const tenant = oneLine(data.tenantName);
  const subject = `${tenant}: your data on Forecourt is deleted`;
  const text = [
    'Hello,',
    '',
    `The data of ${tenant} on Forecourt has been deleted: every row, every stored file, and the`,
    "group's encryption keys (so copies in backups can no longer be read). The certificate below,",
    "signed with Forecourt's audit key, states what was deleted and when. Keep this message unchanged.",
    '',
    '----- certificate -----',
    data.certificate,
    '----- signature (Ed25519, base64, over the certificate as canonical JSON) -----',
    data.signature,
    ...verifierKeysClosing(data.verifierKeys),
  ].join('\n');
  const html = mailPage(
    subject,
    markup`<p>The data of <strong>${tenant}</strong> on Forecourt has been deleted: every row, every stored file,
and the group's encryption keys. The certificate below, signed with Forecourt's audit key, states what was
deleted and when. Keep this message unchanged.</p>
<pre style="${PRE_STYLE}">${data.certificate}</pre>
<p>Signature:</p>
<pre style="${PRE_STYLE}">${data.signature}</pre>
<p>Verifier keys:</p>
<pre style="${PRE_STYLE}">${data.verifierKeys.join('\n')}</pre>`,
  );
  return { subject, text, html };
}

/** How a signed document and its keys are set in a mail's HTML: as-is, monospace. */
const PRE_STYLE =
  'font-family: monospace; font-size: 13px; background: #f6f8fa; padding: 8px; white-space: pre-wrap;';

/** The end of a mail that carries a signed document: the keys that verify it, and the signature. */
function verifierKeysClosing(verifierKeys: readonly string[]): string[] {
  return ['----- verifier keys -----', ...verifierKeys, '----------', '', 'Forecourt', ''];
}

/** Tells a group's other admins that a break-glass admin signed in with a password. */
export function breakGlassMail(data: BreakGlassMailData): MailContent {
  const tenant = oneLine(data.tenantName);
  const admin = oneLine(data.adminEmail);
  const at = data.at.toISOString();
  const subject = `Break-glass sign-in to ${tenant}`;
  const text = [
    'Hello,',
    '',
    `${admin} signed in to ${tenant} on Forecourt with a password at ${at}, past the group's`,
    'single sign-on rule (a break-glass administrator). If this was not expected, revoke the',
    "account's sessions and review the audit trail (request id below).",
    '',
    `Request id: ${oneLine(data.requestId)}`,
    '',
    'Forecourt',
    '',
  ].join('\n');
  const html = mailPage(
    subject,
    markup`<p><strong>${admin}</strong> signed in to <strong>${tenant}</strong> on Forecourt with a password at ${at},
past the group's single sign-on rule (a break-glass administrator). If this was not expected, revoke the
account's sessions and review the audit trail.</p>
<p>Request id: <code>${oneLine(data.requestId)}</code></p>`,
  );
  return { subject, text, html };
}

/** Tells a group's admins that its IdP signing certificate expires soon. */
export function ssoCertificateMail(data: SsoCertificateMailData): MailContent {
  const tenant = oneLine(data.tenantName);
  const until = data.validTo.toISOString().slice(0, 10);
  const subject = `The SSO signing certificate of ${tenant} expires on ${until}`;
  const text = [
    'Hello,',
    '',
    `The identity provider certificate that ${tenant}'s single sign-on trusts expires on ${until}:`,
    `  ${oneLine(data.subject)}`,
    `  SHA-256 fingerprint ${oneLine(data.fingerprint)}`,
    'After that date nobody can sign in with it. Create the next certificate at your identity',
    'provider and add it to the SSO connection next to this one (both work during the change), then',
    'switch the identity provider to it and remove the old one.',
    '',
    'Forecourt',
    '',
  ].join('\n');
  const html = mailPage(
    subject,
    markup`<p>The identity provider certificate that <strong>${tenant}</strong>'s single sign-on trusts expires on
<strong>${until}</strong>: ${oneLine(data.subject)} (SHA-256 fingerprint <code>${oneLine(data.fingerprint)}</code>).
After that date nobody can sign in with it.</p>
<p>Create the next certificate at your identity provider and add it to the SSO connection next to this one
(both work during the change), then switch the identity provider to it and remove the old one.</p>`,
  );
  return { subject, text, html };
}

/** The HTML part of every mail: the page, the greeting, `body`, the signature. */
function mailPage(subject: string, body: SafeHtml): string {
  return markup`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; color: #1f2328;">
<p>Hello,</p>
${body}
<p>Forecourt</p>
</body>
</html>
`.toString();
}

/** Markup that is already safe; only the `markup` tag makes one. */
class SafeHtml {
  constructor(private readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** A template literal tag that escapes every interpolated value except nested `markup` fragments. */
function markup(strings: TemplateStringsArray, ...values: (string | SafeHtml)[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += (value instanceof SafeHtml ? value.toString() : escapeHtml(value)) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Names go into subjects and single lines: collapse line breaks and runs of white space. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** Only http(s) links go into a mail (never `javascript:` or the like). */
function webUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('mail link must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error('mail link must be an absolute http(s) URL');
  }
  return url.href;
}

/** `2025-06-30 14:05 UTC`: unambiguous whatever the reader's locale. */
function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
