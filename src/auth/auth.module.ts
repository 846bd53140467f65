import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Engine, ENGINE } from '../engine/engine';
import { AccessTokensService } from './access-tokens.service';
import { AuthGuard } from './auth.guard';

@Global()
@Module({
  providers: [
    {
      provide: AccessTokensService,
      inject: [ENGINE],
      useFactory: (engine: Engine) =>
        new AccessTokensService(engine.eventStore, engine.projections, engine.accessTokens),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AccessTokensService],
})
export class AuthModule {}
