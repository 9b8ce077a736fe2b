import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, MaxLength, ValidateBy, type ValidationOptions } from 'class-validator';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where the provider's page sends the admin back to: https, or http only to this machine (local
 * development). The provider redirects a signed-in admin there, so plain http on the open
 * network is refused; credentials in the URL are too.
 */
export function isReturnUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
}

function IsReturnUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isReturnUrl',
      validator: {
        validate: isReturnUrl,
        defaultMessage: () => '$property must be an https:// URL (http:// only for localhost)',
      },
    },
    options,
  );
}

export class OpenPortalDto {
  @ApiPropertyOptional({
    description:
      'where the provider page links back to; https (http only for localhost). Default: PUBLIC_URL',
    example: 'https://app.example.com/settings/billing',
  })
  @IsOptional()
  @MaxLength(2048)
  @IsReturnUrl()
  returnUrl?: string;
}

export class PortalLinkDto {
  @ApiProperty({ description: "the provider's hosted billing page, valid for a short while" })
  url!: string;
}
