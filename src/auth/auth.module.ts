import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AccessService } from './access.service';
import { authConfig } from './auth.config';
import { TokenGuard } from './token.guard';

/** Tokens and who they are. The TokenGuard is made global, in its place, by AppModule. */
@Module({
  imports: [ConfigModule.forFeature(authConfig)],
  providers: [AccessService, TokenGuard],
  exports: [AccessService, TokenGuard],
})
export class AuthModule {}
