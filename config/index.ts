export { type AppConfig, ConfigError, type S3Settings, loadConfig } from './app-config';
export { APP_CONFIG, ConfigModule } from './config.module';
