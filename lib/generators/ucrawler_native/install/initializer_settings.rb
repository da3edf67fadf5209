# frozen_string_literal: true

module UcrawlerNative
  module Generators
    # The engine options of the generated initializer, one commented line each:
    #   # config.ucrawler_native.per_host = 2  # requests in flight to one host:port
    # Names and defaults come from the engine (Options.defaults), so every option of the installed
    # version is there with its default, written as Ruby the Railtie accepts (30.seconds,
    # 10.megabytes); NOTES say in a few words what each does (README "Options" says more).
    module InitializerSettings
      NOTES = {
        concurrency: "requests in flight, all hosts and crawls of a crawler together",
        per_host: "requests in flight to one host:port",
        delay: "between request starts to one host (a larger robots.txt Crawl-delay wins)",
        depth: "link depth from the seeds, nil: unlimited (model crawls: 0 unless set here or in `crawls`)",
        max_pages: "stop after this many pages (nil: unlimited)",
        max_pages_per_host: "pages queued per host:port (nil: unlimited)",
        max_pages_per_seed: "pages queued per seed, in Rails per row (nil: unlimited)",
        max_query_variants: "query strings followed on one path before it is a trap (0: no cap)",
        canonical_dedup: "report a page whose rel=canonical names another URL as its duplicate",
        sitemaps: "read the seeds' sitemaps: \"on\", \"robots\" or \"off\"",
        strip_query_params: "query parameters removed from links (session ids)",
        same_host: "follow only links to the host of the page they are on",
        allow: "regexes: follow only links matching one of them",
        deny: "regexes: never follow links matching one of them",
        extract: "{ name: \"css\" } or { name: [\"css\", \"attr\"] }: page.extracted",
        headers: "extra request headers",
        keep_headers: "response headers copied into the page",
        timeout: "the whole request, body included",
        connect_timeout: "establishing a connection",
        read_timeout: "a read that yields no byte at all",
        max_body: "body size after decompression; the rest is not read",
        truncate_body: "over max_body: parse what came (false: fail with body_too_large)",
        retries: "extra attempts for transient failures (connect, timeout, 5xx, 429)",
        retry_backoff: "first retry delay, doubling each attempt",
        max_retry_after: "longest Retry-After honoured",
        max_redirects: "redirects per page",
        max_links_per_page: "links kept from one page",
        follow_nofollow_links: "follow links whose anchors are all rel=nofollow",
        max_url_length: "longest URL (bytes) followed",
        keep_body: "keep the decoded body in page.body",
        hash_content: "page.content_hash for every page (with state_dir or redis: always)",
        robots: "obey robots.txt and its Crawl-delay",
        max_crawl_delay: "longest Crawl-delay honoured",
        private_addresses: "\"deny\", \"seeds\" or \"allow\" (README: the SSRF rule)",
        cookies: "keep cookies between requests",
        proxy: "http://, https:// or socks5:// proxy for every request",
        accept_invalid_certs: "accept invalid TLS certificates",
        render: "render pages in headless Chromium: \"never\", \"always\" or \"auto\" (script-built ones)",
        render_hosts: "render only these hosts (\"*.example.com\"); empty: every host",
        render_tabs: "pages rendering at once",
        render_timeout: "longest render; past it the page is taken as it is",
        render_wait_for: "CSS selector that ends a render (nil: network quiet 500 ms)",
        render_memory: "the browser's process tree is restarted past this",
        render_recycle_after: "restart the browser after this many pages",
        render_browser: "Chromium binary (nil: $UCRAWLER_CHROMIUM, else chromium on PATH)",
        render_block_media: "refuse rendered pages' images, media and fonts",
        max_memory: "e.g.; default: 25 % of the cgroup's (or machine's) memory, at most 1 GiB",
        frontier_memory: "URLs the frontier keeps in memory (the rest spill to disk)",
        seen_memory: "URL fingerprints kept in memory (the rest spill to disk)",
        state_dir: "journal directory (resume, recrawl); one crawl per directory",
        resume: "continue the crawl journaled in state_dir",
        recrawl: "revisit what the last crawl in state_dir visited",
        deadline: "end a crawl after this long (nil: never)",
        stall_timeout: "end a crawl when nothing happens for this long",
        parsers: "parser threads (0: one per core)",
        buffer: "parsed pages waiting for the consumer",
        io_threads: "threads for network I/O",
        redis: "a shared crawl's Redis URL (README: Many boxes, one crawl)",
        name: "the shared crawl's name (with redis)",
        redis_prefix: "first part of every Redis key",
        lease_timeout: "how long a dead worker's requests stay leased",
        follow: "with redis: wait for new URLs when the crawl runs dry"
      }.freeze
      # Defaults that depend on the machine or the version: the line shows an example.
      EXAMPLES = { max_memory: "1.gigabyte", user_agent: "\"MyApp crawler (+https://example.com/bot)\"" }.freeze
      NOTE_COLUMN = 54

      module_function

      def lines(defaults: Options.defaults)
        defaults.map do |name, value|
          setting = "# config.ucrawler_native.#{name} = #{literal(name, value)}"
          note = name == :user_agent ? "e.g.; default: #{value.inspect}" : NOTES[name]
          note ? "#{setting.ljust(NOTE_COLUMN)}  # #{note}" : setting
        end
      end

      def literal(name, value)
        return EXAMPLES.fetch(name) if EXAMPLES.key?(name)
        return size(value) if Options::SIZES.include?(name) && value.is_a?(Integer)

        case value
        when Float then seconds(value)
        when Integer then digits(value)
        when Array then words(value)
        else value.inspect
        end
      end

      def seconds(value)
        "#{value == value.floor ? value.to_i : value}.seconds"
      end

      def size(bytes)
        unit, scale = [["gigabyte", 1 << 30], ["megabyte", 1 << 20], ["kilobyte", 1 << 10]].find do |_, n|
          bytes.positive? && (bytes % n).zero?
        end
        return digits(bytes) unless unit

        count = bytes / scale
        "#{count}.#{unit}#{"s" unless count == 1}"
      end

      # 10_000 and up with underscores, as Ruby code writes them.
      def digits(value)
        value.abs < 10_000 ? value.to_s : value.to_s.gsub(/(\d)(?=(\d{3})+\z)/, '\1_')
      end

      def words(values)
        return values.inspect unless values.any? && values.all? { |v| v.is_a?(String) && v.match?(/\A[^\s\[\]\\]+\z/) }

        "%w[#{values.join(" ")}]"
      end
    end
  end
end
