# pkgindex as a container: a single compiled binary, built and run on Ubuntu 26.04 LTS (the
# current ubuntu:latest), as a non-root user.
#
#   docker build -t pkgindex .
#   docker run -d --name pkgindex -p 8080:8080 -v pkgindex-data:/data pkgindex
#
# Every stage is pinned to linux/amd64: the compile task builds for x86_64 Linux. No container
# engine was available where this was written: it was checked by reading, never built.

# The official Deno binary alone (the file /deno), pinned to the version the project is developed
# with.
FROM --platform=linux/amd64 denoland/deno:bin-2.9.6 AS deno

# Build stage: Ubuntu with that binary. deno compile downloads its runtime base (denort) over
# HTTPS, trusting the root certificates bundled in Deno, so no package needs installing.
FROM --platform=linux/amd64 ubuntu:26.04 AS build
COPY --from=deno /deno /usr/local/bin/deno
WORKDIR /src
COPY deno.json deno.lock main.ts ./
COPY lib/ lib/
# The permissions baked into the binary live in one place, the "compile" task in deno.json:
# --allow-net, --allow-env for the PKGINDEX_* variables (and the PostgreSQL client's PGPASSWORD and
# PGAPPNAME), and read/write for the --data file. The PostgreSQL client comes from npm, pinned by
# deno.lock.
RUN deno task compile

# Runtime stage: the same Ubuntu with only the binary.
FROM --platform=linux/amd64 ubuntu:26.04
RUN useradd --system --user-group --no-create-home --shell /usr/sbin/nologin pkgindex \
    && mkdir /data \
    && chown pkgindex:pkgindex /data
COPY --from=build /src/pkgindex /usr/local/bin/pkgindex
USER pkgindex
# The index survives restarts in /data/pkgindex.db (see CMD).
VOLUME /data
EXPOSE 8080
# Healthy when the server answers a request; pkgindex send follows PKGINDEX_PORT if it is set.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["pkgindex", "send", "QUERY|pkgindex-healthcheck|"]
ENTRYPOINT ["pkgindex"]
CMD ["serve", "--data", "/data/pkgindex.db"]
