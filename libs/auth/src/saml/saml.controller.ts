import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessGuard, Can, WithoutPolicy } from '@forecourt/authz';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Ctx, type RequestContext } from '@forecourt/core';
import { escapeHtml } from '@forecourt/mail';
import { setSessionCookies } from '../browser-session';
import { SessionGuard } from '../session.guard';
import {
  PutSamlConnectionDto,
  SamlConnectionDto,
  SamlSlugParams,
  SamlTenantParams,
  SsoFailureDto,
  SsoTestDto,
  SsoTestParams,
  SsoTestStartDto,
} from './saml-connection.dto';
import { SsoTests } from './sso-tests';
import { SamlConnections } from './saml-connections';
import { SamlSignIn } from './saml-sign-in';

export class SamlLoginQuery {
  @IsOptional() @IsString() @MaxLength(1024) returnTo?: string;
}

export class SamlAcsBody {
  @IsOptional() @IsString() @MaxLength(1_000_000) SAMLResponse?: string;
  @IsOptional() @IsString() @MaxLength(256) RelayState?: string;
}

/** A tenant's SAML connection, managed by its dealer_admin. */
@ApiTags('sso')
@Controller('v1/tenants/:tenantId/sso/saml')
@ApiBearerAuth()
@UseGuards(SessionGuard, AccessGuard)
export class SamlConnectionController {
  constructor(
    private readonly connections: SamlConnections,
    private readonly signIn: SamlSignIn,
    private readonly tests: SsoTests,
  ) {}

  @Get()
  @Can('update', 'Tenant')
  @ApiOkResponse({ type: SamlConnectionDto })
  get(@Ctx() ctx: RequestContext, @Param() _p: SamlTenantParams): Promise<SamlConnectionDto> {
    return this.connections.get(ctx);
  }

  @Post('test')
  @Can('update', 'Tenant')
  @HttpCode(201)
  @ApiCreatedResponse({ type: SsoTestStartDto })
  startTest(@Ctx() ctx: RequestContext, @Param() _p: SamlTenantParams): Promise<SsoTestStartDto> {
    return this.signIn.startTest(ctx);
  }

  @Get('test/:testId')
  @Can('update', 'Tenant')
  @ApiOkResponse({ type: SsoTestDto })
  test(@Ctx() ctx: RequestContext, @Param() params: SsoTestParams): Promise<SsoTestDto> {
    return this.tests.get(ctx, params.testId);
  }

  @Get('failures')
  @Can('update', 'Tenant')
  @ApiOkResponse({ type: [SsoFailureDto] })
  failures(@Ctx() ctx: RequestContext, @Param() _p: SamlTenantParams): Promise<SsoFailureDto[]> {
    return this.connections.failures(ctx);
  }

  @Put()
  @Can('update', 'Tenant')
  @ApiOkResponse({ type: SamlConnectionDto })
  put(
    @Ctx() ctx: RequestContext,
    @Param() _p: SamlTenantParams,
    @Body() body: PutSamlConnectionDto,
  ): Promise<SamlConnectionDto> {
    return this.connections.put(ctx, body);
  }
}

/** The service provider's public endpoints, per tenant slug: metadata, login, assertion consumer. */
@ApiTags('sso')
@Controller('v1/sso/saml/:tenantSlug')
export class SamlController {
  private readonly secureCookies: boolean;

  constructor(
    private readonly signIn: SamlSignIn,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.secureCookies = config.publicUrl.startsWith('https://');
  }

  @Get('metadata')
  @WithoutPolicy('public SP metadata for the IdP')
  @Header('content-type', 'application/samlmetadata+xml; charset=utf-8')
  @ApiProduces('application/samlmetadata+xml')
  metadata(@Param() params: SamlSlugParams): Promise<string> {
    return this.signIn.metadata(params.tenantSlug);
  }

  @Get('login')
  @WithoutPolicy('sign-in: the caller is not known yet')
  async login(
    @Param() params: SamlSlugParams,
    @Query() query: SamlLoginQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const location = await this.signIn.loginUrl(params.tenantSlug, query.returnTo ?? null);
    await reply.code(302).header('location', location).header('cache-control', 'no-store').send();
  }

  @Post('acs')
  @WithoutPolicy('sign-in: the signed SAML response is the credential')
  @HttpCode(200)
  async acs(
    @Ctx() ctx: RequestContext,
    @Param() params: SamlSlugParams,
    @Body() body: SamlAcsBody,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.signIn.consume(ctx, params.tenantSlug, body.SAMLResponse, body.RelayState);
    void reply.header('cache-control', 'no-store');
    if (outcome.kind === 'test') {
      const { test } = outcome;
      if (wantsJson(request)) {
        await reply.send({ test });
        return;
      }
      const verdict =
        test.status === 'passed'
          ? `Passed: ${test.nameId ?? ''} would sign in as ${test.mappedRole?.role ?? ''}.`
          : `Failed: ${test.detail ?? test.reason ?? ''}`;
      await reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><meta charset="utf-8"><title>SSO connection test</title>` +
            `<p>${escapeHtml(verdict)}</p><p>Nobody was signed in.</p>`,
        );
      return;
    }
    const { signedIn } = outcome;
    if (wantsJson(request)) {
      await reply.send({ token: signedIn.token, expiresAt: signedIn.expiresAt.toISOString() });
      return;
    }
    setSessionCookies(reply, signedIn.token, signedIn.expiresAt, this.secureCookies);
    // The IdP's page posted here, so this response is a cross-site navigation: the browser would
    // not send the (SameSite=Strict) session cookie on a redirect from it. A page of our own that
    // moves on starts a same-site navigation, which does.
    const target = `${this.config.publicUrl}${signedIn.returnTo ?? '/'}`;
    await reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${escapeHtml(target)}">` +
          `<title>Signed in</title><a href="${escapeHtml(target)}">Continue</a>`,
      );
  }
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/(json|problem\+json)/.test(accept);
}
