import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { RouteIds } from '@forecourt/core';

/** The roles SSO may give: the dealer side of the matrix. */
export const SSO_ROLES = ['dealer_admin', 'dealer_manager', 'dealer_sales', 'dealer_marketing'] as const;
export type SsoRole = (typeof SSO_ROLES)[number];

export class SamlTenantParams extends RouteIds('tenantId') {}

export class SamlSlugParams {
  @ApiProperty() @IsString() @Length(1, 100) tenantSlug!: string;
}

/** A role and the stores it covers. */
export class SsoGrantDto {
  @ApiProperty({ enum: SSO_ROLES }) @IsIn(SSO_ROLES) role!: SsoRole;
  @ApiProperty() @IsBoolean() allStores!: boolean;
  @ApiProperty({ type: [String] })
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  storeIds!: string[];
}

/** Members of the IdP group `group` get this role (the first matching rule wins). */
export class SsoRoleRuleDto extends SsoGrantDto {
  @ApiProperty({ example: 'Sales-North' }) @IsString() @Length(1, 256) group!: string;
}

export class PutSamlConnectionDto {
  @ApiPropertyOptional({ description: "the IdP's entity id (the Issuer of its responses)" })
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  idpEntityId?: string;
  @ApiPropertyOptional({ description: "the IdP's SSO URL (HTTP-Redirect binding)" })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['https', 'http'], require_protocol: true })
  @MaxLength(2048)
  idpSsoUrl?: string;
  @ApiPropertyOptional({
    type: [String],
    description: 'PEM signing certificates; several during a rotation. Expired or malformed ones are refused',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsString({ each: true })
  @MaxLength(20_000, { each: true })
  idpCertificates?: string[];
  @ApiPropertyOptional({
    description: "the IdP's metadata XML: entity id, SSO URL and certificates taken from it where not given",
  })
  @IsOptional()
  @IsString()
  @MaxLength(500_000)
  idpMetadataXml?: string;
  @ApiProperty({ description: 'SSO-only: password sign-in refused except for the break-glass admins' })
  @IsBoolean()
  enforce!: boolean;
  @ApiPropertyOptional({
    description: 'accept responses the IdP sends unasked (IdP-initiated); default false',
  })
  @IsOptional()
  @IsBoolean()
  allowIdpInitiated?: boolean;
  @ApiPropertyOptional({
    description:
      'require the Response to be signed, not only the Assertion; default true (Entra and Google sign only the assertion)',
  })
  @IsOptional()
  @IsBoolean()
  wantResponseSigned?: boolean;
  @ApiPropertyOptional({ description: 'accept RSA-SHA1 signatures; default false' })
  @IsOptional()
  @IsBoolean()
  allowSha1?: boolean;
  @ApiProperty({ type: [SsoRoleRuleDto] })
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => SsoRoleRuleDto)
  roleMapping!: SsoRoleRuleDto[];
  @ApiProperty({ type: SsoGrantDto, nullable: true, description: 'null: users no rule matches are refused' })
  @IsOptional()
  @ValidateNested()
  @Type(() => SsoGrantDto)
  defaultRole!: SsoGrantDto | null;
  @ApiPropertyOptional({
    type: [String],
    description: 'dealer_admins who may still sign in with password + TOTP when SSO is enforced',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsUUID('all', { each: true })
  breakGlassUserIds?: string[];
}

export class IdpCertificateDto {
  @ApiProperty() subject!: string;
  @ApiProperty() validFrom!: string;
  @ApiProperty() validTo!: string;
  @ApiProperty() fingerprint!: string;
  @ApiProperty({ description: 'expires within 30 days' }) expiresSoon!: boolean;
}

export class SamlConnectionDto {
  @ApiProperty() idpEntityId!: string;
  @ApiProperty() idpSsoUrl!: string;
  @ApiProperty({ type: [String] }) idpCertificates!: string[];
  @ApiProperty({ type: [IdpCertificateDto] }) certificates!: IdpCertificateDto[];
  @ApiProperty() enforce!: boolean;
  @ApiProperty() allowIdpInitiated!: boolean;
  @ApiProperty() wantResponseSigned!: boolean;
  @ApiProperty() allowSha1!: boolean;
  @ApiProperty({ type: [SsoRoleRuleDto] }) roleMapping!: SsoRoleRuleDto[];
  @ApiProperty({ type: SsoGrantDto, nullable: true }) defaultRole!: SsoGrantDto | null;
  @ApiProperty({ type: [String] }) breakGlassUserIds!: string[];
  @ApiProperty({ description: 'this tenant’s SP entity id (give it to the IdP)' }) spEntityId!: string;
  @ApiProperty({ description: 'this tenant’s ACS URL (give it to the IdP)' }) acsUrl!: string;
  @ApiProperty() metadataUrl!: string;
  @ApiProperty() loginUrl!: string;
}

export class SsoFailureDto {
  @ApiProperty() at!: string;
  @ApiProperty({ description: 'a fixed reason key, e.g. audience, expired, signature, replayed' })
  reason!: string;
  @ApiProperty({ description: 'what to fix' }) detail!: string;
  @ApiProperty({ nullable: true, type: String, description: 'the refused request, for the log' })
  requestId!: string | null;
}

export class SsoTestParams {
  @ApiProperty() @IsUUID() tenantId!: string;
  @ApiProperty() @IsString() @Length(1, 256) testId!: string;
}

export class SsoTestStartDto {
  @ApiProperty({ description: 'the test’s id (the AuthnRequest id)' }) id!: string;
  @ApiProperty({
    description: 'open in a browser: sign in at the IdP, and the ACS reports instead of signing in',
  })
  loginUrl!: string;
}

export class SsoTestDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['pending', 'passed', 'failed'] }) status!: 'pending' | 'passed' | 'failed';
  @ApiProperty({ nullable: true, type: String, description: 'a fixed reason key when it failed' })
  reason!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'what to fix, when it failed' }) detail!:
    string | null;
  @ApiProperty({ nullable: true, type: String, description: 'the NameID the IdP sent' }) nameId!:
    string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'the groups the IdP sent' }) groups!:
    string[] | null;
  @ApiProperty({ type: SsoGrantDto, nullable: true, description: 'what the mapping gives these groups' })
  mappedRole!: SsoGrantDto | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) finishedAt!: string | null;
}
