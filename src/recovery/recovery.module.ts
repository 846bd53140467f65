import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { RecoverEndpointHandler } from './recover.command';
import { RecoveryController } from './recovery.controller';

@Module({
  imports: [CqrsModule],
  controllers: [RecoveryController],
  providers: [RecoverEndpointHandler],
})
export class RecoveryModule {}
