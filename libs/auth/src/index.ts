export { AuthError, AuthErrorCode } from './auth-error';
export { AuthModule } from './auth.module';
export { KeyStore } from './key-store';
export { PASSWORD_MIN_LENGTH, passwordProblem } from './password-policy';
export { PlatformOwners } from './platform-owners';
export { SessionGuard } from './session.guard';
export { Sessions } from './sessions';
