# syntax=docker/dockerfile:1
# Build stage: all dependencies, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# vendor/ holds the stand-in for @scarf/scarf (package.json's overrides): no telemetry at install.
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled code only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=20080 \
    HOST=0.0.0.0 \
    ACCESS_JSON=/run/secrets/access.json \
    SPOOL_DIR=/var/lib/stats-service/spool
WORKDIR /app
# The spool must outlive the container: mount a volume here.
RUN mkdir -p /var/lib/stats-service/spool && chown -R node:node /var/lib/stats-service
VOLUME /var/lib/stats-service/spool
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 20080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||20080)+'/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
