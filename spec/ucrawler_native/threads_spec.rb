# frozen_string_literal: true

require "json"
require "open3"

SpecStop = Class.new(StandardError)

RSpec.describe UcrawlerNative::Crawler, "threads, interrupts, fork and GC" do
  # No retries: a slow-drip page costs one request. The default 30 s timeout keeps it hanging far
  # longer than any example waits, so only an interrupt can end these crawls early.
  let(:crawler) { described_class.new(depth: 0, retries: 0) }

  # A crawl on the same crawler after an interrupt still works.
  def expect_crawler_usable(crawler)
    pages = []
    crawler.crawl([page_url(1), page_url(2)]) { |page| pages << page }
    expect(pages.map(&:url)).to contain_exactly(page_url(1), page_url(2))
    expect(pages).to all(be_ok)
  end

  # Starts `crawler` on the slow-drip URL in a new thread; returns once its request is in flight.
  def crawling_thread(crawler)
    thread = Thread.new do
      Thread.current.report_on_exception = false
      crawler.crawl(slow_drip_url) { nil }
    end
    in_flight = eventually(limit: 5) { crawler.stats.fetch(:in_flight, 0).positive? }
    expect(in_flight).to be(true), "the slow-drip request never went in flight: #{crawler.stats}"
    thread
  end

  it "releases the GVL while waiting: another Ruby thread keeps running" do
    ticks = 0
    ticker = Thread.new do
      loop do
        ticks += 1
        sleep 0.01
      end
    end
    page = nil
    crawler = described_class.new(depth: 0, retries: 0, timeout: 1.5)

    took = elapsed { crawler.crawl(slow_drip_url) { |p| page = p } }
    ticker.kill.join

    expect(took).to be >= 0.5
    expect(ticks).to be >= 30
    # About one tick per 10 ms the whole time: the crawl never held the GVL for long.
    expect(ticks).to be >= (took / 0.01 * 0.3).floor
    expect(page.error.kind).to eq(:timeout)
  end

  describe "interrupts" do
    it "Timeout.timeout stops a crawl" do
      took = elapsed do
        expect { Timeout.timeout(0.5) { crawler.crawl(slow_drip_url) { nil } } }.to raise_error(Timeout::Error)
      end

      expect(took).to be_between(0.4, 1.5)
      expect_crawler_usable(crawler)
    end

    it "Thread#raise into a crawling thread raises there" do
      thread = crawling_thread(crawler)

      took = elapsed do
        thread.raise(SpecStop, "stop crawling")
        expect { thread.join(5) }.to raise_error(SpecStop, "stop crawling")
      end

      expect(took).to be < 1.5
      expect(thread).not_to be_alive
      expect_crawler_usable(crawler)
    end

    it "Thread#kill ends a crawling thread" do
      thread = crawling_thread(crawler)

      thread.kill
      expect(thread.join(1)).to eq(thread)
      expect(thread).not_to be_alive
      expect(thread.value).to be_nil
      expect_crawler_usable(crawler)
    end

    it "cancels the interrupted crawl: its request no longer holds the crawler's only slot" do
      crawler = described_class.new(depth: 0, retries: 0, concurrency: 1, per_host: 1)
      thread = crawling_thread(crawler)
      thread.kill
      expect(thread.join(1)).to eq(thread)

      # With concurrency: 1, a slow-drip request still running would hold up this crawl ~30 s.
      took = elapsed { expect_crawler_usable(crawler) }
      expect(took).to be < 5
    end

    it "SIGINT (Ctrl-C) stops a crawl in a child process" do
      script = <<~RUBY
        require "ucrawler_native"
        $stdout.sync = true
        crawler = UcrawlerNative::Crawler.new(depth: 0, retries: 0)
        Thread.new do
          sleep 0.01 until crawler.stats.fetch(:in_flight, 0).positive?
          puts "in flight"
        end
        begin
          crawler.crawl(ARGV[0]) { puts "page?!" }
          puts "crawl ended without an interrupt"
        rescue Interrupt
          puts "interrupted"
          count = 0
          crawler.crawl(ARGV[1]) { |page| count += 1 if page.ok? }
          puts "after: \#{count}"
          raise
        end
      RUBY
      lib = File.join(TestSite::ROOT, "lib")
      stdin, stdout, stderr, waiter = Open3.popen3(RbConfig.ruby, "-I#{lib}", "-e", script, slow_drip_url, page_url(1))
      stdin.close
      begin
        ready = stdout.wait_readable(20) && stdout.gets
        expect(ready).to eq("in flight\n"), "child did not start crawling: #{ready.inspect} #{stderr.read_nonblock(10_000, exception: false)}"

        Process.kill("INT", waiter.pid)
        took = elapsed { waiter.join(10) }
        expect(waiter.join(0)).not_to be_nil, "child still running 10 s after SIGINT"
        status = waiter.value
        out = stdout.read

        expect(took).to be < 2
        expect(out).to eq("interrupted\nafter: 1\n")
        expect(status).to be_signaled
        expect(status.termsig).to eq(Signal.list.fetch("INT"))
      ensure
        Process.kill("KILL", waiter.pid) if waiter.alive?
        [stdout, stderr].each(&:close)
      end
    end
  end

  it "two crawls on two threads share one crawler and both complete" do
    crawler = described_class.new(per_host: 8)
    results = Array.new(2) do |i|
      Thread.new do
        urls = []
        crawler.crawl(site_url("/"), meta: i) { |page| urls << [page.url, page.meta] }
        urls
      end
    end.map { |t| t.join(60).value }

    results.each_with_index do |pairs, i|
      expect(pairs.map(&:first)).to match_array(expected_urls)
      expect(pairs.map(&:last).uniq).to eq([i])
    end
  end

  it "a Rust panic becomes UcrawlerNative::InternalError and the process survives" do
    expect { UcrawlerNative::Native.panic! }.to raise_error(UcrawlerNative::InternalError, /deliberate panic/)
    expect(UcrawlerNative::InternalError.ancestors).to include(UcrawlerNative::Error, StandardError)

    rescued = begin
      UcrawlerNative::Native.panic!
    rescue UcrawlerNative::Error => e
      e
    end
    expect(rescued).to be_a(UcrawlerNative::InternalError)
    expect_crawler_usable(crawler)
  end

  it "works in a forked child after the parent crawled", timeout: 90 do
    crawler = described_class.new(depth: 1, per_host: 8)
    parent_urls = []
    crawler.crawl(site_url("/")) { |page| parent_urls << page.url }
    expect(parent_urls.size).to be > 10

    pid = fork do
      child_urls = []
      crawler.crawl(site_url("/")) { |page| child_urls << page.url }
      fresh = 0
      described_class.new(depth: 0).crawl(page_url(9)) { |page| fresh += 1 if page.ok? }
      exit!(child_urls.sort == parent_urls.sort && fresh == 1 ? 0 : 1)
    rescue Exception # rubocop:disable Lint/RescueException
      exit!(2)
    end
    status, took = wait_child(pid, limit: 20)

    expect(took).to be < 20
    expect(status.exitstatus).to eq(0), "child exited with #{status.inspect}"
    # And the parent still crawls after the fork.
    again = []
    crawler.crawl(site_url("/")) { |page| again << page.url }
    expect(again).to match_array(parent_urls)
  end

  # A job or controller building a crawler per call (`Crawler.new(...).crawl(...)`): Ruby frees
  # them only when its GC runs, here never (all 300 stay referenced). The engine's threads are
  # the process's (one I/O thread and the parser pool), and a crawler holds no connection once
  # its crawl is over. In a child process, to count its threads and memory alone; it forks too,
  # as Puma and Sidekiq do after boot: the grandchild builds its own threads.
  it "300 crawlers in a loop hold a bounded number of threads, and fork still works", timeout: 120 do
    script = <<~'RUBY'
      require "json"
      require "ucrawler_native"
      base = ARGV.fetch(0)
      threads = -> { Dir.children("/proc/self/task").size }
      rss_kib = -> { File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1].to_i }
      options = { depth: 0, parsers: 2, io_threads: 1 }
      UcrawlerNative::Crawler.new(**options).crawl("#{base}/page/1.html") { nil }
      before = [threads.call, rss_kib.call]
      ok = 0
      crawlers = Array.new(300) do |i|
        crawler = UcrawlerNative::Crawler.new(**options)
        crawler.crawl("#{base}/page/#{1 + (i % 50)}.html") { |page| ok += 1 if page.ok? }
        crawler
      end
      after = [threads.call, rss_kib.call]
      reader, writer = IO.pipe
      pid = fork do
        reader.close
        pages = 0
        crawlers.last.crawl("#{base}/page/2.html") { |page| pages += 1 if page.ok? }
        UcrawlerNative::Crawler.new(**options).crawl("#{base}/page/3.html") { |page| pages += 1 if page.ok? }
        writer.puts(JSON.generate(pages: pages, threads: threads.call))
        exit!(0)
      end
      writer.close
      child = JSON.parse(reader.read)
      Process.wait(pid)
      puts JSON.generate(ok: ok, kept: crawlers.size, threads: after[0] - before[0],
                         rss_mib: (after[1] - before[1]) / 1024.0, child: child, parent_threads: after[0])
    RUBY
    output, status, = run_command({}, RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"), "-e", script, base_url,
                                  limit: 100)
    expect(status).to be_success, output
    result = JSON.parse(output.lines.last, symbolize_names: true)

    expect(result[:ok]).to eq(300)
    expect(result[:kept]).to eq(300)
    # Before, each crawler kept an I/O thread and its parsers: 900 threads more here.
    expect(result[:threads]).to be <= 2, output
    expect(result[:rss_mib]).to be < 20, output
    expect(result[:child][:pages]).to eq(2), output
    expect(result[:child][:threads]).to be <= result[:parent_threads], output
  end

  # In a child process with a small heap: 2990 pages hold ~16 MiB of native memory, about what
  # Ruby's malloc limit lets pile up before it collects by itself; the extension runs a minor GC
  # every 1 MiB of pages handed out, so the pages the block let go of never pile up.
  it "collects the pages a block lets go of while the crawl runs", timeout: 120 do
    script = <<~'RUBY'
      require "ucrawler_native"
      base = ARGV.fetch(0)
      seeds = (1..10).flat_map { |copy| (1..299).map { |n| "#{base}/page/#{n}.html?copy=#{copy}" } }
      crawler = UcrawlerNative::Crawler.new(depth: 0, per_host: 16)
      pages = 0
      most_alive = 0
      crawler.crawl(seeds) do |page|
        pages += 1 if page.ok?
        most_alive = [most_alive, ObjectSpace.each_object(UcrawlerNative::Page).count].max if (pages % 50).zero?
      end
      puts "#{pages} #{most_alive}"
    RUBY
    output, status, = run_command({}, RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"), "-e", script, base_url,
                                  limit: 100)
    expect(status).to be_success, output
    pages, most_alive = output.lines.last.split.map(&:to_i)
    expect(pages).to eq(2990)
    expect(most_alive).to be < 1000, "#{most_alive} pages alive at once"
  end

  # In a child process with nothing else loaded: GC.stress makes every allocation a full GC, whose
  # cost grows with the heap (RSpec, and Rails when the Rails specs run in the same process).
  it "survives GC.stress while streaming and reading every accessor", timeout: 120 do
    script = <<~'RUBY'
      require "json"
      require "ucrawler_native"
      base = ARGV.fetch(0)
      crawler = UcrawlerNative::Crawler.new(depth: 0, per_host: 4, keep_headers: ["content-type"], keep_body: true,
                                            extract: { price: ".price", hero: ["img.hero", "src"] })
      seeds = (1..10).map { |n| ["#{base}/page/#{n}.html", n] } +
              [["#{base}/page/99999.html", "missing"], ["bad url", :bad]]
      seen = []
      kept = []
      begin
        GC.stress = true
        crawler.crawl(seeds) do |page|
          kept << page
          seen << [page.url, page.final_url, page.status, page.content_type, page.title, page.description,
                   page.canonical, page.links, page.extracted, page[:price], page.headers, page.body,
                   page.depth, page.bytes, page.elapsed, page.meta, page.error, page.ok?, page.to_h,
                   page.truncated?, page.attempts, page.inspect, crawler.stats]
        end
      ensure
        GC.stress = false
      end
      GC.start
      GC.compact
      # Pages (and the values read from them) outlive the crawl, GC and compaction intact.
      puts JSON.generate(
        seen: seen.size,
        meta: kept.map { |page| [page.url, page.meta.inspect] },
        prices: kept.select(&:ok?).map { |page| page[:price] },
        bodies: kept.select(&:ok?).count { |page| page.body.end_with?("</html>\n") || page.body.include?("</html>") },
        links: kept.select(&:ok?).count { |page| page.links.size > 10 && page.links.all?(String) },
        titles: seen.map { |row| row[4] }.compact.size,
        kinds: kept.map { |page| page.error&.kind }.compact.map(&:to_s).sort,
      )
    RUBY
    output, status, took = run_command({}, RbConfig.ruby, "-I", File.join(TestSite::ROOT, "lib"), "-e", script, base_url,
                                       limit: 100)
    expect(took).to be < 100
    expect(status).to be_success, output
    result = JSON.parse(output.lines.last, symbolize_names: true)

    expect(result[:seen]).to eq(12)
    expected_meta = (1..10).map { |n| [page_url(n), n.inspect] } +
                    [[site_url("/page/99999.html"), '"missing"'], ["bad url", ":bad"]]
    expect(result[:meta]).to match_array(expected_meta)
    expect(result[:prices].size).to eq(10)
    expect(result[:prices]).to all(match(/\A\$\d+\.\d\d\z/))
    expect(result[:bodies]).to eq(10)
    expect(result[:links]).to eq(10)
    expect(result[:titles]).to eq(11) # the 404 page has a title too; the invalid URL has none
    expect(result[:kinds]).to eq(%w[http_status invalid_url])
  end
end
