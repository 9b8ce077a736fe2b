import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
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
import { SessionGuard } from './session.guard';

/** Sign-in: password, then mandatory TOTP; the contract is in shared/API.md. */
@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: SignInStepDto })
  login(@Ctx() ctx: RequestContext, @Body() body: LoginDto): Promise<SignInStepDto> {
    return this.auth.login(ctx, body.email, body.password);
  }

  @Post('mfa/enroll')
  @HttpCode(200)
  @ApiOkResponse({ type: MfaEnrollmentDto })
  enroll(@Ctx() ctx: RequestContext, @Body() body: MfaEnrollDto): Promise<MfaEnrollmentDto> {
    return this.auth.enroll(ctx, body.mfaToken);
  }

  @Post('mfa/verify')
  @HttpCode(200)
  @ApiOkResponse({ type: SessionDto })
  verify(@Ctx() ctx: RequestContext, @Body() body: MfaVerifyDto): Promise<SessionDto> {
    return this.auth.verify(ctx, body.mfaToken, body.code);
  }

  @Get('me')
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiOkResponse({ type: MeDto })
  me(@Ctx() ctx: RequestContext): Promise<MeDto> {
    return this.auth.me(ctx.principal!);
  }

  @Post('logout')
  @HttpCode(204)
  @UseGuards(SessionGuard)
  @ApiBearerAuth()
  @ApiNoContentResponse()
  logout(@Ctx() ctx: RequestContext): Promise<void> {
    return this.auth.logout(ctx, ctx.principal!);
  }
}
