export { buildOpenApiDocument, serveOpenApi } from './openapi';
export { OperationsModule } from './operations.module';
