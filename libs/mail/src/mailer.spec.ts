import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@forecourt/config';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mailer, MailModule, type InvitationMailData, type OutgoingMail } from './index';

const inviteUrl = 'https://app.example.com/invite?token=tok_3xAmPlE-secret-value';
const data: InvitationMailData = {
  inviteUrl,
  tenantName: 'Acme Motors',
  role: 'dealer_admin',
  inviterName: 'Ada Lovelace',
  expiresAt: new Date('2025-06-30T14:05:00.000Z'),
};
const invitation: OutgoingMail = { to: 'dana@dealer.example', template: 'invitation', data };

let tmp: string;
let debug: jest.SpyInstance;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'forecourt-mail-'));
  debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(tmp, { recursive: true, force: true });
});

const configFor = (env: Record<string, string> = {}) =>
  loadConfig({
    DATA_DIR: tmp,
    MAIL_DIR: join(tmp, 'mail'),
    PUBLIC_URL: 'https://app.example.com',
    LOG_LEVEL: 'silent',
    ...env,
  });

/** Splits an RFC 5322 message into its header block and body. */
function splitMessage(raw: string): { headers: string; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  return { headers: raw.slice(0, end), body: raw.slice(end + 4) };
}

/** The decoded body of the part with the given content type, from a multipart message. */
function part(raw: string, contentType: string): string {
  const { headers, body } = splitMessage(raw);
  const boundary = /^Content-Type: multipart\/alternative;\s*boundary="?([^"\r\n]+)"?/im.exec(headers)?.[1];
  if (!boundary) throw new Error('not multipart/alternative');
  const found = body
    .split(`--${boundary}`)
    .map(splitMessage)
    .find((p) => new RegExp(`^Content-Type: ${contentType}`, 'im').test(p.headers));
  if (!found) throw new Error(`no ${contentType} part`);
  const encoding = /^Content-Transfer-Encoding: (\S+)/im.exec(found.headers)?.[1]?.toLowerCase() ?? '7bit';
  if (encoding === 'base64') return Buffer.from(found.body, 'base64').toString('utf8');
  if (encoding !== 'quoted-printable') return found.body;
  const soft = found.body.replace(/=\r\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=') {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(soft.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('Mailer without SMTP_URL: .eml files in MAIL_DIR', () => {
  it('writes one complete RFC 5322 message, mode 0600, in a 0700 folder it creates', async () => {
    const config = configFor();
    const mailer = new Mailer(config);
    await mailer.send(invitation);
    mailer.onModuleDestroy();

    const files = readdirSync(config.mailDir);
    expect(files).toEqual([expect.stringMatching(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{12}\.eml$/)]);
    const file = join(config.mailDir, files[0] ?? '');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(config.mailDir).mode & 0o777).toBe(0o700);

    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toMatch(/[^\r]\n/); // CRLF line endings throughout
    const { headers } = splitMessage(raw);
    expect(headers).toMatch(/^To: dana@dealer\.example$/m);
    expect(headers).toMatch(/^From: Forecourt <no-reply@app\.example\.com>$/m);
    expect(headers).toMatch(/^Subject: Join Acme Motors on Forecourt$/m);
    expect(headers).toMatch(/^Date: .+$/m);
    expect(headers).toMatch(/^Message-ID: <.+@app\.example\.com>$/m);
    expect(headers).toMatch(/^MIME-Version: 1\.0$/m);
    expect(headers).toMatch(/^Auto-Submitted: auto-generated$/m);

    const text = part(raw, 'text/plain');
    expect(text).toContain(inviteUrl);
    expect(text).toContain('Ada Lovelace has invited you to join Acme Motors on Forecourt');
    const html = part(raw, 'text/html');
    expect(html).toContain(`<a href="${inviteUrl}"`);
  });

  it('never exposes a partial file: every .eml seen while 20 messages are written is complete', async () => {
    const config = configFor();
    const mailer = new Mailer(config);
    await mailer.send(invitation); // creates the folder, so it can be watched
    const seen = new Map<string, string>();
    const watcher = watch(config.mailDir, () => {
      for (const name of readdirSync(config.mailDir)) {
        if (name.endsWith('.eml') && !seen.has(name)) {
          seen.set(name, readFileSync(join(config.mailDir, name), 'utf8'));
        }
      }
    });
    await Promise.all(Array.from({ length: 20 }, () => mailer.send(invitation)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    watcher.close();
    mailer.onModuleDestroy();

    const names = readdirSync(config.mailDir);
    expect(names).toHaveLength(21);
    expect(names.every((name) => name.endsWith('.eml'))).toBe(true); // no temporary file left
    expect(seen.size).toBeGreaterThan(0);
    for (const raw of seen.values()) {
      const boundary = /boundary="?([^"\r\n]+)"?/.exec(raw)?.[1] ?? '';
      expect(raw.endsWith(`--${boundary}--\r\n`)).toBe(true);
    }
  });

  it('logs only the template and the recipient domain, never the body or the link', async () => {
    const mailer = new Mailer(configFor());
    await mailer.send(invitation);
    mailer.onModuleDestroy();
    const logged = JSON.stringify(debug.mock.calls);
    expect(logged).toContain('invitation');
    expect(logged).toContain('dealer.example');
    expect(logged).not.toContain('dana');
    expect(logged).not.toContain('tok_3xAmPlE');
    expect(logged).not.toContain('Acme');
  });

  it.each([
    'a@x.example, b@y.example',
    'Dana <dana@dealer.example>',
    'dana@dealer.example\r\nBcc: e@evil.example',
    'nobody',
  ])('refuses the recipient %j and writes nothing', async (to) => {
    const config = configFor();
    const mailer = new Mailer(config);
    await expect(mailer.send({ ...invitation, to })).rejects.toThrow('single plain address');
    mailer.onModuleDestroy();
    expect(() => readdirSync(config.mailDir)).toThrow();
  });

  it('is provided by MailModule with the APP_CONFIG of ConfigModule', async () => {
    const config = configFor();
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), MailModule],
    }).compile();
    await moduleRef.get(Mailer).send(invitation);
    await moduleRef.close();
    expect(readdirSync(config.mailDir)).toHaveLength(1);
  });
});

