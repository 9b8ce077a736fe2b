import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { WithoutPolicy } from '@forecourt/authz';

/** RFC 9116 vulnerability-disclosure contact. */
@ApiExcludeController()
@WithoutPolicy('the public vulnerability-disclosure contact')
@Controller('.well-known')
export class SecurityTxtController {
  private readonly body: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString();
    this.body = [
      `Contact: ${config.securityContact}`,
      `Expires: ${expires}`,
      'Preferred-Languages: en',
      `Canonical: ${config.publicUrl}/.well-known/security.txt`,
      '',
    ].join('\n');
  }

  @Get('security.txt')
  @Header('content-type', 'text/plain; charset=utf-8')
  securityTxt(): string {
    return this.body;
  }
}
