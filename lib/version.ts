/** The pkgindex version, reported by `--version` and at startup. The only place it is written. */
export const VERSION = "0.1.0";
