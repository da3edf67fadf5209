# frozen_string_literal: true

require "open3"

RSpec.describe UcrawlerNative::Crawler, "state_dir and resume" do
  # Few pages under way at once, so few can be fetched by both runs: a page taken by the block
  # is acknowledged when the crawl asks for the next batch, and a batch holds at most
  # concurrency + buffer pages.
  let(:concurrency) { 4 }
  let(:buffer) { 4 }

  around do |example|
    Dir.mktmpdir("ucrawler-resume-spec") do |dir|
      @state_dir = File.join(dir, "state")
      example.run
    end
  end

  # A child Ruby process crawling the site with `state_dir`, slowly (`delay` between requests to
  # the one host) so that it is still crawling when killed. It prints each URL its block got.
  def start_child
    script = <<~RUBY
      require "ucrawler_native"
      $stdout.sync = true
      crawler = UcrawlerNative::Crawler.new(state_dir: ARGV[1], per_host: 2, delay: "10ms",
                                            concurrency: #{concurrency}, buffer: #{buffer})
      crawler.crawl(ARGV[0]) { |page| puts page.url }
      puts "finished"
    RUBY
    lib = File.join(TestSite::ROOT, "lib")
    Open3.popen3(RbConfig.ruby, "-I#{lib}", "-e", script, site_url("/"), @state_dir)
  end

  # Reads whole lines until `count` were printed (or `limit` seconds passed).
  def read_lines(out, count, limit: 30)
    lines = []
    deadline = monotonic + limit
    while lines.size < count && monotonic < deadline
      break unless out.wait_readable(deadline - monotonic)

      line = out.gets
      break if line.nil?

      lines << line
    end
    lines
  end

  it "a crawl killed with -9 goes on with resume: true, without fetching its pages again", timeout: 90 do
    stdin, stdout, stderr, waiter = start_child
    stdin.close
    begin
      printed = read_lines(stdout, 60)
      expect(printed.size).to eq(60), "child printed #{printed.size} lines; stderr: #{stderr.read_nonblock(10_000, exception: false)}"
      Process.kill("KILL", waiter.pid)
      expect(waiter.value).to be_signaled
      # What it printed before dying; a last line torn by the kill has no newline.
      printed += stdout.read.lines
    ensure
      Process.kill("KILL", waiter.pid) if waiter.alive?
      [stdout, stderr].each(&:close)
    end
    before = printed.select { |line| line.end_with?("\n") }.map(&:chomp)
    expect(before).not_to include("finished")
    expect(before.size).to be < expected_urls.size
    expect(File.size(File.join(@state_dir, "enqueued.log"))).to be > 0

    # Without resume the journal is protected.
    expect { described_class.new(state_dir: @state_dir).crawl(site_url("/")) { nil } }
      .to raise_error(UcrawlerNative::Error, /resume/)

    after = []
    stats = described_class.new(state_dir: @state_dir, resume: true, per_host: 8)
                           .crawl(site_url("/")) { |page| after << page.url }

    expect(stats[:end_reason]).to eq("finished")
    expect(after.tally.select { |_, n| n > 1 }).to be_empty
    expect(before.tally.select { |_, n| n > 1 }).to be_empty
    expect((before + after).uniq).to match_array(expected_urls)
    # Only the pages of the batch the child's block was working through when it died come
    # again: at most concurrency + buffer.
    again = before & after
    expect(again.size).to be <= concurrency + buffer
    expect(after.size).to be < expected_urls.size
  end

  it "resume: true without state_dir raises ConfigError naming both" do
    expect { described_class.new(resume: true) }
      .to raise_error(UcrawlerNative::ConfigError, /`resume`.*state_dir/)
  end

  it "a finished crawl resumed fetches nothing again" do
    first = []
    described_class.new(state_dir: @state_dir, per_host: 8).crawl(site_url("/")) { |page| first << page.url }
    expect(first).to match_array(expected_urls)

    again = []
    stats = described_class.new(state_dir: @state_dir, resume: true).crawl(site_url("/")) { |page| again << page.url }
    expect(again).to be_empty
    expect(stats[:pages]).to eq(0)
  end
end
