import { DynamicModule, Global, Injectable, Module } from '@nestjs/common';

/**
 * The time the rules see: when a cancelled tenant's access ends, its grace runs out, an export
 * link expires. Injected so that tests move it (days at a time) instead of waiting or editing rows.
 */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock a test sets and moves. */
export class SettableClock extends Clock {
  constructor(private at: Date = new Date()) {
    super();
  }

  now(): Date {
    return new Date(this.at.getTime());
  }

  set(at: Date): void {
    this.at = new Date(at.getTime());
  }

  advance(ms: number): void {
    this.at = new Date(this.at.getTime() + ms);
  }
}

/** Provides {@link Clock} everywhere: the system clock unless one is given. */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}
