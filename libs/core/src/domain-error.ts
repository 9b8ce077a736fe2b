/**
 * Base of every error a service throws on purpose. Each library declares its own subclass with a
 * string-enum code and maps each code to an HTTP status in an exhaustive switch; the problem
 * filter only reads `status`. Services never throw `HttpException`.
 */
export abstract class DomainError<Code extends string = string> extends Error {
  protected constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The HTTP status this error answers with. */
  abstract get status(): number;

  /** Response headers the answer needs (e.g. `Retry-After` on a 429). */
  get headers(): Record<string, string> {
    return {};
  }
}

/** Compile-time proof that a switch covered every case. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}
