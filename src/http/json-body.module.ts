import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { httpConfig } from './http.config';
import { JsonBodyGuard } from './json-body.guard';

/** The JsonBodyGuard, with its limits. AppModule makes it global, after the TokenGuard. */
@Module({
  imports: [ConfigModule.forFeature(httpConfig)],
  providers: [JsonBodyGuard],
  exports: [JsonBodyGuard],
})
export class JsonBodyModule {}
