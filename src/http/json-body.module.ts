import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { httpConfig } from './http.config';
import { JsonBodyGuard } from './json-body.guard';

/**
 * The global JsonBodyGuard. Its own module so that app.module.ts can import it after
 * AuthModule: Nest runs global guards in the order their modules are imported, and the body is
 * read only once the TokenGuard let the request through.
 */
@Module({
  imports: [ConfigModule.forFeature(httpConfig)],
  providers: [{ provide: APP_GUARD, useClass: JsonBodyGuard }],
})
export class JsonBodyModule {}
