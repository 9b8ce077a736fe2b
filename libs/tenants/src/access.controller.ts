import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { type AccessExplanation, ACTIONS, type Action, Can, type Subject, SUBJECTS } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { AccessExplanations } from './access-explanations';
import { TenantParams } from './tenant.dto';
import { Guarded } from './guarded';

export class ExplainQueryDto {
  @ApiProperty() @IsUUID() userId!: string;
  @ApiProperty({ enum: ACTIONS }) @IsIn(ACTIONS) action!: Action;
  @ApiProperty({ enum: SUBJECTS }) @IsIn(SUBJECTS) subject!: Subject;
  @ApiPropertyOptional({ description: 'a row of the subject (User, Store, SupportGrant today)' })
  @IsOptional()
  @IsUUID()
  id?: string;
}

export class AccessExplanationDto {
  @ApiProperty() allowed!: boolean;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: String, nullable: true, description: 'the matrix row that decided' }) rule!:
    string | null;
}

/** "Why can't this salesperson see this lead?" — for the tenant's admins and platform owners. */
@ApiTags('access')
@Controller('v1/tenants/:tenantId/access')
@Guarded()
export class AccessController {
  constructor(private readonly explanations: AccessExplanations) {}

  @Get('explain')
  @Can('read', 'AccessDecision')
  @ApiOkResponse({ type: AccessExplanationDto })
  explain(
    @Ctx() ctx: RequestContext,
    @Param() _p: TenantParams,
    @Query() query: ExplainQueryDto,
  ): Promise<AccessExplanation> {
    return this.explanations.explain(ctx, query);
  }
}
