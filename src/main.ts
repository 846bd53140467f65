import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config/config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const { app, engine } = await createApp(config);
  await app.listen(config.port, config.host);
  const logger = new Logger('Rapidly Webhooks');
  logger.log(`Storage: ${engine.description}`);
  logger.log(`Listening on http://${config.host}:${config.port} (API docs at /docs)`);
  if (config.allowPrivateNetworks) {
    logger.warn('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: private targets and plain http are allowed');
  }
}

main().catch((error) => {
  console.error('Failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
