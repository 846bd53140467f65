import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { PublishEventHandler } from './publish.command';
import { PublishingController } from './publishing.controller';

@Module({
  imports: [CqrsModule],
  controllers: [PublishingController],
  providers: [PublishEventHandler],
})
export class PublishingModule {}
