# frozen_string_literal: true

module UcrawlerNative
  # A configured crawler. Reuse one per configuration where you can: crawls running on it share
  # its connections, robots.txt cache and global concurrency limit. Building one per call is fine
  # too: every crawler shares the process's engine threads, and holds no connection once its
  # crawls are over.
  #
  #   crawler = UcrawlerNative::Crawler.new(depth: 1, extract: { price: ".price" })
  #   crawler.crawl(urls) { |page| Site.where(url: page.url).update_all(title: page.title) }
  #   crawler.each_page(urls).lazy.select(&:ok?).first(10)
  class Crawler
    # Pages taken from the engine per wait, and seeds handed to it per call.
    BATCH = 256
    # Longest single wait for pages with the GVL released (interrupts end it at once anyway).
    WAIT = 0.5

    attr_reader :options

    # Every engine option as a keyword (see README for the list and defaults), plus
    # `on_error:`, a callable receiving `(exception, page)` for exceptions raised by the block
    # (without it such an exception stops the crawl and propagates), and `frontier:`, a
    # RedisFrontier: crawls then work on that shared crawl together with every other worker.
    # Options start from `UcrawlerNative.defaults` (the Rails initializer's
    # `config.ucrawler_native`), then the frontier's, then these keywords.
    def initialize(on_error: nil, frontier: nil, **options)
      raise TypeError, "on_error must respond to #call" unless on_error.nil? || on_error.respond_to?(:call)

      options = options.transform_keys(&:to_sym)
      if frontier
        raise TypeError, "frontier must be a UcrawlerNative::RedisFrontier (got #{frontier.class})" unless frontier.is_a?(RedisFrontier)

        clash = frontier.to_options.keys & options.keys
        raise ArgumentError, "frontier: already sets #{clash.join(", ")}" unless clash.empty?

        options = frontier.to_options.merge(options)
      end
      options = UcrawlerNative.engine_defaults.merge(options)
      @frontier = frontier
      @on_error = on_error
      @options = Options.normalize(options).freeze
      @native = Native::Crawler.new(JSON.generate(@options))
      @stats = {}
    end

    # Crawls from `urls` (a String or any Enumerable of Strings or [url, meta] pairs, consumed
    # incrementally), yielding each page. Returns the crawl's stats. With a `frontier:`, `urls`
    # may be left out: the crawl works on what the shared crawl has queued until it is done
    # (seeds given here are queued there, skipping URLs it has seen).
    def crawl(urls = nil, meta: nil, &block)
      raise ArgumentError, "crawl needs a block (use each_page for an Enumerator)" unless block

      each_page(urls, meta: meta, &block)
    end

    # Like `crawl`; without a block, returns an Enumerator (breaking out of it stops the crawl).
    def each_page(urls = nil, meta: nil, &block)
      return enum_for(:each_page, urls, meta: meta) unless block

      raise ArgumentError, "urls are required (or give the crawler a frontier:)" if urls.nil? && !@frontier

      seeds = Seeds.enumerable(urls || [])
      default_meta = Meta.encode(meta)
      run(seeds, default_meta, &block)
    end

    # Stats of the running crawl, or of the last one: pages, errors, errors_by_kind, bytes,
    # elapsed, pages_per_sec, in_flight, held, held_peak, frontier, seen, out_of_scope,
    # fetch_window, descriptors (open, budget, connections, connection_limit, waits,
    # closed_idle), end_reason (nil while the crawl runs,
    # then "finished", "max_pages", "cancelled", "deadline" or "stalled") and memory (the
    # crawler's budget: limit, used, peak, and per part bodies, pages, frontier, seen).
    def stats
      current = @current
      current ? stats_of(current) : @stats
    end

    private

    def run(seeds, default_meta, &block)
      crawl = @native.open
      @current = crawl
      RunningCrawls.add(crawl, @options[:name] || "crawl")
      pending = []
      seeds.each do |item|
        pending << Seeds.pair(item, default_meta)
        next if pending.size < BATCH
        # The crawl ended early (max_pages): stop pulling seeds, `urls` may be endless.
        break unless feed(crawl, pending, &block)

        batch = crawl.next_batch(BATCH, 0)
        break unless batch

        deliver(batch, &block)
      end
      feed(crawl, pending, &block)
      crawl.close_seeds
      while (batch = crawl.next_batch(BATCH, WAIT))
        deliver(batch, &block)
      end
      @stats = finished = stats_of(crawl)
    ensure
      # Normal end, exception, break, throw, Timeout, Thread#kill: stop the engine's work.
      if crawl
        RunningCrawls.remove(crawl)
        crawl.cancel
        # After a normal end #stats stays what `crawl` returned (elapsed and rate included).
        @stats = stats_of(crawl) unless finished
        @current = nil
      end
    end

    # Hands all of `pending` to the engine, taking pages while its seed buffer is full. Returns
    # false if the crawl is over (max_pages reached, cancelled): nothing takes seeds any more.
    def feed(crawl, pending, &block)
      until pending.empty?
        taken = crawl.feed(pending)
        pending.shift(taken)
        break if pending.empty?

        batch = crawl.next_batch(BATCH, 0.05)
        if batch.nil?
          pending.clear
          return false
        end

        deliver(batch, &block)
      end
      true
    end

    def deliver(batch)
      batch&.each do |page|
        yield page
      rescue StandardError => e
        raise unless @on_error

        @on_error.call(e, page)
      end
      # Our references go: pages the block let go of can be collected while the next batch is
      # awaited (the local still holds this Array then).
      batch&.clear
    end

    # The engine's stats of `crawl` as a Hash with Symbol keys.
    def stats_of(crawl)
      JSON.parse(crawl.stats_json, symbolize_names: true)
    end
  end
end
