import { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { configureHttpPipeline, fastifyOptions } from '@forecourt/core';
import { serveOpenApi } from '@forecourt/operations';
import { AppModule, AppModuleOptions } from './app.module';

export interface CreateAppOptions extends AppModuleOptions {
  /** Extra modules (tests add probe controllers through the real pipeline). */
  extraImports?: ModuleMetadata['imports'];
}

/** Builds and initialises the API exactly as `main.ts` serves it. */
export async function createApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  const root = AppModule.forRoot(options);
  root.imports = [...(root.imports ?? []), ...(options.extraImports ?? [])];
  const app = await NestFactory.create<NestFastifyApplication>(
    root,
    new FastifyAdapter(fastifyOptions(options.config.bodyLimitBytes, options.config.trustedProxies)),
    // rawBody: payment providers sign the exact bytes they send (billing webhooks).
    { bufferLogs: true, abortOnError: false, rawBody: true },
  );
  try {
    app.useLogger(app.get(Logger));
    await configureHttpPipeline(app);
    serveOpenApi(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    // A refused start (e.g. a route without a policy) must not leave pools and timers running.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
