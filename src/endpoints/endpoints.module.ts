import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ENDPOINT_SETTINGS, EndpointSettings } from './endpoint-settings';
import { ENDPOINT_COMMAND_HANDLERS } from './endpoints.commands';
import { EndpointsController } from './endpoints.controller';

@Module({
  imports: [CqrsModule],
  controllers: [EndpointsController],
  providers: [
    ...ENDPOINT_COMMAND_HANDLERS,
    {
      provide: ENDPOINT_SETTINGS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new EndpointSettings(config, config.delivery.secretGracePeriodMs),
    },
  ],
})
export class EndpointsModule {}
