/**
 * An error caused by what the user gave (an expression, a file, an option). The CLI prints its
 * message as one line and exits with code 2; anything else is a bug in corrmap.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}
