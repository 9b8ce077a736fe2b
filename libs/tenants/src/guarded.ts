import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { SessionGuard } from '@forecourt/auth';
import { AccessGuard } from '@forecourt/authz';

/** A controller whose every route needs a signed-in caller and its `@Can` permission. */
export const Guarded = () => applyDecorators(ApiBearerAuth(), UseGuards(SessionGuard, AccessGuard));
