# frozen_string_literal: true

# bench/run's peer (3): the classic Ruby crawler — a pool of 64 threads, each with its own
# keep-alive Net::HTTP connection, a Queue of URLs, a Set (under a Mutex) for dedup, Nokogiri
# (Debian's ruby-nokogiri) for the title and the links (PeerCommon::SiteCrawl). Prints
# "URL\tTITLE" for every page fetched with status 200. Usage: ruby bench/peers/ruby_pool.rb URL [THREADS]
require_relative "site_crawl"

seed = URI(ARGV.fetch(0))
threads = Integer(ARGV.fetch(1, "64"))
out = $stdout
out.sync = false
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
crawl = PeerCommon::SiteCrawl.new(seed, threads: threads, name: "ruby_pool")
crawl.run { |url, title| out << PeerCommon.line(url, title) }
out.flush
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
warn format("ruby_pool: %d pages, %d errors, crawl %.2fs", crawl.pages, crawl.errors, elapsed)
