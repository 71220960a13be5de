# Weltra in a container: the same single binary, run as a non-root user, data on the /data volume.
#   docker build -t weltra .
#   docker run -d -p 8080:8080 -v weltra-data:/data -e WELTRA_SERVER__PUBLIC_URL=https://crm.example.com weltra

# ── build: compile the single executable ─────────────────────────────────────
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p /out/data

# ── run: glibc + libstdc++ only, no shell, no package manager ────────────────
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/weltra /usr/local/bin/weltra
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot
ENV WELTRA_STORAGE__DATA_DIR=/data \
    WELTRA_SERVER__LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/usr/local/bin/weltra", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/weltra"]
CMD ["serve"]
