// bench/render's peer: Crawlee's PlaywrightCrawler rendering every page of a site from one seed.
//
//   NODE_PATH=bench/.node-crawlee/node_modules node bench/peers/crawlee_playwright.js \
//     SEED OUT [--concurrency 4] [--browser /usr/bin/chromium] [--wait-until load|networkidle]
//
// Crawlee 3.18 + Playwright 1.65 (installed by bench/lib/deps.rb, no browser download) driving
// Debian's Chromium: `launchContext.launchOptions.executablePath`. Crawlee's defaults otherwise
// (browser pool, fingerprints, a page per request in the browser's shared context), except:
// - concurrency fixed (minConcurrency = maxConcurrency): the autoscaled pool would otherwise
//   start at 1 and scale by its own CPU readings, which a shared machine skews;
// - images, media and fonts refused (page.route by resource type), as ucrawler's
//   render_block_media does;
// - storage in memory (CRAWLEE_PERSIST_STORAGE=false): ucrawler keeps its frontier in memory too;
// - waitUntil: Crawlee's default navigation (`load`); `networkidle` (Playwright's: no request
//   for 500 ms) is ucrawler's settle rule, for a like-for-like run.
// Same-hostname links of every page are enqueued (enqueueLinks' default strategy). Each page
// handled writes "URL\tTITLE" to OUT; failures go to stderr. The last stderr line is a JSON
// summary ({"handled":…,"failed":…}).
"use strict";

process.env.CRAWLEE_PERSIST_STORAGE = process.env.CRAWLEE_PERSIST_STORAGE || "false";
process.env.CRAWLEE_PURGE_ON_START = "true";

const fs = require("fs");
const { PlaywrightCrawler, Configuration, log } = require("crawlee");
const { chromium } = require("playwright");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const concurrency = Number(option("--concurrency", "4"));
const browser = option("--browser", "/usr/bin/chromium");
const waitUntil = option("--wait-until", "load");
const [seed, outPath] = args;
if (!seed || !outPath) {
  console.error("usage: crawlee_playwright.js SEED OUT [--concurrency N] [--browser PATH] [--wait-until load|networkidle]");
  process.exit(2);
}

log.setLevel(log.LEVELS.WARNING);
const out = fs.openSync(outPath, "w");
const BLOCKED = new Set(["image", "media", "font"]);


const crawler = new PlaywrightCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestRetries: 2,
    launchContext: {
      launcher: chromium,
      launchOptions: { executablePath: browser, headless: true },
    },
    preNavigationHooks: [
      async ({ page }, gotoOptions) => {
        gotoOptions.waitUntil = waitUntil;
        await page.route("**/*", (route) =>
          BLOCKED.has(route.request().resourceType()) ? route.abort("blockedbyclient") : route.continue(),
        );
      },
    ],
    async requestHandler({ request, page, enqueueLinks }) {
      const title = await page.title();
      fs.writeSync(out, `${request.loadedUrl || request.url}\t${title}\n`);
      await enqueueLinks();
    },
    failedRequestHandler({ request }, error) {

      console.error(`failed: ${request.url}: ${error.message}`);
    },
  },
  new Configuration({ persistStorage: false }),
);

(async () => {
  const stats = await crawler.run([seed]);
  fs.closeSync(out);
  console.error(JSON.stringify({ handled: stats.requestsFinished, failed: stats.requestsFailed }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
