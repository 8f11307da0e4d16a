/** The message of anything thrown, for a log line or a one-sentence error report. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
