import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { createTransport, type SendMailOptions } from 'nodemailer';
import { writeMailFile } from './mail-dir';
import { renderMail, type TemplateMessage } from './templates';

/** One message to send: a recipient, a template and that template's data. */
export type OutgoingMail = { to: string } & TemplateMessage;

/** Where rendered messages go: an SMTP server, or `.eml` files in a folder. */
interface Delivery {
  deliver(mail: SendMailOptions): Promise<void>;
  close(): void;
}

/** nodemailer over `SMTP_URL`, with timeouts short enough that a dead server fails a request. */
function smtpDelivery(url: string): Delivery {
  const transport = createTransport({
    url,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
  });
  return {
    deliver: async (mail) => {
      await transport.sendMail(mail);
    },
    close: () => transport.close(),
  };
}

/** The whole RFC 5322 message, built by nodemailer, written as an `.eml` file into `dir`. */
function mailDirDelivery(dir: string): Delivery {
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    deliver: async (mail) => {
      const { message } = await transport.sendMail(mail);
      if (!Buffer.isBuffer(message)) throw new Error('nodemailer returned a stream, not a buffer');
      await writeMailFile(dir, message);
    },
    close: () => transport.close(),
  };
}

/** A single plain address; no display name, list or line break can ride along. */
const SINGLE_ADDRESS = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;

/**
 * Sends Forecourt's mail: through SMTP when `SMTP_URL` is set, otherwise as `.eml` files in
 * `MAIL_DIR`. Messages come only from the templates; their bodies (which may carry tokens) are
 * never logged, only the template's name and the recipient's domain, at debug level.
 */
@Injectable()
export class Mailer implements OnModuleDestroy {
  private readonly logger = new Logger(Mailer.name);
  private readonly from: { name: string; address: string };
  private readonly delivery: Delivery;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.from = { name: 'Forecourt', address: `no-reply@${new URL(config.publicUrl).hostname}` };
    this.delivery = config.smtpUrl ? smtpDelivery(config.smtpUrl) : mailDirDelivery(config.mailDir);
  }

  /** Renders the message's template and delivers it; rejects when delivery fails. */
  async send(message: OutgoingMail): Promise<void> {
    if (!SINGLE_ADDRESS.test(message.to)) throw new Error('mail recipient must be a single plain address');
    const content = renderMail(message);
    await this.delivery.deliver({
      from: this.from,
      to: message.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    const domain = message.to.slice(message.to.lastIndexOf('@') + 1).toLowerCase();
    this.logger.debug(`sent "${message.template}" mail to a recipient at ${domain}`);
  }

  onModuleDestroy(): void {
    this.delivery.close();
  }
}
