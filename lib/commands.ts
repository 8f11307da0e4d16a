/**
 * The command table: what each protocol command does to the index.
 *
 * @module
 */

import type { Command, Reply, Request } from "./protocol.ts";

/** The operations the commands need from an index: the package index, or its durable wrapper. */
export interface IndexOperations {
  /** Indexes a package with exactly these dependencies; `false` if that is not allowed. */
  index(name: string, dependencies: readonly string[]): boolean;
  /** Removes a package; `false` while something depends on it. */
  remove(name: string): boolean;
  /** Whether a package is indexed. */
  has(name: string): boolean;
  /**
   * For an index that persists changes after applying them: the outcome of making everything
   * applied so far durable (`false` if it failed and was undone), or `undefined` when nothing is
   * waiting. Replies must not leave before it settles. An index without it is never waited for.
   */
  whenDurable?(): Promise<boolean> | undefined;
}

/** Runs one command against an index and says what to reply. */
export type CommandHandler = (index: IndexOperations, request: Request) => Reply;

/** Every command's handler. Adding a command is one entry here and one in the protocol. */
export const COMMAND_HANDLERS: Readonly<Record<Command, CommandHandler>> = {
  INDEX: (index, request) => index.index(request.name, request.dependencies) ? "OK" : "FAIL",
  REMOVE: (index, request) => index.remove(request.name) ? "OK" : "FAIL",
  QUERY: (index, request) => index.has(request.name) ? "OK" : "FAIL",
};
