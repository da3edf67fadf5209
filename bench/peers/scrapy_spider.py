"""The Scrapy peer of bench/run (one site) and bench/many_hosts (many sites on one address):
Scrapy with CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN as given, robots.txt obeyed,
no AutoThrottle, the default dedup (request fingerprints), LOG_LEVEL WARNING. The spider takes the
title and every <a href> with Scrapy's selectors (parsel/lxml), resolves them against the page,
drops fragments and anything off the seed's host:port. Writes "URL\tTITLE" for every page
fetched with status 200.

Scrapy's per-domain limit applies to a download slot, by default the hostname, which every site
on 127.0.0.1 would share. So every request names its slot, the seed's host:port: the spider's
requests when they are made (the scheduler's queue is per slot too) and the robots.txt requests
the RobotsTxtMiddleware makes (by SlotPerSite, on their way to the downloader). robots.txt is
fetched and applied per host:port (the middleware keys it by netloc).

With a per-host limit below the global one, run it on Twisted's epoll reactor (--reactor epoll):
on the asyncio reactor, Scrapy's default, Scrapy 2.19 lets a slot exceed its concurrency (9 at
once at one host with PER_HOST 2, seen by bench/many_hosts' server): Downloader._process_queue
starts each download as an asyncio task, which marks itself transferring only when it first
runs, so the loop that checks the free slots sends the whole queue of a slot at once.

Usage: python scrapy_spider.py SEED|@SEEDS_FILE OUT_FILE [CONCURRENCY] [--per-host N]
                               [--reactor asyncio|epoll] [--httpcache DIR]
(CONCURRENCY defaults to 64, --per-host to CONCURRENCY, --reactor to asyncio; SEEDS_FILE has one
URL a line.)
"""

import argparse
import os

import sys
import time
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess


def site(url):
    """(scheme, host:port) of a URL: the site it is on, and its download slot."""
    return urlsplit(url)[:2]


class SlotPerSite:
    """Downloader middleware: a request without a slot (robots.txt) gets its host:port's."""

    def process_request(self, request, spider=None):
        request.meta.setdefault("download_slot", site(request.url)[1])


class BenchSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, seeds, out, **kwargs):
        super().__init__(**kwargs)
        self.seeds = seeds
        # Line-buffered: bench/many_hosts reads the progress of the crawl from the file.
        self.out = open(out, "w", encoding="utf-8", buffering=1)
        self.pages = 0

    def request(self, url, origin):
        return scrapy.Request(
            url,
            callback=self.parse,
            cb_kwargs={"origin": origin},
            meta={"download_slot": origin[1]},
        )

    async def start(self):
        # Not `start_urls`: Scrapy sends those with dont_filter=True, so the seed would not be in
        # the dupefilter and the site's links back to `/` would fetch it a second time.
        for seed in self.seeds:
            yield self.request(seed, site(seed))

    def parse(self, response, origin):
        if response.status == 200:
            title = (response.css("title::text").get() or "").strip()
            self.out.write(f"{urldefrag(response.url)[0]}\t{' '.join(title.split())}\n")
            self.pages += 1
        # Unique per page (as LinkExtractor's unique=True), then Scrapy's dupefilter.
        links = dict.fromkeys(
            urldefrag(response.urljoin(href.strip()))[0]
            for href in response.css("a::attr(href)").getall()
        )
        for url in links:
            if site(url) == origin:
                yield self.request(url, origin)

    def closed(self, reason):
        self.out.close()
        print(f"scrapy: {self.pages} pages ({reason})", file=sys.stderr)


REACTORS = {
    "asyncio": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "epoll": "twisted.internet.epollreactor.EPollReactor",
}


def main():
    parser = argparse.ArgumentParser(description="Crawl sites with Scrapy (see the module doc).")
    parser.add_argument("seed", help="a URL, or @FILE with one URL a line")
    parser.add_argument("out", help="output file: URL<TAB>TITLE per page")
    parser.add_argument("concurrency", type=int, nargs="?", default=64)
    parser.add_argument("--per-host", type=int, help="CONCURRENT_REQUESTS_PER_DOMAIN (default: concurrency)")
    parser.add_argument("--reactor", choices=REACTORS, default="asyncio")
    parser.add_argument(
        "--httpcache",
        metavar="DIR",
        help="Scrapy's HTTP cache in DIR with its RFC 2616 policy (bench/recrawl): a run after "
        "the first revalidates cached pages with conditional requests",
    )
    args = parser.parse_args()
    if args.seed.startswith("@"):
        with open(args.seed[1:], encoding="utf-8") as f:
            seeds = [line.strip() for line in f if line.strip()]
    else:
        seeds = [args.seed]
    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.per_host or args.concurrency,
        "DOWNLOADER_MIDDLEWARES": {SlotPerSite: 50},
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "TWISTED_REACTOR": REACTORS[args.reactor],
    }
    if args.httpcache:
        settings.update(
            {
                "HTTPCACHE_ENABLED": True,
                "HTTPCACHE_DIR": os.path.abspath(args.httpcache),
                "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.RFC2616Policy",
            }
        )
    if args.reactor != "asyncio":
        settings["REMOTE_CONTROL_ENABLED"] = False  # needs asyncio; would only warn
    process = CrawlerProcess(settings=settings)
    started = time.monotonic()
    process.crawl(BenchSpider, seeds=seeds, out=args.out)
    process.start()
    print(f"scrapy: crawl {time.monotonic() - started:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
