import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DeliveriesController } from './deliveries.controller';
import { RedeliverEventHandler } from './redeliver.command';

@Module({
  imports: [CqrsModule],
  controllers: [DeliveriesController],
  providers: [RedeliverEventHandler],
})
export class DeliveriesModule {}
