# frozen_string_literal: true

# bench/many_hosts' Sidekiq job, the design our users left behind: one job per site
# (CrawlSiteJob.perform(site_url)), each crawling its whole site from `/` with Net::HTTP
# (keep-alive) and Nokogiri through PeerCommon::SiteCrawl, robots.txt obeyed, with 2 fetcher
# threads of its own (per-host 2; PEER_FETCHERS_PER_JOB=1 for the plain one-request-at-a-time
# job). Loaded by the Sidekiq processes that sidekiq_run.rb starts (`sidekiq -r` this file).
# Appends "URL\tTITLE" per page fetched with status 200 to $PEER_OUT (the processes share the
# file: one write per line, O_APPEND), and counts finished jobs, failed or not, in Redis
# (DONE_KEY), which sidekiq_run.rb waits for.
require "sidekiq"
require_relative "site_crawl"

# redis-rb 4.8 warns on every Sidekiq 6.4 call about Redis 5 changes that do not concern it.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

class CrawlSiteJob
  include Sidekiq::Worker
  sidekiq_options retry: false # a failed job is a missing site, which the bench reports

  DONE_KEY = "bench:jobs_done"
  FETCHERS = Integer(ENV.fetch("PEER_FETCHERS_PER_JOB", "2"))
  OUT_LOCK = Mutex.new

  # One line to $PEER_OUT (opened on first use: the launcher loads this file too).
  def self.write(line)
    OUT_LOCK.synchronize { (@out ||= File.open(ENV.fetch("PEER_OUT"), "a").tap { |f| f.sync = true }).write(line) }
  end

  def perform(site_url)
    crawl = PeerCommon::SiteCrawl.new(URI(site_url), threads: FETCHERS, name: "sidekiq")
    crawl.run { |url, title| self.class.write(PeerCommon.line(url, title)) }
  ensure
    Sidekiq.redis { |redis| redis.incr(DONE_KEY) }
  end
end
