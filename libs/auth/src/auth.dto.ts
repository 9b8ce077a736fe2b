import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';

export class LoginDto {
  @ApiProperty() @IsEmail() @MaxLength(320) email!: string;
  @ApiProperty() @IsString() @Length(1, 256) password!: string;
}

export class MfaEnrollDto {
  @ApiProperty() @IsString() @MaxLength(512) mfaToken!: string;
}

export class MfaVerifyDto {
  @ApiProperty() @IsString() @MaxLength(512) mfaToken!: string;
  @ApiProperty({ description: 'a 6-digit TOTP code, or a recovery code' })
  @IsString()
  @Length(6, 32)
  code!: string;
}

export class SignInStepDto {
  @ApiProperty({ enum: ['mfa_enrollment_required', 'mfa_required'] }) status!: string;
  @ApiProperty() mfaToken!: string;
}

export class MfaEnrollmentDto {
  @ApiProperty({ description: 'base32 TOTP secret' }) secret!: string;
  @ApiProperty() otpauthUrl!: string;
}

export class SessionDto {
  @ApiProperty() token!: string;
  @ApiProperty() expiresAt!: Date;
  @ApiPropertyOptional({ type: [String], description: 'only when this call activated MFA' })
  recoveryCodes?: string[];
  @ApiProperty({
    description: 'for browser (cookie) sessions: send it as X-CSRF-Token on state-changing requests',
  })
  csrfToken!: string;
}

class MeUserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
}

class MeMembershipDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty() role!: string;
  @ApiProperty() allStores!: boolean;
  @ApiProperty({ type: [String] }) storeIds!: string[];
}

export class MeDto {
  @ApiProperty({ type: MeUserDto }) user!: MeUserDto;
  @ApiProperty({ enum: ['platform_owner', 'platform_support'], nullable: true }) platformRole!: string | null;
  @ApiProperty({ type: [MeMembershipDto] }) memberships!: MeMembershipDto[];
}
