# frozen_string_literal: true

require_relative "rails_helper"
require "stringio"

RSpec.describe UcrawlerNative::Registry, :rails do
  before { described_class.clear }
  after { described_class.clear }

  it "gives one crawler per distinct options, whatever their order and spelling" do
    a = UcrawlerNative.shared_crawler(per_host: 2, depth: 0, extract: { a: "h1", b: ["img", "src"] })
    b = UcrawlerNative.shared_crawler("extract" => { "b" => %w[img src], "a" => "h1" }, "depth" => 0, "per_host" => 2)
    c = UcrawlerNative.shared_crawler(per_host: 3, depth: 0)

    expect(a).to be_a(UcrawlerNative::Crawler)
    expect(b).to be(a)
    expect(c).not_to be(a)
    expect(described_class.crawlers).to contain_exactly(a, c)
    expect { UcrawlerNative.shared_crawler(per_hots: 1) }.to raise_error(ArgumentError, /per_hots/)
  end

  it "builds one crawler when many threads ask at once, and they crawl on it together" do
    barrier = Queue.new
    results = Queue.new
    threads = Array.new(12) do |i|
      Thread.new do
        barrier.pop
        crawler = UcrawlerNative.shared_crawler(per_host: 4, depth: 0)
        pages = 0
        crawler.crawl(page_url(i + 1)) { |page| pages += 1 if page.ok? }
        results << [crawler, pages]
      end
    end
    12.times { barrier << true }
    threads.each(&:join)
    got = Array.new(12) { results.pop }

    expect(got.map(&:first).uniq.size).to eq(1)
    expect(got.map(&:last)).to all(eq(1))
  end

  it "builds new crawlers in a forked child" do
    parent = UcrawlerNative.shared_crawler(depth: 0)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      child = UcrawlerNative.shared_crawler(depth: 0)
      ok = 0
      child.crawl(page_url(1)) { |page| ok += 1 if page.ok? }
      writer.write([child.equal?(parent), ok].join(" "))
      writer.close
      exit!(0) # no at_exit hooks: the child must not stop the parent's test site
    end
    writer.close
    status, = wait_child(pid, limit: 30)
    output = reader.read

    expect(status).to be_success
    expect(output).to eq("false 1")
    expect(UcrawlerNative.shared_crawler(depth: 0)).to be(parent)
  end

  it "keeps at most MAX option sets, dropping the least recently used with a warning" do
    log = StringIO.new
    UcrawlerNative.logger = Logger.new(log)
    first = UcrawlerNative.shared_crawler(per_host: 1)
    crawlers = (2..described_class::MAX).map { |n| UcrawlerNative.shared_crawler(per_host: n) }
    expect(UcrawlerNative.shared_crawler(per_host: 1)).to be(first) # now the most recently used
    UcrawlerNative.shared_crawler(per_host: 99)

    expect(described_class.crawlers.size).to eq(described_class::MAX)
    expect(described_class.crawlers).to include(first)
    expect(described_class.crawlers).not_to include(crawlers.first)
    expect(log.string).to include("more than #{described_class::MAX} distinct crawler option sets")
  ensure
    UcrawlerNative.logger = nil
  end
end
