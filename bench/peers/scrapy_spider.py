"""bench/run's peer (5): Scrapy with CONCURRENT_REQUESTS 64 (and per domain), robots.txt obeyed,
no AutoThrottle, the default dedup (request fingerprints), LOG_LEVEL WARNING. The spider takes
the title and every <a href> with Scrapy's selectors (parsel/lxml), resolves them against the
page, drops fragments and anything off the seed's host:port. Writes "URL\tTITLE" for every page
fetched with status 200. Usage: python scrapy_spider.py URL OUT_FILE [CONCURRENCY]
"""

import sys
import time
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess


class BenchSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, seed, out, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.origin = urlsplit(seed)[:2]
        self.out = open(out, "w", encoding="utf-8", buffering=1 << 20)
        self.pages = 0

    async def start(self):
        # Not `start_urls`: Scrapy sends those with dont_filter=True, so the seed would not be in
        # the dupefilter and the site's links back to `/` would fetch it a second time.
        yield scrapy.Request(self.seed, callback=self.parse)

    def parse(self, response):
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
            if urlsplit(url)[:2] == self.origin:
                yield scrapy.Request(url, callback=self.parse)

    def closed(self, reason):
        self.out.close()
        print(f"scrapy: {self.pages} pages ({reason})", file=sys.stderr)


def main():
    seed, out = sys.argv[1], sys.argv[2]
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "ROBOTSTXT_OBEY": True,
            "AUTOTHROTTLE_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
        }
    )
    started = time.monotonic()
    process.crawl(BenchSpider, seed=seed, out=out)
    process.start()
    print(f"scrapy: crawl {time.monotonic() - started:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
