import {
  auditCheckpointMail,
  escapeHtml,
  invitationMail,
  renderMail,
  type InvitationMailData,
} from './index';

const data: InvitationMailData = {
  inviteUrl: 'https://app.example.com/invite?token=abc_DEF-123&x=1',
  tenantName: 'Acme Motors',
  role: 'dealer_admin',
  inviterName: 'Ada Lovelace',
  expiresAt: new Date('2025-06-30T14:05:59.000Z'),
};

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('invitationMail', () => {
  it('names the group, the inviter, the role, the link and the expiry in both parts', () => {
    const mail = invitationMail(data);
    expect(mail.subject).toBe('Join Acme Motors on Forecourt');
    expect(mail.text).toContain(
      'Ada Lovelace has invited you to join Acme Motors on Forecourt as administrator.',
    );
    expect(mail.text).toContain(`\n${data.inviteUrl}\n`);
    expect(mail.text).toContain('expires on 2025-06-30 14:05 UTC');
    expect(mail.html).toContain('<strong>Acme Motors</strong>');
    expect(mail.html).toContain('href="https://app.example.com/invite?token=abc_DEF-123&amp;x=1"');
    expect(mail.html).toContain('expires on 2025-06-30 14:05 UTC');
  });

  it('invites to the platform staff when there is no tenant', () => {
    const mail = invitationMail({ ...data, tenantName: null, role: 'platform_support' });
    expect(mail.subject).toBe('Join the Forecourt platform team');
    expect(mail.text).toContain('to join the Forecourt platform team as platform support.');
    expect(mail.html).toContain('to join the Forecourt platform team as platform support.');
  });

  it('escapes every value in the HTML and keeps it verbatim in the text', () => {
    const mail = invitationMail({
      ...data,
      tenantName: '<script>alert(1)</script>',
      inviterName: `Eve "the" O'Hacker <img src=x onerror=alert(2)>`,
      role: 'role_<b>',
    });
    expect(mail.html).not.toMatch(/<script|<img|<b>/);
    expect(mail.html).toContain('<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>');
    expect(mail.html).toContain('Eve &quot;the&quot; O&#39;Hacker &lt;img src=x onerror=alert(2)&gt;');
    expect(mail.html).toContain('<title>Join &lt;script&gt;alert(1)&lt;/script&gt; on Forecourt</title>');
    expect(mail.text).toContain('<script>alert(1)</script>');
    expect(mail.text).toContain(`Eve "the" O'Hacker <img src=x onerror=alert(2)>`);
    expect(mail.subject).toBe('Join <script>alert(1)</script> on Forecourt');
  });

  it('keeps names on one line', () => {
    const mail = invitationMail({ ...data, tenantName: 'Acme\r\nBcc: x@evil.example', inviterName: 'A\nB' });
    expect(mail.subject).toBe('Join Acme Bcc: x@evil.example on Forecourt');
    expect(mail.text).toContain('A B has invited you');
  });

  it.each(['javascript:alert(1)', '/invite?token=abc', 'data:text/html,hi'])('refuses the link %s', (url) => {
    expect(() => invitationMail({ ...data, inviteUrl: url })).toThrow('http(s) URL');
  });

  it('is what renderMail renders for the "invitation" template', () => {
    expect(renderMail({ template: 'invitation', data })).toEqual(invitationMail(data));
  });
});

describe('auditCheckpointMail', () => {
  const note =
    'forecourt/audit/t1\n42\nq83vEjsnb+Ro2CpSpJT8LXtr9AqvZl2mLZ8aOcfYwGs=\ntime 2026-11-23T10:00:00.000Z\n\n\u2014 forecourt-audit AbCd<script>\n';
  const mail = auditCheckpointMail({
    tenantName: 'Acme\nMotors',
    seq: 42,
    note,
    verifierKeys: ['forecourt-audit+0a1b2c3d+AQ=='],
  });

  it('carries the signed note verbatim in the text part, with the verifier key', () => {
    expect(mail.subject).toBe('Audit checkpoint 42 for Acme Motors');
    expect(mail.text).toContain(`----- checkpoint -----\n${note.trimEnd()}\n----- verifier keys -----`);
    expect(mail.text).toContain('forecourt-audit+0a1b2c3d+AQ==');
  });

  it('escapes the note in the HTML part', () => {
    expect(mail.html).toContain('AbCd&lt;script&gt;');
    expect(mail.html).not.toContain('<script>');
  });
});
