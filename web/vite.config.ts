/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into dist/ and served by the API at /app (src/agentry/web). `npm run dev` proxies the
// API so the dev server is same-origin too.
const api = process.env.AGENTRY_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: {
    port: 5173,
    proxy: { "/v1": api, "/dev-idp": api, "/app/config.json": api },
  },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
