import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { Resolver } from './delivery/http-sender';
import { AppConfig } from './config/config';
import { CoreModule } from './config/config.module';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { DeliveryModule } from './delivery/delivery.module';
import { PublishingModule } from './publishing/publishing.module';
import { RecoveryModule } from './recovery/recovery.module';
import { RetentionModule } from './retention/retention.module';
import { Engine } from './engine/engine';
import { EndpointsModule } from './endpoints/endpoints.module';
import { HistoryModule } from './history/history.module';
import { OperationsModule } from './operations/operations.module';

@Module({})
export class AppModule {
  static register(config: AppConfig, engine: Engine, resolver?: Resolver): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config, engine, resolver),
        AuthModule,
        EndpointsModule,
        DeliveriesModule,
        DeliveryModule,
        PublishingModule,
        HistoryModule,
        RetentionModule,
        RecoveryModule,
        OperationsModule,
      ],
    };
  }
}
