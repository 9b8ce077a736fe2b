import { Body, Controller, Get, HttpCode, Inject, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Ctx, type RequestContext } from '@forecourt/core';
import {
  LoginDto,
  MeDto,
  MfaEnrollDto,
  MfaEnrollmentDto,
  MfaVerifyDto,
  SessionDto,
  SignInStepDto,
} from './auth.dto';
import { AuthService } from './auth.service';
import { clearSessionCookies, csrfTokenFor, setSessionCookies } from './browser-session';
import { SessionGuard } from './session.guard';
import { WithoutPolicy } from '@forecourt/authz';

/** Sign-in: password, then mandatory TOTP; the contract is in shared/API.md. */
@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  private readonly secureCookies: boolean;

  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.secureCookies = config.publicUrl.startsWith('https://');
  }

  @Post('login')
  @WithoutPolicy('sign-in: the caller is not known yet')
  @HttpCode(200)
  @ApiOkResponse({ type: SignInStepDto })
  login(@Ctx() ctx: RequestContext, @Body() body: LoginDto): Promise<SignInStepDto> {
    return this.auth.login(ctx, body.email, body.password);
  }

  @Post('mfa/enroll')
  @WithoutPolicy('sign-in: the MFA token is the credential')
  @HttpCode(200)
  @ApiOkResponse({ type: MfaEnrollmentDto })
  enroll(@Ctx() ctx: RequestContext, @Body() body: MfaEnrollDto): Promise<MfaEnrollmentDto> {
    return this.auth.enroll(ctx, body.mfaToken);
  }

  @Post('mfa/verify')
  @WithoutPolicy('sign-in: the MFA token is the credential')
  @HttpCode(200)
  @ApiOkResponse({ type: SessionDto })
  async verify(
    @Ctx() ctx: RequestContext,
    @Body() body: MfaVerifyDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionDto> {
    const session = await this.auth.verify(ctx, body.mfaToken, body.code);
    setSessionCookies(reply, session.token, session.expiresAt, this.secureCookies);
    return { ...session, csrfToken: csrfTokenFor(session.token) };
  }

  @Get('me')
  @WithoutPolicy("the caller's own account")
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOkResponse({ type: MeDto })
  me(@Ctx() ctx: RequestContext): Promise<MeDto> {
    return this.auth.me(ctx.principal!);
  }

  @Post('logout')
  @WithoutPolicy("the caller's own session")
  @HttpCode(204)
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiNoContentResponse()
  async logout(@Ctx() ctx: RequestContext, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.auth.logout(ctx, ctx.principal!);
    clearSessionCookies(reply, this.secureCookies);
  }
}
