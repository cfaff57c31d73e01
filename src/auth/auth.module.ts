import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { AccessService } from './access.service';
import { authConfig } from './auth.config';
import { TokenGuard } from './token.guard';

@Module({
  imports: [ConfigModule.forFeature(authConfig)],
  providers: [AccessService, { provide: APP_GUARD, useClass: TokenGuard }],
  exports: [AccessService],
})
export class AuthModule {}
