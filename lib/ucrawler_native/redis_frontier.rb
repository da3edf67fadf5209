# frozen_string_literal: true

module UcrawlerNative
  # A crawl shared through Redis by any number of workers: `ucrawler worker` processes and Ruby
  # crawlers on any number of boxes. The queue, the seen set and the leases live in Redis; each
  # page is delivered once (at least once if a worker dies: its leases come back after
  # `lease_timeout`), and `per_host`/`delay` hold across all workers.
  #
  #   frontier = UcrawlerNative::RedisFrontier.new(url: ENV["REDIS_URL"], name: "shop-2026-11")
  #   frontier.push(Site.pluck(:url))   # once, anywhere => { queued: 2191, seen: 0, invalid: 3 }
  #   UcrawlerNative::Crawler.new(frontier: frontier, depth: 2).crawl { |page| ... }  # in every worker
  #   frontier.stats # => { pending: 0, leased: 0, done: 2191, failed: 3, seen: 2194, ... }
  class RedisFrontier
    # URLs sent to Redis per call.
    BATCH = 1000

    attr_reader :url, :name, :prefix, :lease_timeout

    # `prefix:` starts every key (several crawls share a prefix; per-host politeness is shared
    # per prefix); `timeout:` bounds each call of this object (push, stats, clear) when Redis
    # does not answer — workers themselves wait for Redis as long as it takes.
    def initialize(url:, name:, prefix: "ucrawler", lease_timeout: 60, timeout: 10)
      { url: url, name: name, prefix: prefix }.each do |key, value|
        raise TypeError, "#{key} must be a String (got #{value.inspect})" unless value.is_a?(String)
      end
      { lease_timeout: lease_timeout, timeout: timeout }.each do |key, value|
        # An ActiveSupport::Duration (`30.seconds`) is_a?(Numeric) too.
        raise TypeError, "#{key} must be seconds (Numeric or a duration, got #{value.inspect})" unless value.is_a?(Numeric)
      end

      @url = url.dup.freeze
      @name = name.dup.freeze
      @prefix = prefix.dup.freeze
      @lease_timeout = lease_timeout.to_f
      @native = Native::RedisFrontier.new(@url, @name, @prefix, @lease_timeout, timeout.to_f)
    end

    # Queues seed URLs (a String or any Enumerable of Strings or [url, meta] pairs) for the
    # crawl; URLs the crawl has already seen are skipped unless `force:`. `meta` comes back with
    # each page, as in Crawler#crawl. Items whose URL is nil, empty or does not parse (a column
    # of URLs often holds some) are skipped, not raised, and logged once per call with a few
    # examples. Returns the counts: `{ queued:, seen:, invalid: }` (new, already seen, skipped).
    def push(urls, meta: nil, force: false)
      seeds = Seeds.enumerable(urls)
      default_meta = Meta.encode(meta)
      counts = { queued: 0, seen: 0, invalid: 0 }
      examples = []
      seeds.each_slice(BATCH) do |slice|
        pairs = slice.filter_map { |item| Seeds.pair(item, default_meta) unless blank_url?(item) }
        queued, invalid = @native.push(pairs, force ? true : false)
        counts[:queued] += queued
        counts[:seen] += pairs.size - invalid.size - queued
        counts[:invalid] += slice.size - pairs.size + invalid.size
        examples.concat(invalid.first(3 - examples.size)) if examples.size < 3
      end
      log_invalid(counts[:invalid], examples)
      counts
    end

    # The crawl's counts: pending, leased, done, failed, seen, queued, duplicates, reclaimed,
    # finished (nothing pending or leased, something queued once) and visits (URLs done and
    # kept for the next generation, see #recrawl).
    def stats
      JSON.parse(@native.stats_json, symbolize_names: true)
    end

    # Starts the crawl's next generation: queues again every URL it has done, with what its
    # visit learned (etag, last_modified, content_hash), so workers revisit them conditionally
    # and their pages say what `change`d. The crawl must be finished (UcrawlerNative::Error saying
    # why otherwise). Returns how many URLs were queued.
    def recrawl
      @native.recrawl
    end

    # Deletes the crawl's queue, seen set, leases and counts (stop its workers first).
    def clear
      @native.clear
      self
    end

    # The engine options that make a crawler work on this frontier.
    def to_options
      { redis: @url, name: @name, redis_prefix: @prefix, lease_timeout: @lease_timeout }
    end

    def inspect
      "#<#{self.class.name} #{@name} at #{Native.redact_password(@url)}>"
    end

    private

    def blank_url?(item)
      url = item.is_a?(Array) ? item.first : item
      url.nil? || (url.is_a?(String) && url.strip.empty?)
    end

    def log_invalid(count, examples)
      return if count.zero?

      UcrawlerNative.logger.warn do
        "ucrawler_native: #{@name}: #{count} seeds skipped (no URL, or not a valid http(s) URL), e.g. #{examples.inspect}"
      end
    end
  end
end
