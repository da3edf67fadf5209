# frozen_string_literal: true

BlockError = Class.new(StandardError)

RSpec.describe UcrawlerNative::Crawler, "errors and options" do
  describe "an exception raised in the block" do
    let(:crawler) { described_class.new(per_host: 4) }

    it "propagates with its class and message and stops the crawl" do
      calls = 0
      expect do
        crawler.crawl(site_url("/")) do
          calls += 1
          raise BlockError, "boom at #{calls}" if calls == 3
        end
      end.to raise_error(BlockError, "boom at 3")

      expect(calls).to eq(3)
      expect(crawler.stats[:pages]).to be < expected_urls.size

      count = 0
      crawler.crawl(site_url("/")) { count += 1 }
      expect(count).to eq(expected_urls.size)
    end

    it "goes to on_error: with (error, page), and the crawl continues" do
      handled = []
      crawler = described_class.new(per_host: 4, on_error: ->(error, page) { handled << [error, page] })
      urls = []

      stats = crawler.crawl(site_url("/")) do |page|
        urls << page.url
        raise BlockError, page.url if page.url.end_with?("7.html")
      end

      expect(urls).to match_array(expected_urls)
      expect(stats[:pages]).to eq(expected_urls.size)
      failing = expected_urls.select { |url| url.end_with?("7.html") }
      expect(failing).not_to be_empty
      expect(handled.size).to eq(failing.size)
      handled.each do |error, page|
        expect(error).to be_a(BlockError)
        expect(page).to be_a(UcrawlerNative::Page)
        expect(error.message).to eq(page.url)
      end
    end

    it "on_error: that raises stops the crawl with that exception" do
      crawler = described_class.new(per_host: 4, on_error: ->(error, _page) { raise error })

      expect { crawler.crawl(site_url("/")) { raise BlockError, "again" } }.to raise_error(BlockError, "again")
    end

    it "on_error: must be callable" do
      expect { described_class.new(on_error: "log it") }.to raise_error(TypeError, /on_error/)
    end
  end

  describe "options" do
    it "an unknown keyword raises ArgumentError naming it" do
      expect { described_class.new(concurency: 4) }.to raise_error(ArgumentError, /concurency/)
    end

    it "a value of the wrong type raises TypeError naming the option" do
      expect { described_class.new(concurrency: "x") }.to raise_error(TypeError, /:concurrency/)
      expect { described_class.new(same_host: "yes") }.to raise_error(TypeError, /:same_host/)
      expect { described_class.new(max_body: 1.5) }.to raise_error(TypeError, /:max_body/)
      expect { described_class.new(delay: :slow) }.to raise_error(TypeError, /:delay/)
      expect { described_class.new(extract: ".price") }.to raise_error(TypeError, /:extract/)
    end

    it "a value that cannot work raises ConfigError, which `rescue UcrawlerNative::Error` catches" do
      expect { described_class.new(concurrency: 0) }.to raise_error(UcrawlerNative::ConfigError, /concurrency/)
      expect(UcrawlerNative::ConfigError.ancestors).to include(ArgumentError)

      rescued = begin
        described_class.new(concurrency: 0)
      rescue UcrawlerNative::Error => e
        e
      end
      expect(rescued).to be_a(UcrawlerNative::ConfigError)
      expect(rescued.message).to include("concurrency")
      expect(UcrawlerNative::Error === rescued).to be(true) # rubocop:disable Style/CaseEquality
      expect(UcrawlerNative::Error === ArgumentError.new).to be(false) # rubocop:disable Style/CaseEquality
    end

    it "a bad CSS selector raises ConfigError naming the rule" do
      expect { described_class.new(extract: { price_rule: "p[[" }) }
        .to raise_error(UcrawlerNative::ConfigError, /price_rule/)
    end

    it "a malformed duration or size raises ConfigError naming the option" do
      expect { described_class.new(delay: "soon") }.to raise_error(UcrawlerNative::ConfigError, /delay/)
      expect { described_class.new(max_body: "lots") }.to raise_error(UcrawlerNative::ConfigError, /max_body/)
      expect { described_class.new(depth: -1) }.to raise_error(ArgumentError, /depth/)
    end

    it "an engine error message carries no JSON parser position (the user never saw that JSON)" do
      { { max_body: "lots" } => /\Ainvalid option `max_body`: invalid size "lots": expected bytes .*64MiB\z/,
        { delay: "soon" } => /\Ainvalid option `delay`/,
        { private_addresses: :nope } => /\Ainvalid option `private_addresses`: unknown variant `nope`, expected one of `deny`, `seeds`, `allow`\z/ }
        .each do |options, message|
          expect { described_class.new(**options) }.to raise_error(UcrawlerNative::ConfigError, message) { |error|
            expect(error.message).not_to match(/line \d+ column \d+/)
          }
        end
    end

    it "accepts sizes like \"5MiB\" and durations like \"250ms\"" do
      crawler = described_class.new(max_body: "5MiB", delay: "250ms", timeout: 2.5, read_timeout: "2s")
      expect(crawler.options).to include(max_body: "5MiB", delay: "250ms", timeout: 2.5)
    end

    it "max_body: \"1KiB\" cuts bodies at 1 KiB" do
      crawler = described_class.new(depth: 0, max_body: "1KiB", keep_body: true)
      page = nil
      crawler.crawl(page_url(4)) { |p| page = p }

      expect(page.truncated?).to be(true)
      expect(page.bytes).to eq(1024)
      expect(page.body.bytesize).to be <= 1024
    end

    it "delay: \"250ms\" spaces requests to one host" do
      crawler = described_class.new(depth: 0, per_host: 4, delay: "250ms")
      took = elapsed { crawler.crawl((1..3).map { |n| page_url(n) }) { nil } }

      # Three requests, at least 250 ms between the starts of two of them.
      expect(took).to be >= 0.45
    end

    it "Options.defaults are the engine's" do
      defaults = UcrawlerNative::Options.defaults
      expect(defaults[:per_host]).to eq(2)
      expect(defaults).to include(concurrency: 64, keep_body: false, depth: nil, max_pages: nil)
      expect(defaults).to be_frozen
      expect(UcrawlerNative::Options.names).to include(*%i[concurrency per_host delay depth max_pages same_host allow deny
                                                           extract user_agent headers keep_headers timeout
                                                           connect_timeout read_timeout max_body retries
                                                           retry_backoff max_retry_after max_redirects
                                                           max_links_per_page keep_body parsers buffer io_threads])
    end

    it "every engine option is accepted as a keyword with its default value" do
      defaults = UcrawlerNative::Options.defaults
      crawler = described_class.new(**defaults)
      expect(crawler.options.keys).to match_array(defaults.keys)
    end

    it "String options with a nil default (proxy) take Strings; choices take Symbols" do
      crawler = described_class.new(proxy: "http://127.0.0.1:9", private_addresses: :deny)
      expect(crawler.options).to eq(proxy: "http://127.0.0.1:9", private_addresses: "deny")
      expect { described_class.new(proxy: 8080) }.to raise_error(TypeError, /:proxy/)
    end

    it "allow: and deny: take Regexps and Strings" do
      crawler = described_class.new(depth: 1, per_host: 8, allow: [%r{/page/\d\.html\z}], deny: ["/page/[5-9]"])
      urls = []
      crawler.crawl(site_url("/")) { |page| urls << page.url }

      expect(urls).to include(site_url("/"))
      expect(urls - [site_url("/")]).to all(match(%r{/page/[1-4]\.html\z}))
      expect(urls.size).to be > 1
    end
  end
end
