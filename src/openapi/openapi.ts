import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document, generated from the controllers and DTOs (never hand-edited). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Rapidly Webhooks')
    .setDescription(
      'Event-sourced webhook delivery: endpoints, publishing, signed deliveries with durable ' +
        'retries, and the full delivery history. Authenticate with `Authorization: Bearer <token>`.',
    )
    .setVersion('0.1.0')
    .setLicense('UNLICENSED', 'https://rapidly.tech')
    .addServer('http://localhost:3000', 'Local service')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'Workspace or user access token',
    })
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
  });
}

export function serveOpenApi(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    raw: ['json'],
  });
}
