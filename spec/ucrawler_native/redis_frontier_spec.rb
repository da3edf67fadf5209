# frozen_string_literal: true

require "securerandom"
require "stringio"
require "timeout"

RSpec.describe UcrawlerNative::RedisFrontier do
  before(:all) { @redis = RedisServer.new.start }
  after(:all) { @redis&.stop }

  let(:name) { "spec-#{SecureRandom.hex(4)}" }
  let(:frontier) { described_class.new(url: @redis.url, name: name) }

  # Crawls the shared crawl in a forked child (a worker process), writing each page's URL and
  # meta to `out`; returns the child's pid.
  def fork_worker(out, **options)
    fork do
      crawler = UcrawlerNative::Crawler.new(frontier: described_class.new(url: @redis.url, name: name),
                                            per_host: 8, **options)
      File.open(out, "w") do |file|
        crawler.crawl do |page|
          file.puts([page.url, page.meta.inspect, page.error&.kind].join("\t"))
          file.flush
        end
      end
      exit!(0)
    rescue Exception => e # rubocop:disable Lint/RescueException
      warn "worker failed: #{e.class}: #{e.message}"
      exit!(1)
    end
  end

  def lines(path) = File.exist?(path) ? File.readlines(path, chomp: true).map { |l| l.split("\t") } : []

  it "lets several Ruby processes crawl one site together, each page once" do
    expect(frontier.push(site_url("/"))).to eq(queued: 1, seen: 0, invalid: 0)
    Dir.mktmpdir do |dir|
      outs = (1..2).map { |i| File.join(dir, "worker#{i}.tsv") }
      pids = outs.map { |out| fork_worker(out) }
      statuses = pids.map { |pid| wait_child(pid, limit: 120).first }
      expect(statuses.map(&:success?)).to all(be(true))

      urls = outs.flat_map { |out| lines(out).map(&:first) }
      expect(urls.tally.select { |_, n| n > 1 }).to be_empty
      expect(urls).to match_array(expected_urls)
    end
    expect(frontier.stats).to include(pending: 0, leased: 0, done: expected_urls.size,
                                      seen: expected_urls.size, duplicates: 0, finished: true)
  end

  it "gives a raising block's leases back at once: another worker crawls them before lease_timeout" do
    patient = -> { described_class.new(url: @redis.url, name: name, lease_timeout: 600) }
    pages = (0...40).map { |i| site_url("/page/#{i}.html") }
    patient.call.push(pages)
    first = UcrawlerNative::Crawler.new(frontier: patient.call, depth: 0)
    expect { first.crawl { |_page| raise "boom" } }.to raise_error(RuntimeError, "boom")
    # Without the give-back, the second worker would wait 600 s for the first one's leases.
    urls = []
    second = UcrawlerNative::Crawler.new(frontier: patient.call, depth: 0)
    Timeout.timeout(90) { second.crawl { |page| urls << page.url } }
    expect(urls.size).to be >= 39
    expect(urls - pages).to be_empty
    expect(patient.call.stats).to include(leased: 0, pending: 0, finished: true)
  end

  it "queues a URL once unless forced, and carries meta to the pages" do
    expect(frontier.push([[page_url(1), 42], page_url(2)], meta: "row")).to include(queued: 2)
    expect(frontier.push(page_url(1))).to eq(queued: 0, seen: 1, invalid: 0)
    expect(frontier.push(page_url(1), force: true)).to include(queued: 1)
    expect(frontier.stats).to include(pending: 3, seen: 2, queued: 3, finished: false)

    Dir.mktmpdir do |dir|
      out = File.join(dir, "worker.tsv")
      status, = wait_child(fork_worker(out, depth: 0), limit: 60)
      expect(status).to be_success
      expect(lines(out).map { |url, meta| [url, meta] })
        .to contain_exactly([page_url(1), "42"], [page_url(1), "nil"], [page_url(2), '"row"'])
    end
    frontier.clear
    expect(frontier.stats).to include(pending: 0, seen: 0, done: 0)
  end

  it "crawls seeds given to #crawl through the shared crawl" do
    crawler = UcrawlerNative::Crawler.new(frontier: frontier, depth: 0)
    urls = []
    crawler.crawl([page_url(5), page_url(6)]) { |page| urls << page.url }
    expect(urls).to contain_exactly(page_url(5), page_url(6))
    expect(frontier.stats).to include(done: 2, finished: true)
  end

  it "recrawls a finished crawl: every URL done again, conditionally, revisits given by #push too" do
    frontier.push([page_url(7), page_url(8)])
    expect { frontier.recrawl }.to raise_error(UcrawlerNative::Error, /not finished \(2 pending/)
    crawler = UcrawlerNative::Crawler.new(frontier: frontier, depth: 0)
    first = {}
    crawler.crawl { |page| first[page.url] = page }
    expect(first.values.map(&:change)).to all(eq(:new))
    expect(frontier.stats).to include(visits: 2, finished: true)

    expect(frontier.recrawl).to eq(2)
    second = {}
    crawler.crawl { |page| second[page.url] = page }
    expect(second.keys).to match_array(first.keys)
    expect(second.values.map { |page| [page.change, page.status] }).to all(eq([:unchanged, 304]))

    # A revisit pushed by hand: its last visit travels through Redis with it.
    frontier.push([[page_url(9), 5, { content_hash: "0000000000000000" }]])
    crawler.crawl { |page| second[page.url] = page }
    expect([second[page_url(9)].change, second[page_url(9)].meta]).to eq([:changed, 5])
    expect(frontier.stats).to include(visits: 3, done: 5)
  end

  it "names what is wrong with its arguments" do
    expect { described_class.new(url: "http://127.0.0.1/", name: "x") }
      .to raise_error(UcrawlerNative::ConfigError, /redis/)
    expect { described_class.new(url: @redis.url, name: "two words") }
      .to raise_error(UcrawlerNative::ConfigError, /name/)
    expect { described_class.new(url: @redis.url, name: :sym) }.to raise_error(TypeError, /name/)
    expect { UcrawlerNative::Crawler.new(frontier: "redis://x") }.to raise_error(TypeError, /RedisFrontier/)
    expect { UcrawlerNative::Crawler.new(frontier: frontier, name: "other") }
      .to raise_error(ArgumentError, /name/)
    expect { UcrawlerNative::Crawler.new.crawl { nil } }.to raise_error(ArgumentError, /frontier/)
  end

  it "skips seeds with no URL or a malformed one (a column of URLs), counting them, and queues the others" do
    log = StringIO.new
    UcrawlerNative.logger = Logger.new(log)
    column = [page_url(1), nil, "", "  ", "not a url", "ftp://example.com/x", [nil, 7], page_url(2), page_url(1)]

    expect(frontier.push(column, meta: "import")).to eq(queued: 2, seen: 1, invalid: 6)
    expect(frontier.stats).to include(pending: 2, seen: 2)
    expect(log.string).to include("6 seeds skipped").and include("not a url")
    expect(frontier.push([nil, ""])).to eq(queued: 0, seen: 0, invalid: 2) # nothing to queue: no Redis call needed
    expect { frontier.push([42]) }.to raise_error(TypeError, /seed/) # not a URL at all: a programming error
  ensure
    UcrawlerNative.logger = nil
  end

  it "keeps a worker waiting for a Redis that is down, logging why on stderr" do
    script = <<~RUBY
      require "ucrawler_native"
      frontier = UcrawlerNative::RedisFrontier.new(url: "redis://127.0.0.1:1/0", name: "down")
      UcrawlerNative::Crawler.new(frontier: frontier).crawl { |page| puts page.url }
    RUBY
    output, status, = run_command({}, RbConfig.ruby, "-I", File.expand_path("../../lib", __dir__),
                                  "-e", script, limit: 4)
    expect(status).not_to be_success # still waiting when killed
    expect(output).to match(/WARN.*127\.0\.0\.1:1/)
  end

  it "gives up on a Redis that does not answer, naming it" do
    dead = described_class.new(url: "redis://127.0.0.1:1/0", name: "x", timeout: 0.5)
    expect { dead.push(page_url(1)) }
      .to raise_error(UcrawlerNative::Error, %r{127\.0\.0\.1:1.*is Redis running})
    expect(elapsed { expect { dead.stats }.to raise_error(UcrawlerNative::Error) }).to be < 5
  end

  it "never shows a Redis password, in errors or in #inspect" do
    dead = described_class.new(url: "redis://:s3cret@127.0.0.1:1/0", name: "x", timeout: 0.3)
    expect(dead.inspect).to include(":***@127.0.0.1:1")
    expect(dead.inspect).not_to include("s3cret")
    expect { dead.stats }.to raise_error(UcrawlerNative::Error) { |e| expect(e.message).not_to include("s3cret") }
  end
end
