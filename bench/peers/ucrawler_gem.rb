# frozen_string_literal: true

# bench/run's peer (2): ucrawler through the gem (release extension). The block receives every
# page and reads its URL and title (links are extracted and followed by the engine; the block
# does not build their Ruby Array). Prints "URL\tTITLE" for every page fetched with status 200.
# Usage: ruby bench/peers/ucrawler_gem.rb URL [CONCURRENCY]
$LOAD_PATH.unshift File.expand_path("../../lib", __dir__)
require "ucrawler_native"
require_relative "common"

concurrency = Integer(ARGV.fetch(1, "64"))
out = $stdout
out.sync = false
errors = 0
crawler = UcrawlerNative::Crawler.new(concurrency: concurrency, per_host: concurrency, robots: true)
stats = crawler.crawl(ARGV.fetch(0)) do |page|
  if page.ok? && page.status == 200
    out << PeerCommon.line(page.url, page.title)
  else
    errors += 1
    warn "ucrawler_gem: #{page.url}: #{page.status} #{page.error&.message}"
  end
end
out.flush
warn "ucrawler_gem: #{stats.inspect}, #{errors} errors"
