import { Injectable, OnApplicationBootstrap, SetMetadata, Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AccessGuard, declaredPermission } from './access.guard';
import { redactedSubject } from './redaction';

const WITHOUT_POLICY = Symbol('withoutPolicy');

/**
 * Marks a route (or a whole controller) as needing no permission from the role matrix, and says
 * why: sign-in before anyone is known, health checks, public keys. Every other route declares
 * `@Can(...)`; the start-up check below refuses to start with any route that does neither.
 */
export const WithoutPolicy = (reason: string) => SetMetadata(WITHOUT_POLICY, reason);

export class PolicyCoverageError extends Error {
  constructor(readonly routes: string[]) {
    super(
      `routes without an authorization policy (add @Can(...) or @WithoutPolicy(reason)): ${routes.join(', ')}`,
    );
    this.name = 'PolicyCoverageError';
  }
}

/**
 * Walks every route of the application at start-up: each must declare `@Can(action, subject)`
 * and sit behind `AccessGuard`, or be marked `@WithoutPolicy(reason)` (and then not `@Redact`).
 * The application does not start otherwise, so no endpoint ships unguarded by omission.
 */
@Injectable()
export class PolicyCoverage implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      const prototype = wrapper.instance ? (Object.getPrototypeOf(wrapper.instance) as object) : null;
      if (!controller || !prototype) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined)
          continue;
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const route = `${controller.name}.${name}`;
        const open = this.reflector.getAllAndOverride<string | undefined>(WITHOUT_POLICY, [
          handler,
          controller,
        ]);
        const requirement = declaredPermission(handler);
        if (!requirement) {
          // AccessGuard redacts the answer, and it only acts on routes that declare @Can.
          if (redactedSubject(handler)) problems.push(`${route} (declares @Redact but not @Can)`);
          else if (!open) problems.push(route);
          continue;
        }
        const guards = [
          ...((Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[] | undefined) ?? []),
          ...((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? []),
        ];
        if (!guards.includes(AccessGuard))
          problems.push(`${route} (declares @Can but is not behind AccessGuard)`);
      }
    }
    if (problems.length > 0) throw new PolicyCoverageError(problems);
  }
}