/** Just enough of an SMTP server for nodemailer: greeting, EHLO, MAIL, RCPT, DATA, QUIT. */
async function smtpSink(): Promise<{
  server: Server;
  port: number;
  received: { envelope: string[]; data: string }[];
}> {
  const received: { envelope: string[]; data: string }[] = [];
  const server = createServer((socket) => {
    let buffer = '';
    let envelope: string[] = [];
    let inData = false;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          received.push({ envelope, data: buffer.slice(0, end + 2).replace(/^\.\./gm, '.') });
          buffer = buffer.slice(end + 5);
          envelope = [];
          inData = false;
          reply('250 2.0.0 queued');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol === -1) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        switch (line.slice(0, 4).toUpperCase()) {
          case 'MAIL':
          case 'RCPT':
            envelope.push(line);
            reply('250 2.1.0 OK');
            break;
          case 'DATA':
            inData = true;
            reply('354 end with <CRLF>.<CRLF>');
            break;
          case 'QUIT':
            reply('221 2.0.0 bye');
            socket.end();
            return;
          default: // EHLO, HELO, RSET, NOOP
            reply('250 sink.test');
        }
      }
    });
    reply('220 sink.test ESMTP');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

describe('Mailer with SMTP_URL', () => {
  it('delivers the rendered message to the SMTP server', async () => {
    const sink = await smtpSink();
    try {
      const config = configFor({ SMTP_URL: `smtp://127.0.0.1:${sink.port}` });
      const mailer = new Mailer(config);
      await mailer.send(invitation);
      mailer.onModuleDestroy();

      expect(sink.received).toHaveLength(1);
      const [message] = sink.received;
      expect(message?.envelope).toEqual([
        'MAIL FROM:<no-reply@app.example.com>',
        'RCPT TO:<dana@dealer.example>',
      ]);
      expect(message?.data).toMatch(/^Subject: Join Acme Motors on Forecourt$/m);
      expect(message?.data).toMatch(/^To: dana@dealer\.example$/m);
      expect(part(message?.data ?? '', 'text/plain')).toContain(inviteUrl);
      expect(() => readdirSync(config.mailDir)).toThrow(); // nothing written to MAIL_DIR
    } finally {
      await new Promise((resolve) => sink.server.close(resolve));
    }
  });

  it('rejects when the SMTP server cannot be reached', async () => {
    const sink = await smtpSink();
    await new Promise((resolve) => sink.server.close(resolve)); // a port nobody listens on now
    const mailer = new Mailer(configFor({ SMTP_URL: `smtp://127.0.0.1:${sink.port}` }));
    await expect(mailer.send(invitation)).rejects.toThrow();
    mailer.onModuleDestroy();
  });
});
