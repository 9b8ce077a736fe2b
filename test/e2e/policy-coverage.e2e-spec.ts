import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { AuthModule, SessionGuard } from '@forecourt/auth';
import { AccessGuard, Can, PolicyCoverageError, Redact, WithoutPolicy } from '@forecourt/authz';
import { startTestApi } from '@forecourt/test-harness';

@Controller('v1/forgotten')
class ForgottenController {
  @Get('open')
  open(): string {
    return 'anyone';
  }

  @Get('marked')
  @WithoutPolicy('a deliberate public route')
  marked(): string {
    return 'anyone, on purpose';
  }
}

@Controller('v1/half-guarded')
@UseGuards(SessionGuard)
class HalfGuardedController {
  @Get()
  @Can('read', 'Store')
  read(): string {
    return 'a @Can that nothing enforces';
  }
}

@Controller('v1/redacted-unguarded')
class RedactedWithoutPolicyController {
  @Get()
  @WithoutPolicy('public, it says')
  @Redact('Customer')
  read(): { nationalId: string } {
    return { nationalId: 'a field only AccessGuard would have taken out' };
  }
}

@Controller('v1/guarded')
@UseGuards(SessionGuard, AccessGuard)
class GuardedController {
  @Get()
  @Can('read', 'Store')
  read(): string {
    return 'fine';
  }
}

@Module({ controllers: [ForgottenController] })
class ForgottenModule {}
@Module({ imports: [AuthModule], controllers: [HalfGuardedController] })
class HalfGuardedModule {}
@Module({ controllers: [RedactedWithoutPolicyController] })
class RedactedWithoutPolicyModule {}
@Module({ imports: [AuthModule], controllers: [GuardedController] })
class GuardedModule {}

describe('every route declares its policy, or the API does not start', () => {
  it('refuses to start with a route that declares neither @Can nor @WithoutPolicy, and names it', async () => {
    const started = startTestApi({ extraImports: [ForgottenModule] });
    await expect(started).rejects.toBeInstanceOf(PolicyCoverageError);
    await expect(started).rejects.toMatchObject({ routes: ['ForgottenController.open'] });
  });

  it('refuses to start with a @Can route that is not behind AccessGuard', async () => {
    await expect(startTestApi({ extraImports: [HalfGuardedModule] })).rejects.toMatchObject({
      routes: ['HalfGuardedController.read (declares @Can but is not behind AccessGuard)'],
    });
  });

  // AccessGuard hands the redaction to the pipeline, and only on routes that declare @Can.
  it('refuses to start with a @Redact route that declares no @Can, however it is marked', async () => {
    await expect(startTestApi({ extraImports: [RedactedWithoutPolicyModule] })).rejects.toMatchObject({
      routes: ['RedactedWithoutPolicyController.read (declares @Redact but not @Can)'],
    });
  });

  it('starts when every route is covered (the product routes and a guarded extra one)', async () => {
    const api = await startTestApi({ extraImports: [GuardedModule] });
    try {
      expect((await api.app.inject({ method: 'GET', url: '/v1/guarded' })).statusCode).toBe(401);
    } finally {
      await api.close();
    }
  });
});
